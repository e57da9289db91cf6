// The console's pages: a hash route per page, each drawn from the JSON
// API; the live pages refresh themselves every 10 seconds.

import './style.css';
import * as api from './api';
import { clearCharts, color, lineChart, stackedBars } from './charts';
import { card, cell, h, section, table } from './dom';
import { dash, fixed, int, ms, pct, time, usd } from './format';

const main = document.getElementById('main')!;
const REFRESH_MS = 10_000;
let timer: number | undefined;
let range = '1h';

function scopeNote(hd: api.Header): HTMLElement {
  return h('p', { class: 'scope', 'data-k': 'scope' }, hd.scope === 'replica'
    ? `Figures of this replica (${hd.replica}) only, as of ${time(hd.now)}.`
    : `Cluster figures from the shared store, read by replica ${hd.replica} at ${time(hd.now)}.`);
}

function rangePicker(redraw: () => void): HTMLElement {
  const sel = h('select', { id: 'range' },
    h('option', { value: '1h', selected: range === '1h' }, 'last hour'),
    h('option', { value: '24h', selected: range === '24h' }, 'last 24 hours')) as HTMLSelectElement;
  sel.addEventListener('change', () => { range = sel.value; redraw(); });
  return h('div', { class: 'controls' }, h('label', { for: 'range' }, 'Range '), sel);
}

function figureRow(name: string, f: api.Figures): ReturnType<typeof cell>[] {
  return [
    cell(name),
    cell(int(f.requests), f.requests, 'requests'),
    cell(fixed(f.rps, 2), f.rps),
    cell(pct(f.error_rate), f.error_rate, 'error_rate'),
    cell(ms(f.p50_ms), f.p50_ms),
    cell(ms(f.p95_ms), f.p95_ms),
    cell(ms(f.p99_ms), f.p99_ms),
    cell(pct(f.cache_hit_rate), f.cache_hit_rate),
    cell(int(f.input_tokens + f.output_tokens), f.input_tokens + f.output_tokens, 'tokens'),
    cell(usd(f.cost_usd), f.cost_usd, 'cost'),
  ];
}
const figureHeaders = ['', 'requests', 'req/s', 'errors', 'p50', 'p95', 'p99', 'cache hits', 'tokens', 'cost'];

async function overview(): Promise<void> {
  const o = await api.get<api.Overview>(`overview?range=${range}`);
  const t = o.totals;
  const tl = o.timeline;
  const slow = t.p95_ms !== null && t.p95_ms > o.target_p95_ms;
  const page = h('div', {}, h('h1', {}, 'Overview'), rangePicker(render), scopeNote(o),
    h('div', { class: 'cards' },
      card('Requests', int(t.requests), 'requests', `${fixed(t.rps, 2)} per second`),
      card('Error rate', pct(t.error_rate), 'error_rate', `${int(t.errors)} errors`, (t.error_rate ?? 0) > 0.05),
      card('Latency p50', ms(t.p50_ms), 'p50_ms'),
      card('Latency p95', ms(t.p95_ms), 'p95_ms', `target ${ms(o.target_p95_ms)}`, slow),
      card('Latency p99', ms(t.p99_ms), 'p99_ms'),
      card('Time to first token p50', ms(t.ttft_p50_ms), 'ttft_p50_ms', `p95 ${ms(t.ttft_p95_ms)}`),
      card('Cache hit rate', pct(t.cache_hit_rate), 'cache_hit_rate'),
      card('Tokens per minute', int(t.tokens_per_min), 'tokens_per_min', `${int(t.input_tokens)} in, ${int(t.output_tokens)} out`),
      card('Cost per hour', usd(t.cost_per_hour_usd), 'cost_per_hour_usd', `${usd(t.cost_usd)} in the range`)));
  const charts = h('div', { class: 'charts' });
  main.replaceChildren(page, charts, section('Routes',
    table('Calls per route', figureHeaders, o.routes.map((r) => figureRow(r.name, r)), 'routes')));
  const target = tl.t.map(() => o.target_p95_ms);
  lineChart(charts, 'Requests per second and error rate (%)', tl.t, [
    { label: 'req/s', values: tl.rps },
    { label: 'error %', values: tl.error_rate.map((v) => (v === null ? null : v * 100)) }]);
  lineChart(charts, 'Latency (ms) against the 3 s p95 target', tl.t, [
    { label: 'p50', values: tl.p50_ms }, { label: 'p95', values: tl.p95_ms }, { label: 'p99', values: tl.p99_ms },
    { label: 'ttft p95', values: tl.ttft_p95_ms }, { label: 'p95 target', values: target, dash: true, color: '#6b7280' }], 'ms');
  lineChart(charts, 'Tokens per minute', tl.t, [{ label: 'tokens/min', values: tl.tokens_per_min }]);
  lineChart(charts, 'Cost per hour (USD) and cache hit rate (%)', tl.t, [
    { label: '$/h', values: tl.cost_per_hour_usd },
    { label: 'cache hit %', values: tl.cache_hit_rate.map((v) => (v === null ? null : v * 100)) }]);
}

