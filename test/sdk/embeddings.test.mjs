// The official OpenAI SDK's embeddings.create against a live gateway whose
// embedding models are the simulator's. The SDK asks for base64 unless
// told otherwise and decodes it itself: the vectors must come out exactly
// as the simulator computes them (reproduced below from its definition),
// in either encoding.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { API_KEY, launchGateway } from './gateway.mjs';

const sim = (wire) => ({ kind: 'sim', timeout: '10s', retry: { max_attempts: 1 }, options: { wire, latency: '1ms' } });

const config = {
  'provider_settings.json': {
    providers: { openai: sim('openai'), anthropic: sim('anthropic') },
    models: [
      { name: 'text-embedding-3-small', provider: 'openai', context_window: 8191,
        price: { input_per_mtok: 0.02, output_per_mtok: 0 }, embedding: true },
      { name: 'text-embedding-3-large', provider: 'openai', context_window: 8191,
        price: { input_per_mtok: 0.13, output_per_mtok: 0 }, embedding: true },
      { name: 'claude-3-5-haiku-latest', provider: 'anthropic', context_window: 200000,
        price: { input_per_mtok: 0.8, output_per_mtok: 4 } },
    ],
  },
  'ab_test_config.json': {
    routes: {
      profiles: { variants: [{ name: 'small', provider: 'openai', model: 'text-embedding-3-small', weight: 1 }] },
      anthropic_only: { variants: [{ name: 'claude', provider: 'anthropic', model: 'claude-3-5-haiku-latest', weight: 1 }] },
    },
  },
  'clients.json': {
    clients: [{
      name: 'sdk-tests',
      key_sha256: createHash('sha256').update(API_KEY).digest('hex'),
      routes: ['*'],
      allow_model_override: true,
    }],
  },
};

// simEmbedding is providers/sim's Embedding: SHA-256 of model, a zero
// byte and the text seeds blocks SHA-256(seed ‖ uint32be(i/8)), each giving
// 8 big-endian uint32s mapped to [-1, 1] as float32s; the full vector is
// cut to dims and normalised to unit length.
function simEmbedding(model, text, dims) {
  const full = model.startsWith('text-embedding-3-large') ? 3072 : 1536;
  const n = dims > 0 && dims <= full ? dims : full;
  const seed = createHash('sha256').update(`${model}\0${text}`).digest();
  const v = new Array(n);
  let block;
  for (let i = 0; i < n; i++) {
    if (i % 8 === 0) {
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(i / 8);
      block = createHash('sha256').update(Buffer.concat([seed, counter])).digest();
    }
    v[i] = Math.fround((block.readUInt32BE(4 * (i % 8)) / 4294967295) * 2 - 1);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.fround(x / norm));
}

let gw;
before(async () => { gw = await launchGateway({ config, prefix: 'llmgw-embed-' }); });
after(async () => { await gw?.stop(); });

const client = () => new OpenAI({ apiKey: API_KEY, baseURL: `${gw.http}/v1`, maxRetries: 0 });
const tokens = (s) => Math.ceil(s.length / 4);

describe('OpenAI SDK embeddings', () => {
  const inputs = ['Senior data engineer, Berlin', 'Pediatric nurse'];

  test('embeddings.create decodes the default base64 into the right vectors', async () => {
    const { data: res, response } = await client().embeddings.create({ model: 'profiles', input: inputs, user: 'u-1' }).withResponse();
    assert.equal(res.object, 'list');
    assert.equal(res.model, 'text-embedding-3-small');
    assert.equal(res.data.length, 2);
    res.data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 1536);
      assert.deepEqual(Array.from(d.embedding), simEmbedding('text-embedding-3-small', inputs[i], 0));
    });
    const want = tokens(inputs[0]) + tokens(inputs[1]);
    assert.deepEqual(res.usage, { prompt_tokens: want, total_tokens: want });
    assert.equal(response.headers.get('x-llmgateway-provider'), 'openai');
    assert.equal(response.headers.get('x-llmgateway-route'), 'profiles');
  });

  test('float encoding and dimensions, by model name', async () => {
    const res = await client().embeddings.create({
      model: 'text-embedding-3-large', input: 'x', dimensions: 256, encoding_format: 'float',
    });
    assert.equal(res.data.length, 1);
    // JSON carries each float32 as its shortest decimal: rounding it back
    // to float32 gives the simulator's number exactly.
    assert.deepEqual(res.data[0].embedding.map(Math.fround), simEmbedding('text-embedding-3-large', 'x', 256));
    const norm = Math.sqrt(res.data[0].embedding.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  });

  test('a route that cannot embed is refused by name', async () => {
    await assert.rejects(
      client().embeddings.create({ model: 'anthropic_only', input: 'x' }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.match(err.message, /anthropic_only.*does not embed/);
        return true;
      },
    );
  });

  test('the usage report has the embeddings tokens and cost', async () => {
    const before = await usageOf('text-embedding-3-small');
    await client().embeddings.create({ model: 'profiles', input: 'Welder' });
    const after = await usageOf('text-embedding-3-small');
    assert.equal(Number(after.requests) - Number(before?.requests ?? 0), 1);
    const t = tokens('Welder');
    assert.equal(Number(after.input_tokens) - Number(before?.input_tokens ?? 0), t);
    // $0.02 per million tokens: 20 nano-dollars a token.
    assert.equal(Number(after.cost_nano_usd) - Number(before?.cost_nano_usd ?? 0), 20 * t);
  });
});

// usageOf is today's usage row of model, from the gateway's REST usage
// report.
async function usageOf(model) {
  const res = await fetch(`${gw.http}/v1/usage?group_by=USAGE_DIMENSION_MODEL`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  return (body.rows ?? []).find((r) => r.model === model);
}
