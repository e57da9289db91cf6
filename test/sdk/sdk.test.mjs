// The official OpenAI and Anthropic SDKs against a live gateway: only the
// base URL changes. Retries are off (maxRetries: 0) so that a 429 reaches
// the test as the SDK's RateLimitError instead of being retried.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { API_KEY, startGateway } from './gateway.mjs';

let gw;
before(async () => { gw = await startGateway(); });
after(async () => { await gw?.stop(); });

const words = (s) => s.trim().split(/\s+/).filter(Boolean).length;

describe('OpenAI SDK', () => {
  const client = () => new OpenAI({ apiKey: API_KEY, baseURL: `${gw.baseURL}/v1`, maxRetries: 0 });

  test('chat.completions.create answers through a route', async () => {
    const { data, response } = await client().chat.completions.create({
      model: 'career_advice',
      user: 'user-42',
      temperature: 0.5,
      max_completion_tokens: 100,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'How do I move from QA into data engineering?' },
      ],
    }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.ok(data.id);
    assert.ok(['gpt-4o-mini', 'claude-3-5-haiku-latest'].includes(data.model), data.model);
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(words(data.choices[0].message.content), 12);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(data.usage.completion_tokens, 12);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.equal(response.headers.get('x-llmgateway-route'), 'career_advice');
    assert.equal(response.headers.get('x-llmgateway-response-id'), data.id);
  });

  test('streaming delivers every chunk and the usage', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks >= 7, `${chunks} chunks`);
    assert.equal(words(text), 5);
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 5);
    assert.ok(usage.prompt_tokens > 0);
  });

  test('the stream helper assembles the final completion', async () => {
    const runner = client().chat.completions.stream({
      model: 'career_advice',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(words(final.choices[0].message.content), 12);
  });

  const tools = [
    { type: 'function', function: { name: 'get_weather', parameters: {
      type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
    { type: 'function', function: { name: 'get_time', parameters: {
      type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } },
  ];

  test('the stream helper assembles parallel tool calls', async () => {
    const runner = client().chat.completions.stream({
      model: 'gpt-4o-mini',
      tools,
      tool_choice: 'required',
      parallel_tool_calls: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Weather and time in Oslo?' }],
    });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = choice.message.tool_calls;
    assert.deepEqual(calls.map((c) => c.function.name), ['get_weather', 'get_time']);
    for (const c of calls) {
      assert.equal(c.type, 'function');
      assert.ok(c.id);
      assert.equal(typeof JSON.parse(c.function.arguments), 'object');
    }
    assert.notEqual(calls[0].id, calls[1].id);
    assert.ok(final.usage.completion_tokens > 0);

    // The results go back and the model answers with text.
    const answer = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [
        { role: 'user', content: 'Weather and time in Oslo?' },
        choice.message,
        { role: 'tool', tool_call_id: calls[0].id, content: 'sunny' },
        { role: 'tool', tool_call_id: calls[1].id, content: '12:00' },
      ],
    });
    assert.equal(answer.choices[0].finish_reason, 'stop');
    assert.match(answer.choices[0].message.content, /12:00/);
  });

  test('chat.completions.create answers a json_schema response_format', async () => {
    const data = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Plan my week' }],
      response_format: { type: 'json_schema', json_schema: { name: 'plan', strict: true, schema: {
        type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } } },
        required: ['steps'], additionalProperties: false } } },
    });
    const plan = JSON.parse(data.choices[0].message.content);
    assert.ok(Array.isArray(plan.steps), data.choices[0].message.content);
    assert.deepEqual(Object.keys(plan), ['steps']);
  });

  test('a hosted tool is refused by name', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'gpt-4o-mini', tools: [{ type: 'web_search' }],
        messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === 'tools[0].type' && err.type === 'invalid_request_error',
    );
  });

  test('models.list lists the routes and models', async () => {
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['career_advice', 'limited', 'gpt-4o-mini', 'claude-3-5-haiku-latest']);
  });

  test('errors are the SDK error classes', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found' && err.param === 'model',
    );
    await assert.rejects(
      client().chat.completions.create({ model: 'career_advice', temperature: 3, messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === 'params.temperature',
    );
    const wrongKey = new OpenAI({ apiKey: 'llmgw_wrong', baseURL: `${gw.baseURL}/v1`, maxRetries: 0 });
    await assert.rejects(
      wrongKey.chat.completions.create({ model: 'career_advice', messages: [{ role: 'user', content: 'Hi' }] }),
      OpenAI.AuthenticationError,
    );
  });

  test('a refused quota is a RateLimitError with Retry-After', async () => {
    const ask = () => client().chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: 'Hi' }] });
    const err = await rateLimited(ask);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.ok(Number(err.headers.get('retry-after')) >= 1);
  });
});