async function providers(): Promise<void> {
  const p = await api.get<api.Providers>(`providers?range=${range}`);
  const rows = p.providers.map((x) => [
    cell(x.name), cell(x.breaker?.state ?? 'not configured', undefined, 'breaker'),
    cell(pct(x.breaker?.failure_rate ?? null), x.breaker?.failure_rate ?? null),
    cell(int(x.requests), x.requests, 'requests'), cell(pct(x.error_rate), x.error_rate, 'error_rate'),
    cell(int(x.retries), x.retries, 'retries'), cell(int(x.failed_attempts), x.failed_attempts, 'failed_attempts'),
    cell(`${int(x.hedges)} / ${int(x.hedges_won)}`, x.hedges, 'hedges'),
    cell(ms(x.p95_ms), x.p95_ms),
    cell(Object.entries(x.error_classes).map(([k, v]) => `${k} ${v}`).join(', ') || dash),
  ]);
  const charts = h('div', { class: 'charts' });
  const models = p.providers.flatMap((x) => x.models.map((m) => [
    cell(x.name), cell(m.name), cell(int(m.requests), m.requests), cell(pct(m.error_rate), m.error_rate),
    cell(ms(m.p50_ms), m.p50_ms), cell(ms(m.p95_ms), m.p95_ms), cell(ms(m.p99_ms), m.p99_ms)]));
  const steps = ['primary', 'backup', 'stale', 'degraded'];
  main.replaceChildren(h('h1', {}, 'Providers'), rangePicker(render), scopeNote(p),
    table('Providers: breaker, errors, retries, hedges (sent / won)', ['provider', 'breaker', 'breaker failure rate', 'calls', 'errors', 'retries', 'failed attempts', 'hedges', 'p95', 'error classes (since start)'], rows, 'providers'),
    charts,
    section('Latency per model', table('Latency per model', ['provider', 'model', 'calls', 'errors', 'p50', 'p95', 'p99'], models, 'models')),
    section('Failover steps per route', table('Answers by failover step', ['route', ...steps, 'errors'],
      p.failover.map((r) => [cell(r.name), ...steps.map((s) => cell(int(r.steps[s] ?? 0), r.steps[s] ?? 0, s)), cell(int(r.errors), r.errors)]), 'failover')),
    section('Breaker transitions', table('Circuit breaker transitions, newest first', ['time', 'provider', 'from', 'to'],
      p.transitions.map((x) => [cell(time(x.time)), cell(x.provider), cell(x.from), cell(x.to)]), 'transitions')));
  if (p.providers.length) {
    const t = p.providers[0].timeline.t;
    lineChart(charts, 'Error rate per provider (%)', t, p.providers.map((x) => ({
      label: x.name, values: x.timeline.error_rate.map((v) => (v === null ? null : v * 100)) })));
    lineChart(charts, 'p95 latency per provider (ms)', t, p.providers.map((x) => ({ label: x.name, values: x.timeline.p95_ms })), 'ms');
  }
}

