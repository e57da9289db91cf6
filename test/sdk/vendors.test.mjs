// The official OpenAI and Anthropic SDKs against routes answered by Gemini
// and Amazon Bedrock: the gateway's real gemini and bedrock backends (the
// Gemini REST wire; Converse through the AWS SDK, SigV4-signed with
// placeholder keys) in front of the simulator, which speaks each vendor's
// wire. A tool round trip and a JSON-schema answer must come back in the
// SDK's own shapes whatever vendor answered, and Claude's extended
// thinking on Bedrock must come back signed and go back unchanged.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { API_KEY, launchGateway } from './gateway.mjs';

const GEMINI_MODEL = 'gemini-2.5-flash';
const BEDROCK_MODEL = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';

const sim = (wire) => ({
  kind: 'sim',
  timeout: '10s',
  retry: { max_attempts: 1 },
  options: { wire, latency: '1ms', answer_tokens: 12 },
});

const config = {
  'provider_settings.json': {
    providers: { gemini: sim('gemini'), bedrock: sim('bedrock') },
    models: [
      { name: GEMINI_MODEL, provider: 'gemini', context_window: 1048576,
        price: { input_per_mtok: 0.3, output_per_mtok: 2.5, cached_input_per_mtok: 0.03 } },
      { name: BEDROCK_MODEL, provider: 'bedrock', context_window: 200000,
        price: { input_per_mtok: 1, output_per_mtok: 5, cached_input_per_mtok: 0.1, cache_write_input_per_mtok: 1.25 } },
    ],
  },
  'ab_test_config.json': {
    routes: {
      on_gemini: { variants: [{ name: 'gemini', provider: 'gemini', model: GEMINI_MODEL, weight: 1 }] },
      on_bedrock: { variants: [{ name: 'bedrock', provider: 'bedrock', model: BEDROCK_MODEL, weight: 1 }] },
    },
  },
  'clients.json': {
    clients: [{ name: 'sdk-vendor-tests', key_sha256: createHash('sha256').update(API_KEY).digest('hex'), routes: ['*'] }],
  },
};

let gw;
before(async () => { gw = await launchGateway({ config, prefix: 'llmgw-sdk-vendors-' }); });
after(async () => { await gw?.stop(); });

const routes = [
  { route: 'on_gemini', model: GEMINI_MODEL },
  { route: 'on_bedrock', model: BEDROCK_MODEL },
];

const weather = {
  name: 'get_weather',
  description: 'The weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string', minLength: 2 } }, required: ['city'] },
};

const careerStep = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    years: { type: 'integer', minimum: 0 },
    skills: { type: 'array', items: { type: 'string' }, minItems: 1 },
  },
  required: ['title', 'years', 'skills'],
  additionalProperties: false,
};

describe('OpenAI SDK on Gemini and Bedrock routes', () => {
  const client = () => new OpenAI({ apiKey: API_KEY, baseURL: `${gw.http}/v1`, maxRetries: 0 });

  for (const { route, model } of routes) {
    test(`a tool round trip through ${route}`, async () => {
      const messages = [{ role: 'user', content: 'What is the weather in Oslo?' }];
      const tools = [{ type: 'function', function: weather }];
      const { data: first, response } = await client().chat.completions.create({
        model: route, max_completion_tokens: 200, tools, tool_choice: 'auto', messages,
      }).withResponse();
      assert.equal(response.headers.get('x-llmgateway-route'), route);
      assert.equal(first.model, model);
      const choice = first.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls.length, 1, JSON.stringify(choice.message));
      const call = choice.message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.ok(call.id);
      const args = JSON.parse(call.function.arguments);
      assert.equal(typeof args.city, 'string');
      assert.ok(args.city.length >= 2);

      messages.push(choice.message);
      messages.push({ role: 'tool', tool_call_id: call.id, content: '4C and windy' });
      const second = await client().chat.completions.create({ model: route, max_completion_tokens: 50, tools, messages });
      assert.equal(second.choices[0].finish_reason, 'stop');
      assert.equal(second.choices[0].message.tool_calls, undefined);
      assert.ok(second.choices[0].message.content.length > 0);
      assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens, 'the second turn carries the first');
    });

    test(`a streamed tool call through ${route}`, async () => {
      const stream = await client().chat.completions.create({
        model: route, stream: true, max_completion_tokens: 200,
        tools: [{ type: 'function', function: weather }], tool_choice: 'required',
        messages: [{ role: 'user', content: 'Weather in Lisbon?' }],
      });
      let name = '';
      let args = '';
      let id = '';
      let finish = null;
      for await (const chunk of stream) {
        for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
          assert.equal(d.index, 0);
          id ||= d.id ?? '';
          name += d.function?.name ?? '';
          args += d.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(finish, 'tool_calls');
      assert.equal(name, 'get_weather');
      assert.ok(id);
      assert.equal(typeof JSON.parse(args).city, 'string');
    });

    test(`a JSON-schema answer through ${route}`, async () => {
      const res = await client().chat.completions.create({
        model: route,
        max_completion_tokens: 300,
        response_format: { type: 'json_schema', json_schema: { name: 'career_step', strict: true, schema: careerStep } },
        messages: [{ role: 'user', content: 'Suggest my next role as a QA engineer.' }],
      });
      assert.equal(res.choices[0].finish_reason, 'stop');
      const step = JSON.parse(res.choices[0].message.content);
      assert.deepEqual(Object.keys(step).sort(), ['skills', 'title', 'years']);
      assert.equal(typeof step.title, 'string');
      assert.ok(Number.isInteger(step.years) && step.years >= 0);
      assert.ok(Array.isArray(step.skills) && step.skills.length >= 1);
      assert.ok(step.skills.every((s) => typeof s === 'string'));
    });
  }
});

