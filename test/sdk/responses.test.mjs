// The official OpenAI SDK's Responses API against a live gateway, on a
// route answered by an OpenAI-wire provider and one answered by an
// Anthropic-wire provider: responses.create and the responses.stream
// helper, each with a function tool round trip (the answer's output sent
// back with the function_call_output), a json_schema text format, an
// answer cut short, a stream broken off upstream after its first words
// (a small OpenAI-wire server in this file), and the stateful features
// refused by name.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { API_KEY, launchGateway } from './gateway.mjs';

const sim = (wire) => ({
  kind: 'sim',
  timeout: '10s',
  retry: { max_attempts: 1 },
  options: { wire, latency: '1ms', answer_tokens: 12 },
});

// cutter is an OpenAI-wire upstream whose streams break off after two
// words, for the failure of a stream that already started.
const cutter = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta) => `data: ${JSON.stringify({ id: 'chatcmpl-cut', object: 'chat.completion.chunk', created: 1,
      model: 'cut-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hello' }) + chunk({ content: ' there' }));
    setTimeout(() => res.destroy(), 20);
  });
});

const config = (cutURL) => ({
  'provider_settings.json': {
    providers: {
      openai: sim('openai'),
      anthropic: sim('anthropic'),
      cut: { kind: 'openai', base_url: cutURL, api_key_env: 'CUT_KEY', timeout: '5s', retry: { max_attempts: 1 } },
    },
    models: [
      { name: 'cut-model', provider: 'cut', context_window: 128000,
        price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
      { name: 'gpt-4o-mini', provider: 'openai', context_window: 128000,
        price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
      { name: 'claude-3-5-haiku-latest', provider: 'anthropic', context_window: 200000,
        price: { input_per_mtok: 0.8, output_per_mtok: 4 } },
    ],
  },
  'ab_test_config.json': {
    routes: {
      openai_route: { variants: [{ name: 'gpt', provider: 'openai', model: 'gpt-4o-mini', weight: 1 }] },
      anthropic_route: { variants: [{ name: 'claude', provider: 'anthropic', model: 'claude-3-5-haiku-latest', weight: 1 }] },
      cut_route: { variants: [{ name: 'cut', provider: 'cut', model: 'cut-model', weight: 1 }] },
    },
  },
  'clients.json': {
    clients: [{
      name: 'sdk-tests',
      key_sha256: createHash('sha256').update(API_KEY).digest('hex'),
      routes: ['*'],
    }],
  },
});

let gw;
before(async () => {
  await new Promise((res) => cutter.listen(0, '127.0.0.1', res));
  const cutURL = `http://127.0.0.1:${cutter.address().port}/v1`;
  gw = await launchGateway({ config: config(cutURL), prefix: 'llmgw-responses-', env: { CUT_KEY: 'sk-cut' } });
});
after(async () => {
  await gw?.stop();
  cutter.close();
});

const words = (s) => s.trim().split(/\s+/).filter(Boolean).length;

const tools = [{
  type: 'function',
  name: 'get_weather',
  description: 'The weather of a city',
  strict: true,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
}];

const routes = [
  { route: 'openai_route', model: 'gpt-4o-mini' },
  { route: 'anthropic_route', model: 'claude-3-5-haiku-latest' },
];