async function experiments(): Promise<void> {
  const e = await api.get<api.Experiments>(`experiments?range=${range}`);
  const parts: HTMLElement[] = [];
  const later: (() => void)[] = [];
  for (const x of e.experiments) {
    const charts = h('div', { class: 'charts' });
    parts.push(h('section', { class: 'experiment', 'data-route': x.route },
      h('h2', {}, `${x.route}`, h('span', { class: 'sub' }, ` experiment ${x.experiment}, control ${x.control}`)),
      x.error ? h('p', { class: 'error' }, `experiment store: ${x.error}`) : null,
      h('p', { class: x.winner ? 'verdict win' : 'verdict', 'data-k': 'verdict' }, x.verdict),
      table(`Variants of ${x.route}`, ['variant', 'weight', 'model', 'requests', 'errors', 'feedback', 'success rate (95 % interval)', 'mean score', 'p50', 'p95', 'cost per answer', 'P(best)'],
        x.variants.map((v) => [
          cell(v.name), cell(int(v.weight), v.weight), cell(`${v.provider}/${v.model}`),
          cell(int(v.requests), v.requests, 'requests'), cell(pct(v.error_rate), v.error_rate),
          cell(int(v.feedback), v.feedback, 'feedback'),
          cell(v.success_rate === null ? dash : `${pct(v.success_rate)} (${pct(v.ci_low)} – ${pct(v.ci_high)})`, v.success_rate, 'success_rate'),
          cell(fixed(v.mean_score, 2), v.mean_score), cell(ms(v.p50_ms), v.p50_ms), cell(ms(v.p95_ms), v.p95_ms),
          cell(usd(v.cost_per_answer_usd), v.cost_per_answer_usd), cell(pct(v.probability_best), v.probability_best, 'probability_best')])),
      x.comparisons.length ? table(`Significance tests of ${x.route}: two-proportion z-test of the leader against each variant`,
        ['leader', 'against', 'z', 'p', 'significant', 'P(leader better)', 'enough successes and failures'],
        x.comparisons.map((c) => [cell(c.leader), cell(c.variant), cell(fixed(c.z, 2), c.z), cell(fixed(c.p_value, 4), c.p_value),
          cell(c.significant ? 'yes' : 'no'), cell(pct(c.probability_leader_better), c.probability_leader_better),
          cell(c.small_sample ? 'no' : 'yes')])) : null,
      h('p', { class: 'note' }, `Counts and feedback: the cluster's (experiment store). Charts: this replica's calls. A 2-point difference needs about ${int(x.needed_per_variant)} answers per variant.`),
      charts));
    later.push(() => {
      const names = Object.keys(x.timeline.rps);
      lineChart(charts, `${x.route}: requests per second per variant`, x.timeline.t, names.map((n) => ({ label: n, values: x.timeline.rps[n] })));
      lineChart(charts, `${x.route}: p95 latency per variant (ms)`, x.timeline.t, names.map((n) => ({ label: n, values: x.timeline.p95_ms[n] })), 'ms');
    });
  }
  main.replaceChildren(h('h1', {}, 'Experiments'), rangePicker(render), scopeNote(e), ...parts);
  later.forEach((f) => f());
}

let usageDays = 7;
let usageGroup = 'route';

