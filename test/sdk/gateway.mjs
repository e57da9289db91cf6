// Starts the real gateway binary for the SDK tests: a temporary config
// directory (simulated providers, a client key, a tiny rate limit), free
// ports chosen by the gateway itself (port 0, read back from its start-up
// log), and /readyz on the admin port awaited before the tests run.
//
// launchGateway is the part that does not depend on the configuration; the
// console's browser tests (console/web/e2e) start their gateway with it too.
// This file uses only Node's own modules, so that they can import it
// without installing this package.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const API_KEY = 'llmgw_sdk-test-key-0123456789abcdef';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.GATEWAY_BIN ?? resolve(here, '../../bin/gateway');

const sim = (wire) => ({
  kind: 'sim',
  timeout: '10s',
  retry: { max_attempts: 1 },
  options: { wire, latency: '1ms', answer_tokens: 12 },
});

const config = {
  'provider_settings.json': {
    providers: { openai: sim('openai'), anthropic: sim('anthropic') },
    models: [
      { name: 'gpt-4o-mini', provider: 'openai', context_window: 128000,
        price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
      { name: 'claude-3-5-haiku-latest', provider: 'anthropic', context_window: 200000,
        price: { input_per_mtok: 0.8, output_per_mtok: 4 } },
    ],
  },
  'ab_test_config.json': {
    routes: {
      career_advice: {
        variants: [
          { name: 'gpt', provider: 'openai', model: 'gpt-4o-mini', weight: 1, system_prompt: 'You are a career coach.' },
          { name: 'claude', provider: 'anthropic', model: 'claude-3-5-haiku-latest', weight: 1, system_prompt: 'You are a career coach.' },
        ],
      },
      limited: { variants: [{ name: 'gpt', provider: 'openai', model: 'gpt-4o-mini', weight: 1 }] },
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
  'rate_limits.json': {
    limits: [{ name: 'tiny', scope: ['route'], routes: ['limited'], requests_per_minute: 1 }],
  },
};

/**
 * Starts the gateway; resolves to { baseURL, stop } once it is ready.
 * baseURL is the HTTP port's root, e.g. http://127.0.0.1:41234.
 */
export async function startGateway() {
  const { http, stop } = await launchGateway({ config, prefix: 'llmgw-sdk-' });
  return { baseURL: http, stop };
}

/**
 * Writes config (file name → JSON document) into a new temporary directory
 * named after prefix and starts the gateway binary on it, on free loopback
 * ports, with extra command-line args and environment variables env.
 * Resolves once /readyz answers to { http, admin, dir, logs, stop }: the
 * HTTP and admin ports' roots, the configuration directory, the start-up
 * log lines read so far, and a function that stops the gateway and removes
 * the directory.
 */
export async function launchGateway({ config, prefix, args = [], env = {} }) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, body] of Object.entries(config)) {
    writeFileSync(join(dir, name), JSON.stringify(body, null, 2));
  }
  const child = spawn(binary, [
    '-config-dir', dir,
    '-grpc-addr', '127.0.0.1:0', '-http-addr', '127.0.0.1:0', '-admin-addr', '127.0.0.1:0',
    '-shutdown-grace', '2s',
    ...args,
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const logs = [];
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((res) => child.once('exit', res));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const addrs = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`gateway did not start:\n${logs.join('\n')}`)), 15000);
      child.once('error', (err) => { clearTimeout(timer); rej(err); });
      child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`gateway exited with ${code}:\n${logs.join('\n')}`)); });
      createInterface({ input: child.stderr }).on('line', (line) => {
        logs.push(line);
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'gateway listening') {
            clearTimeout(timer);
            res({ http: rec.http, admin: rec.admin });
          }
        } catch { /* not a JSON log line */ }
      });
    });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://${addrs.admin}/readyz`)).ok) break;
      } catch { /* not listening yet */ }
      if (i === 100) throw new Error('gateway never became ready');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { http: `http://${addrs.http}`, admin: `http://${addrs.admin}`, dir, logs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