describe('Anthropic SDK', () => {
  const client = (opts = {}) => new Anthropic({ apiKey: API_KEY, baseURL: gw.baseURL, maxRetries: 0, ...opts });

  test('messages.create answers through a route', async () => {
    const msg = await client().messages.create({
      model: 'career_advice',
      max_tokens: 100,
      system: 'Be brief.',
      metadata: { user_id: 'user-42' },
      messages: [{ role: 'user', content: 'How do I move from QA into data engineering?' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0].type, 'text');
    assert.equal(words(msg.content[0].text), 12);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.output_tokens, 12);
    assert.ok(msg.usage.input_tokens > 0);
  });

  test('Authorization: Bearer works as well as x-api-key', async () => {
    const bearer = new Anthropic({ authToken: API_KEY, apiKey: null, baseURL: gw.baseURL, maxRetries: 0 });
    const msg = await bearer.messages.create({
      model: 'claude-3-5-haiku-latest', max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }],
    });
    assert.equal(msg.stop_reason, 'max_tokens');
  });

  test('messages.stream delivers the events and the final message', async () => {
    const stream = client().messages.stream({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 6,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
    let text = '';
    stream.on('text', (delta) => { text += delta; });
    const final = await stream.finalMessage();
    assert.equal(words(text), 6);
    assert.equal(final.content[0].text, text);
    assert.equal(final.stop_reason, 'max_tokens');
    assert.equal(final.usage.output_tokens, 6);
    assert.ok(final.usage.input_tokens > 0);
  });

  test('stream: true yields the raw events in order', async () => {
    const events = await client().messages.create({
      model: 'career_advice', max_tokens: 2, stream: true, messages: [{ role: 'user', content: 'Hi' }],
    });
    const types = [];
    for await (const e of events) types.push(e.type);
    assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop']);
  });

  test('errors are the SDK error classes', async () => {
    await assert.rejects(
      client().messages.create({ model: 'claude-9', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => err instanceof Anthropic.NotFoundError && err.error?.error?.type === 'not_found_error',
    );
    await assert.rejects(
      client({ apiKey: 'llmgw_wrong' }).messages.create({ model: 'career_advice', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] }),
      Anthropic.AuthenticationError,
    );
    await assert.rejects(
      client().messages.create({
        model: 'career_advice', max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'AAAA' } }] }],
      }),
      (err) => err instanceof Anthropic.BadRequestError && /document/.test(err.message),
    );
  });

  test('a refused quota is a RateLimitError', async () => {
    const ask = () => client().messages.create({ model: 'limited', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] });
    const err = await rateLimited(ask);
    assert.ok(err instanceof Anthropic.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.error?.error?.type, 'rate_limit_error');
  });
});

// rateLimited calls ask until it fails, at most 3 times (the route allows
// one request a minute, which another test may already have used), and
// returns the error.
async function rateLimited(ask) {
  for (let i = 0; i < 3; i++) {
    try {
      await ask();
    } catch (err) {
      return err;
    }
  }
  assert.fail('no request was refused');
}