async function usage(): Promise<void> {
  const u = await api.get<api.Usage>(`usage?days=${usageDays}&group=${usageGroup}`);
  const days = [...new Set(u.rows.map((r) => r.day))].sort();
  const keys = [...new Set(u.rows.map((r) => r.key))].sort();
  const costOf = (k: string, d: string) => u.rows.filter((r) => r.key === k && r.day === d).reduce((s, r) => s + r.cost_nanos, 0) / 1e9;
  const tokensOf = (k: string, d: string) => u.rows.filter((r) => r.key === k && r.day === d).reduce((s, r) => s + r.input_tokens + r.output_tokens, 0);
  const daysSel = h('select', { id: 'days' }, ...[1, 7, 30, 90].map((d) => h('option', { value: d, selected: d === usageDays }, `${d} days`))) as HTMLSelectElement;
  const groupSel = h('select', { id: 'group' }, ...['route', 'provider', 'model', 'client'].map((g) => h('option', { value: g, selected: g === usageGroup }, g))) as HTMLSelectElement;
  daysSel.addEventListener('change', () => { usageDays = Number(daysSel.value); void render(); });
  groupSel.addEventListener('change', () => { usageGroup = groupSel.value; void render(); });
  const csv = `/console/api/usage?days=${usageDays}&group=${usageGroup}&format=csv`;
  const charts = h('div', { class: 'charts' });
  const budgets = u.budgets.map((b) => {
    const burn = b.burn ?? 0;
    return h('div', { class: 'budget', 'data-limit': b.limit },
      h('div', {}, h('strong', {}, b.limit), ` per ${b.period}${b.group ? `, ${b.group}` : ''}: `,
        h('span', { 'data-k': 'spent' }, usd(b.spent_usd)), ` of ${usd(b.limit_usd)} (`, h('span', { 'data-k': 'burn' }, pct(b.burn)), ')'),
      h('div', { class: 'meter' },
        h('meter', { min: 0, max: 1.2, low: 0.8, high: 1, optimum: 0, value: Math.min(burn, 1.2), 'aria-label': `${b.limit} burn` }),
        h('span', { class: 'mark m80', 'aria-hidden': 'true' }), h('span', { class: 'mark m100', 'aria-hidden': 'true' })),
      b.note ? h('p', { class: 'note' }, b.note) : null);
  });
  main.replaceChildren(h('h1', {}, 'Usage and cost'), scopeNote(u),
    h('div', { class: 'controls' }, h('label', { for: 'days' }, 'Period '), daysSel, ' ', h('label', { for: 'group' }, 'by '), groupSel, ' ',
      h('a', { href: csv, download: `usage-${usageGroup}-${usageDays}d.csv`, id: 'csv' }, 'Download CSV')),
    charts,
    section('Budgets (80 % and 100 % marked)', budgets.length ? budgets : h('p', {}, 'No USD budgets in rate_limits.json.')),
    section('By day', table(`Usage by day and ${usageGroup}`, ['day', usageGroup, 'requests', 'cache hits', 'input tokens', 'output tokens', 'cost (USD)'],
      u.rows.map((r) => [cell(r.day), cell(r.key), cell(String(r.requests), r.requests), cell(String(r.cache_hits), r.cache_hits),
        cell(String(r.input_tokens), r.input_tokens), cell(String(r.output_tokens), r.output_tokens),
        cell((r.cost_nanos / 1e9).toFixed(9), r.cost_nanos)]), 'usage')));
  if (days.length) {
    stackedBars(charts, `Cost per day by ${usageGroup} (USD)`, days, keys.map((k) => ({ label: k, values: days.map((d) => costOf(k, d)) })));
    stackedBars(charts, `Tokens per day by ${usageGroup}`, days, keys.map((k) => ({ label: k, values: days.map((d) => tokensOf(k, d)) })));
  }
}

async function config(): Promise<void> {
  const c = await api.get<api.ConfigView>('config');
  const st = c.status ?? {};
  const show = (v: unknown) => (v === undefined ? dash : JSON.stringify(v));
  main.replaceChildren(h('h1', {}, 'Configuration'), scopeNote(c),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Active version'), h('dd', { 'data-k': 'version' }, c.version),
      h('dt', {}, 'Loaded at'), h('dd', {}, time(c.loaded_at)),
      h('dt', {}, 'Source'), h('dd', {}, String(st.source || 'embedded default')),
      h('dt', {}, 'Reloads applied / refused'), h('dd', {}, `${st.reloads ?? 0} / ${st.failures ?? 0}`),
      h('dt', {}, 'Last refused reload'), h('dd', { 'data-k': 'last_error' }, String(st.last_error || dash))),
    section('History', table('Loads and reload attempts, newest first', ['time', 'reason', 'version', 'result', 'error'],
      c.history.map((e) => [cell(time(e.time)), cell(e.reason), cell(e.version), cell(e.applied ? 'applied' : 'refused'),
        { text: e.error ?? '', cls: 'err' }]), 'history')),
    section('Changes from the previous version', c.diff
      ? h('div', {}, h('p', {}, `${c.diff.from} → ${c.diff.to}`),
        table('Configuration diff', ['path', 'before', 'after'], c.diff.changes.map((d) => [cell(d.path), cell(show(d.old)), cell(show(d.new))]), 'diff'))
      : h('p', {}, 'Only one version loaded so far.')),
    section('Active configuration (secrets redacted)', h('pre', { class: 'config', tabindex: 0, 'aria-label': 'Active configuration' }, JSON.stringify(c.config, null, 2))));
}