describe('Anthropic SDK on a Gemini route', () => {
  const client = () => new Anthropic({ apiKey: API_KEY, baseURL: gw.http, maxRetries: 0 });
  const tools = [{ name: weather.name, description: weather.description, input_schema: weather.parameters }];

  test('messages.stream: a tool round trip through on_gemini', async () => {
    const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const stream = client().messages.stream({ model: 'on_gemini', max_tokens: 200, tools, messages });
    const first = await stream.finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const calls = first.content.filter((b) => b.type === 'tool_use');
    assert.equal(calls.length, 1, JSON.stringify(first.content));
    assert.equal(calls[0].name, 'get_weather');
    assert.ok(calls[0].id);
    assert.equal(typeof calls[0].input.city, 'string');

    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: calls[0].id, content: '18C and sunny' }] });
    const second = await client().messages.create({ model: 'on_gemini', max_tokens: 50, tools, messages });
    assert.equal(second.model, GEMINI_MODEL);
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal(second.content.length, 1);
    assert.equal(second.content[0].type, 'text');
    assert.ok(second.content[0].text.length > 0);
    assert.ok(second.usage.input_tokens > first.usage.input_tokens, 'the second turn carries the first');
  });
});

describe('Anthropic SDK on a Bedrock route with extended thinking', () => {
  const client = () => new Anthropic({ apiKey: API_KEY, baseURL: gw.http, maxRetries: 0 });
  const tools = [{ name: weather.name, description: weather.description, input_schema: weather.parameters }];
  const thinking = { type: 'enabled', budget_tokens: 1024 };

  test('signed thinking comes back, streamed and whole, and goes back with the tool result', async () => {
    const messages = [{ role: 'user', content: 'What is the weather in Bergen?' }];
    const first = await client().messages.stream({ model: 'on_bedrock', max_tokens: 2048, thinking, tools, messages }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    assert.deepEqual(first.content.map((b) => b.type), ['thinking', 'tool_use']);
    const [thought, call] = first.content;
    assert.match(thought.thinking, /Bergen/);
    assert.ok(thought.signature);
    const whole = await client().messages.create({ model: 'on_bedrock', max_tokens: 2048, thinking, tools, messages });
    assert.equal(whole.model, BEDROCK_MODEL);
    assert.deepEqual(whole.content[0], thought);

    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '9C and rain' }] });
    const second = await client().messages.create({ model: 'on_bedrock', max_tokens: 2048, thinking, tools, messages });
    assert.equal(second.stop_reason, 'end_turn');
    assert.deepEqual(second.content.map((b) => b.type), ['thinking', 'text']);

    messages[1] = { role: 'assistant', content: [{ ...thought, signature: `${thought.signature}x` }, call] };
    await assert.rejects(
      client().messages.create({ model: 'on_bedrock', max_tokens: 2048, thinking, tools, messages }),
      (err) => err instanceof Anthropic.BadRequestError && /signature/.test(err.message),
    );
  });
});