describe('OpenAI SDK, Responses API', () => {
  const client = () => new OpenAI({ apiKey: API_KEY, baseURL: `${gw.http}/v1`, maxRetries: 0 });

  for (const { route, model } of routes) {
    test(`responses.create answers text on ${route}`, async () => {
      const { data, response } = await client().responses.create({
        model: route,
        instructions: 'Be brief.',
        input: 'How do I move from QA into data engineering?',
        store: false,
        temperature: 0.5,
        max_output_tokens: 100,
      }).withResponse();
      assert.equal(data.object, 'response');
      assert.match(data.id, /^resp_/);
      assert.equal(data.status, 'completed');
      assert.equal(data.model, model);
      assert.equal(data.output.length, 1);
      assert.equal(data.output[0].type, 'message');
      assert.equal(words(data.output_text), 12);
      assert.equal(data.usage.output_tokens, 12);
      assert.equal(data.usage.total_tokens, data.usage.input_tokens + data.usage.output_tokens);
      assert.equal(typeof data.usage.input_tokens_details.cached_tokens, 'number');
      assert.equal(response.headers.get('x-llmgateway-route'), route);
    });

    test(`responses.create: a function tool round trip on ${route}`, async () => {
      const input = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const first = await client().responses.create({
        model: route, tools, tool_choice: { type: 'function', name: 'get_weather' }, input,
      });
      assert.equal(first.status, 'completed');
      const calls = first.output.filter((it) => it.type === 'function_call');
      assert.equal(calls.length, 1, JSON.stringify(first.output));
      assert.equal(calls[0].name, 'get_weather');
      assert.match(calls[0].id, /^fc_/);
      assert.ok(calls[0].call_id);
      assert.equal(typeof JSON.parse(calls[0].arguments).city, 'string');

      input.push(...first.output);
      input.push({ type: 'function_call_output', call_id: calls[0].call_id, output: '18C and sunny' });
      const second = await client().responses.create({ model: route, tools, input });
      assert.equal(second.status, 'completed');
      assert.equal(second.output.filter((it) => it.type === 'function_call').length, 0);
      assert.ok(second.output_text.length > 0);
      if (route === 'openai_route') assert.match(second.output_text, /18C and sunny/);
    });

    test(`responses.stream: a function tool round trip on ${route}`, async () => {
      const input = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const stream = client().responses.stream({ model: route, tools, tool_choice: 'required', input });
      const argDeltas = {};
      const types = [];
      stream.on('response.function_call_arguments.delta', (e) => {
        argDeltas[e.item_id] = (argDeltas[e.item_id] ?? '') + e.delta;
      });
      stream.on('event', (e) => { types.push(e.type); });
      const first = await stream.finalResponse();
      assert.equal(first.status, 'completed');
      assert.equal(types[0], 'response.created');
      assert.equal(types.at(-1), 'response.completed');
      const calls = first.output.filter((it) => it.type === 'function_call');
      assert.ok(calls.length > 0, JSON.stringify(first.output));
      for (const call of calls) {
        assert.equal(call.name, 'get_weather');
        assert.equal(argDeltas[call.id], call.arguments);
        // A strict tool's arguments are parsed by the SDK.
        assert.equal(typeof call.parsed_arguments.city, 'string');
      }

      // The output goes back as the SDK returned it, with each call's output.
      input.push(...first.output);
      for (const call of calls) {
        input.push({ type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' });
      }
      const second = client().responses.stream({ model: route, tools, input });
      let text = '';
      second.on('response.output_text.delta', (e) => { text += e.delta; });
      const final = await second.finalResponse();
      assert.equal(final.status, 'completed');
      assert.ok(text.length > 0);
      assert.equal(final.output_text, text);
      assert.ok(final.usage.output_tokens > 0);
      if (route === 'openai_route') assert.match(text, /18C and sunny/);
    });

    test(`responses.create answers a json_schema text format on ${route}`, async () => {
      const data = await client().responses.create({
        model: route,
        input: 'Plan my week',
        text: { format: { type: 'json_schema', name: 'plan', strict: true, schema: {
          type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } } },
          required: ['steps'], additionalProperties: false } } },
      });
      const plan = JSON.parse(data.output_text);
      assert.ok(Array.isArray(plan.steps), data.output_text);
      assert.deepEqual(Object.keys(plan), ['steps']);
    });
  }

  test('a streamed answer cut short is response.incomplete', async () => {
    const stream = client().responses.stream({ model: 'openai_route', input: 'Hi', max_output_tokens: 5 });
    const final = await stream.finalResponse();
    assert.equal(final.status, 'incomplete');
    assert.equal(final.incomplete_details.reason, 'max_output_tokens');
    assert.equal(words(final.output_text), 5);
  });

  test('a stream broken off after its first words ends with error and response.failed', async () => {
    // The stream helper raises the error event, after the words it had.
    const stream = client().responses.stream({ model: 'cut_route', input: 'Hi' });
    let text = '';
    stream.on('response.output_text.delta', (e) => { text += e.delta; });
    await assert.rejects(stream.finalResponse(), (err) => err.type === 'error' && err.message.length > 0);
    assert.equal(text, 'Hello there');

    const res = await client().responses.create({ model: 'cut_route', input: 'Hi', stream: true });
    const types = [];
    let failed;
    for await (const e of res) {
      types.push(e.type);
      if (e.type === 'response.failed') failed = e.response;
    }
    assert.deepEqual(types.slice(-2), ['error', 'response.failed'], types.join(' '));
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'server_error');
    assert.equal(failed.output[0].content[0].text, 'Hello there');
  });

  test('stateful features and hosted tools are refused by name', async () => {
    for (const [params, param] of [
      [{ previous_response_id: 'resp_123' }, 'previous_response_id'],
      [{ store: true }, 'store'],
      [{ background: true }, 'background'],
      [{ conversation: 'conv_123' }, 'conversation'],
      [{ tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      [{ include: ['reasoning.encrypted_content'] }, 'include[0]'],
    ]) {
      await assert.rejects(
        client().responses.create({ model: 'openai_route', input: 'Hi', ...params }),
        (err) => err instanceof OpenAI.BadRequestError && err.param === param && err.type === 'invalid_request_error',
        param,
      );
    }
    // The gateway keeps no responses to retrieve.
    await assert.rejects(client().responses.retrieve('resp_123'),
      (err) => err instanceof OpenAI.NotFoundError && /stateless/.test(err.message));
  });
});