const filters: Record<string, string> = { route: '', variant: '', provider: '', status: '', step: '', client: '' };

async function calls(): Promise<void> {
  const c = await api.get<api.Calls>('calls');
  const shown = c.calls.filter((x) => Object.entries(filters).every(([k, v]) => !v || (x as unknown as Record<string, string>)[k] === v));
  const selects = Object.keys(filters).map((k) => {
    const values = [...new Set(c.calls.map((x) => (x as unknown as Record<string, string>)[k]))].filter(Boolean).sort();
    const sel = h('select', { id: `f-${k}` }, h('option', { value: '' }, 'all'),
      ...values.map((v) => h('option', { value: v, selected: v === filters[k] }, v))) as HTMLSelectElement;
    sel.addEventListener('change', () => { filters[k] = sel.value; void render(); });
    return h('span', { class: 'filter' }, h('label', { for: `f-${k}` }, `${k} `), sel);
  });
  main.replaceChildren(h('h1', {}, 'Recent calls'), scopeNote(c), h('div', { class: 'controls' }, selects),
    h('p', { 'data-k': 'count' }, `${shown.length} of ${c.calls.length} calls`),
    table('Recent calls, newest first', ['time', 'route', 'variant', 'provider', 'model', 'client', 'status', 'step', 'cache', 'tokens in', 'tokens out', 'cost', 'latency', 'failed attempts'],
      shown.map((x) => [cell(time(x.time)), cell(x.route), cell(x.variant), cell(x.provider), cell(x.model), cell(x.client),
        cell(x.status), cell(x.step || dash), cell(x.cache), cell(String(x.input_tokens), x.input_tokens),
        cell(String(x.output_tokens), x.output_tokens), cell(usd(x.cost_usd), x.cost_usd), cell(ms(x.latency_ms), x.latency_ms),
        cell(String(x.failed_attempts), x.failed_attempts)]), 'calls'));
}

const pages: Record<string, { draw: () => Promise<void>; live: boolean; title: string }> = {
  overview: { draw: overview, live: true, title: 'Overview' },
  providers: { draw: providers, live: true, title: 'Providers' },
  experiments: { draw: experiments, live: true, title: 'Experiments' },
  usage: { draw: usage, live: false, title: 'Usage and cost' },
  config: { draw: config, live: false, title: 'Configuration' },
  calls: { draw: calls, live: true, title: 'Recent calls' },
};

function current(): string {
  const name = location.hash.replace(/^#/, '');
  return name in pages ? name : 'overview';
}

async function render(): Promise<void> {
  window.clearTimeout(timer);
  const name = current();
  const page = pages[name];
  document.title = `${page.title} · LLM gateway console`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const scroll = window.scrollY;
  try {
    clearCharts();
    await page.draw();
    document.body.dataset.loaded = name;
    window.scrollTo(0, scroll);
  } catch (err) {
    main.replaceChildren(h('h1', {}, page.title), h('p', { class: 'error', role: 'alert' }, String(err)));
  }
  if (page.live) timer = window.setTimeout(() => void render(), REFRESH_MS);
}

window.addEventListener('hashchange', () => { window.scrollTo(0, 0); void render(); });
void render();
