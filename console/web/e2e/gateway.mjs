// Starts the real gateway binary for the console's browser tests with
// test/sdk/gateway.mjs's launchGateway: a temporary configuration
// directory, free ports chosen by the gateway itself (read back from its
// start-up log), and /readyz awaited. The configuration has simulated
// providers, one that refuses connections (so that a route fails over to
// its backup and its breaker opens), an A/B experiment, two clients, a
// daily budget and an admin token.

import { createHash } from 'node:crypto';

import { launchGateway } from '../../../test/sdk/gateway.mjs';

export const ADMIN_TOKEN = 'console-test-admin-token-0123456789';
export const KEYS = {
  'web-app': 'llmgw_console-web-app-0123456789abcdef',
  'batch-jobs': 'llmgw_console-batch-jobs-0123456789abcd',
};

const sim = (wire) => ({
  kind: 'sim', timeout: '5s', retry: { max_attempts: 1 },
  options: { wire, latency: '2ms', answer_tokens: 12 },
});

export const config = {
  'provider_settings.json': {
    providers: {
      openai: sim('openai'),
      anthropic: sim('anthropic'),
      // Nothing listens on port 9 of the loopback: every call fails at once.
      flaky: {
        kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', timeout: '2s', retry: { max_attempts: 2, initial_backoff: '10ms' },
        circuit_breaker: { failure_rate: 0.5, min_requests: 3, window: '30s', open_for: '1m' },
      },
    },
    models: [
      { name: 'gpt-4o-mini', provider: 'openai', context_window: 128000, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
      { name: 'claude-3-5-haiku-latest', provider: 'anthropic', context_window: 200000, price: { input_per_mtok: 0.8, output_per_mtok: 4 } },
      { name: 'flaky-model', provider: 'flaky', context_window: 8000, price: { input_per_mtok: 1, output_per_mtok: 1 } },
    ],
  },
  'ab_test_config.json': {
    routes: {
      career_advice: {
        variants: [
          { name: 'a', provider: 'openai', model: 'gpt-4o-mini', weight: 1 },
          { name: 'b', provider: 'anthropic', model: 'claude-3-5-haiku-latest', weight: 1 },
        ],
      },
      resume_review: {
        variants: [{ name: 'main', provider: 'flaky', model: 'flaky-model', weight: 1 }],
        backups: [{ provider: 'openai', model: 'gpt-4o-mini' }],
      },
    },
  },
  'clients.json': {
    clients: Object.entries(KEYS).map(([name, key]) => ({
      name, key_sha256: createHash('sha256').update(key).digest('hex'), routes: ['*'],
    })),
  },
  'rate_limits.json': {
    limits: [{ name: 'daily_spend', scope: ['api_key'], usd_per_day: 0.01 }],
  },
};

/** Starts the gateway; resolves to { http, admin, dir, logs, stop } once ready. */
export function startGateway({ token = ADMIN_TOKEN } = {}) {
  const args = ['-config-debounce', '1h'];
  const env = {};
  if (token) {
    args.push('-admin-token-env', 'CONSOLE_TEST_ADMIN_TOKEN');
    env.CONSOLE_TEST_ADMIN_TOKEN = token;
  }
  return launchGateway({ config, prefix: 'llmgw-console-', args, env });
}
