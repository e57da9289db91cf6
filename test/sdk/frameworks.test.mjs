// Application frameworks on the OpenAI-compatible API: the Vercel AI SDK
// (through @ai-sdk/openai-compatible), LangChain's ChatOpenAI and the
// OpenAI SDK's zod helpers, each on an OpenAI-backed and an
// Anthropic-backed route. Only the base URL and the key change; what the
// frameworks build (zod schemas turned into JSON Schema, tool loops,
// parsed answers) must work whatever vendor answers.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage } from '@langchain/core/messages';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { API_KEY, launchGateway } from './gateway.mjs';

const sim = (wire) => ({
  kind: 'sim',
  timeout: '10s',
  retry: { max_attempts: 1 },
  options: { wire, latency: '1ms', answer_tokens: 12 },
});

const routes = [
  { route: 'on_openai', provider: 'openai', model: 'gpt-5.4-mini' },
  { route: 'on_anthropic', provider: 'anthropic', model: 'claude-haiku-4-5' },
];

const config = {
  'provider_settings.json': {
    providers: { openai: sim('openai'), anthropic: sim('anthropic') },
    models: [
      { name: 'gpt-5.4-mini', provider: 'openai', context_window: 1000000,
        price: { input_per_mtok: 0.75, output_per_mtok: 4.5, cached_input_per_mtok: 0.075 } },
      { name: 'claude-haiku-4-5', provider: 'anthropic', context_window: 200000,
        price: { input_per_mtok: 1, output_per_mtok: 5, cached_input_per_mtok: 0.1, cache_write_input_per_mtok: 1.25 } },
    ],
  },
  'ab_test_config.json': {
    routes: Object.fromEntries(routes.map(({ route, provider, model }) =>
      [route, { variants: [{ name: provider, provider, model, weight: 1 }] }])),
  },
  'clients.json': {
    clients: [{ name: 'framework-tests', key_sha256: createHash('sha256').update(API_KEY).digest('hex'), routes: ['*'] }],
  },
};

let gw;
before(async () => { gw = await launchGateway({ config, prefix: 'llmgw-frameworks-' }); });
after(async () => { await gw?.stop(); });

const CareerStep = z.object({
  title: z.string(),
  years: z.number().int().min(0),
  skills: z.array(z.string()).min(1),
});

const checkStep = (step) => {
  assert.deepEqual(Object.keys(step).sort(), ['skills', 'title', 'years']);
  assert.equal(CareerStep.safeParse(step).success, true, JSON.stringify(step));
};

const weatherArgs = z.object({ city: z.string().min(2) });

describe('Vercel AI SDK (openai-compatible provider)', () => {
  const gateway = () => createOpenAICompatible({
    name: 'llmgateway', baseURL: `${gw.http}/v1`, apiKey: API_KEY,
    supportsStructuredOutputs: true, includeUsage: true,
  });

  for (const { route } of routes) {
    test(`generateObject with a zod schema on ${route}`, async () => {
      const { object, finishReason, usage } = await generateObject({
        model: gateway()(route), schema: CareerStep, schemaName: 'career_step',
        prompt: 'Suggest my next role as a QA engineer.', maxRetries: 0,
      });
      checkStep(object);
      assert.equal(finishReason, 'stop');
      assert.ok(usage.outputTokens > 0);
    });

    test(`streamText with a tool on ${route}`, async () => {
      const seen = [];
      const result = streamText({
        model: gateway()(route),
        tools: {
          get_weather: tool({
            description: 'The weather of a city',
            inputSchema: weatherArgs,
            execute: async ({ city }) => { seen.push(city); return `${city}: 18C and sunny`; },
          }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
        prompt: 'What is the weather in Paris?',
      });
      let text = '';
      const calls = [];
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') text += part.text;
        if (part.type === 'tool-call') calls.push(part);
        if (part.type === 'error') throw part.error;
      }
      const steps = await result.steps;
      assert.equal(steps.length, 2, steps.map((s) => s.finishReason).join());
      assert.equal(steps[0].finishReason, 'tool-calls');
      assert.equal(steps[1].finishReason, 'stop');
      assert.ok(calls.length >= 1);
      assert.ok(calls.every((c) => c.toolName === 'get_weather' && c.toolCallId));
      assert.equal(seen.length, calls.length);
      assert.ok(seen.every((city) => city.length >= 2));
      assert.ok(text.length > 0);
      assert.equal(await result.text, steps[1].text);
    });
  }
});

describe('LangChain ChatOpenAI', () => {
  const weather = langchainTool(async ({ city }) => `${city}: 4C and windy`, {
    name: 'get_weather', description: 'The weather of a city', schema: weatherArgs,
  });

  for (const { route } of routes) {
    test(`bindTools and a tool round trip on ${route}`, async () => {
      const model = new ChatOpenAI({
        model: route, apiKey: API_KEY, maxRetries: 0, configuration: { baseURL: `${gw.http}/v1` },
      }).bindTools([weather]);
      const question = new HumanMessage('What is the weather in Oslo?');
      const first = await model.invoke([question]);
      assert.ok(first.tool_calls.length >= 1, JSON.stringify(first));
      const call = first.tool_calls[0];
      assert.equal(call.name, 'get_weather');
      assert.ok(call.id);
      assert.equal(weatherArgs.safeParse(call.args).success, true, JSON.stringify(call.args));

      const results = await Promise.all(first.tool_calls.map((c) => weather.invoke(c)));
      assert.equal(results[0].tool_call_id, call.id);
      const second = await model.invoke([question, first, ...results]);
      assert.equal(second.tool_calls.length, 0);
      assert.equal(typeof second.content, 'string');
      assert.ok(second.content.length > 0);
      assert.equal(second.response_metadata.finish_reason, 'stop');
    });
  }
});

describe('OpenAI SDK zod helpers', () => {
  const client = () => new OpenAI({ apiKey: API_KEY, baseURL: `${gw.http}/v1`, maxRetries: 0 });

  for (const { route, model } of routes) {
    test(`chat.completions.parse with zodResponseFormat on ${route}`, async () => {
      const res = await client().chat.completions.parse({
        model: route,
        max_completion_tokens: 300,
        response_format: zodResponseFormat(CareerStep, 'career_step'),
        messages: [{ role: 'user', content: 'Suggest my next role as a QA engineer.' }],
      });
      assert.equal(res.model, model);
      const msg = res.choices[0].message;
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.equal(msg.refusal, null);
      checkStep(msg.parsed);
      assert.deepEqual(msg.parsed, JSON.parse(msg.content));
    });
  }
});
