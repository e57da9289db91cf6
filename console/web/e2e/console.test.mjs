// The console in a real browser (Debian's Chromium driven by
// playwright-core) against the real gateway binary, after scripted traffic:
// successes, a failover with retries and an opening breaker, streams, an
// experiment with a clear winner, two clients, an applied and a refused
// reload. Every page must load without a console error, show the API's
// figures and pass axe-core without a serious or critical violation;
// screenshots at 1280×800 and 390×844 go to test-results/.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { ADMIN_TOKEN, KEYS, config, startGateway } from './gateway.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artefacts = join(here, '..', 'test-results');
mkdirSync(artefacts, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const PAGES = ['overview', 'providers', 'experiments', 'usage', 'config', 'calls'];

let gw;
let browser;
let context;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function call(path, body, client) {
  const res = await fetch(gw.http + path, {
    method: 'POST', body: JSON.stringify(body),
    headers: { Authorization: `Bearer ${KEYS[client]}`, 'Content-Type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

const ask = (route, subject, client) => call('/v1/complete',
  { route, messages: [{ role: 'ROLE_USER', content: 'What should I learn next?' }], caller: { subject } }, client);

async function api(path) {
  const res = await fetch(`${gw.admin}/console/api/${path}`, { headers: auth });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

before(async () => {
  gw = await startGateway();
  // An experiment with a clear winner: b's answers are mostly good, a's
  // mostly not. Subjects are assigned by the sticky hash; both clients ask.
  const seen = { a: 0, b: 0 };
  for (let i = 0; (seen.a < 30 || seen.b < 30) && i < 400; i++) {
    const client = i % 2 ? 'batch-jobs' : 'web-app';
    const r = await ask('career_advice', `subject-${i}`, client);
    assert.equal(r.status, 200, r.text);
    const resp = JSON.parse(r.text);
    const n = ++seen[resp.variant];
    const success = resp.variant === 'b' ? n % 5 !== 0 : n % 3 === 0;
    // Only the client that received an answer may judge it.
    const fb = await call('/v1/feedback', { response_id: resp.id, success }, client);
    assert.equal(fb.status, 200, fb.text);
  }
  // Streams, for the time to first token.
  for (let i = 0; i < 3; i++) {
    const r = await call('/v1/stream', { route: 'career_advice', messages: [{ role: 'ROLE_USER', content: 'Hi' }] }, 'web-app');
    assert.equal(r.status, 200, r.text);
  }
  // A valid change, then a refused one, both through the admin API (the
  // file watcher waits an hour, so that it does not reload first).
  const ab = structuredClone(config['ab_test_config.json']);
  ab.routes.career_advice.description = 'career coaching';
  writeFileSync(join(gw.dir, 'ab_test_config.json'), JSON.stringify(ab));
  let res = await fetch(`${gw.admin}/admin/config/reload`, { method: 'POST', headers: auth });
  assert.equal(res.status, 200, await res.text());
  ab.routes.career_advice.variants[0].weight = -1;
  writeFileSync(join(gw.dir, 'ab_test_config.json'), JSON.stringify(ab));
  res = await fetch(`${gw.admin}/admin/config/reload`, { method: 'POST', headers: auth });
  assert.equal(res.status, 422, await res.text());

  // A failing primary: retried, failed over to the backup; its breaker opens.
  for (let i = 0; i < 6; i++) {
    const r = await ask('resume_review', `review-${i}`, 'batch-jobs');
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).step, 'FAILOVER_STEP_BACKUP');
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic', '--disable-sync', '--disable-dev-shm-usage'],
  });
  context = await browser.newContext({
    httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
    viewport: { width: 1280, height: 800 }, bypassCSP: true, acceptDownloads: true,
  });
});

after(async () => {
  await browser?.close();
  await gw?.stop();
});

/** Opens a console page, failing on any console error or page error. */
async function open(name, viewport = { width: 1280, height: 800 }) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  const res = await page.goto(`${gw.admin}/console/#${name}`);
  assert.equal(res.status(), 200);
  await page.waitForSelector(`body[data-loaded="${name}"]`, { timeout: 10000 });
  return { page, errors };
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `${name}: accessibility violations`);
}

const text = (page, sel) => page.locator(sel).first().innerText();
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

test('the admin token is required; health stays open', async () => {
  assert.equal((await fetch(`${gw.admin}/console/`)).status, 401);
  assert.equal((await fetch(`${gw.admin}/console/api/overview`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await fetch(`${gw.admin}/admin/config`)).status, 401);
  assert.equal((await fetch(`${gw.admin}/healthz`)).status, 200);
  assert.equal((await fetch(`${gw.admin}/metrics`)).status, 200);
  const anon = await browser.newContext();
  const res = await anon.request.get(`${gw.admin}/console/`);
  assert.equal(res.status(), 401);
  assert.match(res.headers()['www-authenticate'], /^Basic /);
  await anon.close();
});

for (const name of PAGES) {
  test(`${name}: loads without errors, passes axe, screenshots`, async () => {
    for (const [label, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      const { page, errors } = await open(name, viewport);
      await axe(page, `${name} (${label})`);
      await page.screenshot({ path: join(artefacts, `${name}-${viewport.width}x${viewport.height}.png`), fullPage: false });
      assert.deepEqual(errors, [], `${name} (${label}): console errors`);
      await page.close();
    }
  });
}

test('overview shows the API figures', async () => {
  const { page } = await open('overview');
  const o = await api('overview?range=1h');
  assert.equal(await text(page, '.cards [data-k="requests"]'), fmtInt(o.totals.requests));
  for (const r of o.routes) {
    const row = page.locator('#routes tbody tr', { hasText: r.name });
    assert.equal(await row.locator('[data-k="requests"]').innerText(), fmtInt(r.requests));
    assert.equal(await row.locator('[data-k="cost"]').getAttribute('data-sort'), String(r.cost_usd));
  }
  assert.ok(o.totals.requests >= 69, `requests: ${o.totals.requests}`);
  assert.ok(o.totals.ttft_p50_ms > 0, 'streams have a time to first token');
  await page.close();
});

test('providers shows the failover, the retries and the breaker', async () => {
  const { page } = await open('providers');
  const p = await api('providers?range=1h');
  const flaky = p.providers.find((x) => x.name === 'flaky');
  assert.equal(flaky.breaker.state, 'open');
  assert.ok(flaky.retries > 0 && flaky.error_classes.unavailable > 0, JSON.stringify(flaky));
  const row = page.locator('#providers tbody tr', { hasText: 'flaky' });
  assert.equal(await row.locator('[data-k="breaker"]').innerText(), 'open');
  assert.equal(await row.locator('[data-k="retries"]').innerText(), fmtInt(flaky.retries));
  const rr = p.failover.find((r) => r.name === 'resume_review');
  assert.equal(rr.steps.backup, 6);
  assert.equal(await page.locator('#failover tbody tr', { hasText: 'resume_review' }).locator('[data-k="backup"]').innerText(), '6');
  assert.ok(await page.locator('#transitions tbody tr', { hasText: 'flaky' }).count() >= 1);
  await page.close();
});

test('experiments names the winner', async () => {
  const { page } = await open('experiments');
  const e = await api('experiments?range=1h');
  const x = e.experiments.find((r) => r.route === 'career_advice');
  assert.equal(x.winner, 'b', x.verdict);
  assert.match(x.verdict, /^b is better than a, p (<|=) 0\.\d+/);
  const sec = page.locator('section[data-route="career_advice"]');
  assert.equal(await sec.locator('[data-k="verdict"]').innerText(), x.verdict);
  for (const v of x.variants) {
    const row = sec.locator('tbody tr', { hasText: `${v.provider}/${v.model}` });
    assert.equal(await row.locator('[data-k="feedback"]').innerText(), fmtInt(v.feedback));
  }
  await page.close();
});

test('usage: the table is the API, the CSV download is the table, budgets burn', async () => {
  const { page } = await open('usage');
  const u = await api('usage?days=7&group=route');
  const rows = await page.locator('#usage tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)));
  const want = u.rows.map((r) => [r.day, r.key, String(r.requests), String(r.cache_hits), String(r.input_tokens),
    String(r.output_tokens), (r.cost_nanos / 1e9).toFixed(9)]);
  assert.deepEqual(rows.toSorted(), want.toSorted());
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(csv[0], ['day', 'route', 'requests', 'cache_hits', 'input_tokens', 'output_tokens', 'cost_usd']);
  assert.deepEqual(csv.slice(1).toSorted(), rows.toSorted());
  // Two clients, each with its own daily budget counter.
  const groups = u.budgets.map((b) => b.group).sort();
  assert.deepEqual(groups, ['client batch-jobs', 'client web-app']);
  assert.equal(await page.locator('.budget').count(), 2);
  await page.close();
});

test('configuration shows the refused reload with its error and the diff', async () => {
  const { page } = await open('config');
  const c = await api('config');
  assert.ok(c.status.last_error, 'a refused reload has an error');
  assert.equal(await text(page, '[data-k="last_error"]'), c.status.last_error);
  const history = await page.locator('#history tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)));
  const refused = history.filter((r) => r[3] === 'refused');
  assert.equal(refused.length, 1, JSON.stringify(history));
  assert.equal(refused[0][4], c.status.last_error);
  assert.deepEqual(history.map((r) => r[3]), ['refused', 'applied', 'applied']);
  assert.ok(c.diff.changes.some((d) => d.path.endsWith('career_advice.description')), JSON.stringify(c.diff));
  assert.ok(await page.locator('#diff tbody tr', { hasText: 'career_advice.description' }).count() === 1);
  assert.ok(!JSON.stringify(c.config).includes(KEYS['web-app']));
  await page.close();
});

test('recent calls: the API list, filterable', async () => {
  const { page } = await open('calls');
  const c = await api('calls');
  assert.equal(await page.locator('#calls tbody tr').count(), c.calls.length);
  await page.selectOption('#f-route', 'resume_review');
  await page.waitForFunction(() => document.querySelectorAll('#calls tbody tr').length === 6);
  const filtered = await api('calls?route=resume_review');
  assert.equal(filtered.calls.length, 6);
  assert.equal(await text(page, '[data-k="count"]'), `6 of ${c.calls.length} calls`);
  await page.close();
});
