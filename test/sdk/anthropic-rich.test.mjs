// The official Anthropic SDK's rich Messages surface against a live
// gateway: a streamed tool round trip assembled by the SDK's
// finalMessage(), and a structured-output answer.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { API_KEY, startGateway } from './gateway.mjs';

let gw;
before(async () => { gw = await startGateway(); });
after(async () => { await gw?.stop(); });

const tools = [{
  name: 'get_weather',
  description: 'The weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

describe('Anthropic SDK, rich messages', () => {
  const client = () => new Anthropic({ apiKey: API_KEY, baseURL: gw.baseURL, maxRetries: 0 });

  for (const model of ['claude-3-5-haiku-latest', 'gpt-4o-mini']) {
    test(`messages.stream: a tool round trip on ${model}`, async () => {
      const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const stream = client().messages.stream({ model, max_tokens: 200, tools, tool_choice: { type: 'any' }, messages });
      const jsonDeltas = [];
      stream.on('inputJson', (partial) => { jsonDeltas.push(partial); });
      const first = await stream.finalMessage();
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content.find((b) => b.type === 'tool_use');
      assert.ok(call, JSON.stringify(first.content));
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.input.city, 'string');
      assert.ok(jsonDeltas.length > 0);

      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: first.content.filter((b) => b.type === 'tool_use')
        .map((b) => ({ type: 'tool_result', tool_use_id: b.id, content: '18C and sunny' })) });
      const second = await client().messages.stream({ model, max_tokens: 30, tools, messages }).finalMessage();
      assert.notEqual(second.stop_reason, 'tool_use');
      assert.equal(second.content[0].type, 'text');
      assert.ok(second.content[0].text.length > 0);
    });
  }

  test('output_config.format answers JSON of the schema', async () => {
    const msg = await client().messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      output_config: { format: { type: 'json_schema', schema: {
        type: 'object', properties: { title: { type: 'string' } }, required: ['title'], additionalProperties: false,
      } } },
      messages: [{ role: 'user', content: 'Suggest a job title.' }],
    });
    assert.equal(msg.content[0].type, 'text');
    assert.equal(typeof JSON.parse(msg.content[0].text).title, 'string');
  });

  test('a server tool is refused by name', async () => {
    await assert.rejects(
      client().messages.create({
        model: 'claude-3-5-haiku-latest', max_tokens: 20,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'Hi' }],
      }),
      (err) => err instanceof Anthropic.BadRequestError && /tools\[0\]\.type/.test(err.message),
    );
  });
});
