// Charts with uPlot: time series with time axes, and stacked bars (uPlot
// draws series in order, so the cumulative totals are drawn first and each
// smaller sum over them).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Num } from './api';
import { h } from './dom';

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

export function color(i: number): string {
  return palette[i % palette.length];
}

const charts: uPlot[] = [];

// Charts are drawn once every box of the page is in place (a microtask
// later), so that each one takes the width its grid cell ends up with.
function draw(make: () => uPlot): void {
  queueMicrotask(() => charts.push(make()));
}

// Small numbers keep three significant digits on the axis.
const axisValues = (_u: uPlot, splits: number[]) => splits.map((v) => (v === null ? '' : String(Number(v.toPrecision(3)))));

// Bars start at zero.
const fromZero = (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1];

/** Destroys every chart (before a page is drawn again). */
export function clearCharts(): void {
  while (charts.length) charts.pop()?.destroy();
}

// The chart fills its box (a grid cell, laid out once appended).
function width(box: HTMLElement): number {
  return Math.max(240, (box.clientWidth || 600) - 18);
}

// Times are shown in UTC, as the gateway's logs and the API give them.
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
const hhmm = uPlot.fmtDate('{HH}:{mm}');
const timeValues = (_u: uPlot, splits: number[]) => splits.map((v) => hhmm(utc(v)));

export interface Line { label: string; values: Num[]; dash?: boolean; color?: string }

/** A time-series chart of lines; ts are Unix seconds. */
export function lineChart(parent: HTMLElement, title: string, ts: number[], lines: Line[], yLabel = ''): void {
  const box = h('figure', { class: 'chart', role: 'img', 'aria-label': `${title} (UTC)` }, h('figcaption', {}, `${title}, UTC`));
  parent.append(box);
  const opts: uPlot.Options = {
    width: width(box),
    height: 220,
    tzDate: utc,
    series: [{}, ...lines.map((l, i) => ({
      label: l.label, stroke: l.color ?? color(i), width: 1.5, dash: l.dash ? [6, 4] : undefined, spanGaps: false,
      // A lone bucket between empty ones is a point, not a line.
      points: { show: !l.dash, size: 4, fill: l.color ?? color(i) },
    }))],
    axes: [{ values: timeValues }, { label: yLabel, size: 60, values: axisValues }],
    scales: { x: { time: true } },
    cursor: { drag: { x: true, y: false } },
  };
  draw(() => new uPlot({ ...opts, width: width(box) }, [ts, ...lines.map((l) => l.values)] as uPlot.AlignedData, box));
}

/** A stacked bar chart by category (days), one stack part per series. */
export function stackedBars(parent: HTMLElement, title: string, labels: string[], parts: { label: string; values: number[] }[]): void {
  const box = h('figure', { class: 'chart', role: 'img', 'aria-label': title }, h('figcaption', {}, title));
  parent.append(box);
  const xs = labels.map((_, i) => i);
  const cumulative: number[][] = [];
  parts.forEach((p, i) => {
    cumulative.push(p.values.map((v, j) => v + (i ? cumulative[i - 1][j] : 0)));
  });
  const order = parts.map((_, i) => parts.length - 1 - i); // totals first
  const bars = uPlot.paths.bars!({ size: [0.7, 60] });
  const opts: uPlot.Options = {
    width: width(box),
    height: 240,
    series: [{ label: 'day', value: (_u, v) => labels[v] ?? '' },
      ...order.map((i) => ({
        label: parts[i].label, fill: color(i), stroke: color(i), paths: bars, points: { show: false },
        value: (_u: uPlot, _v: number, _s: number, idx: number | null) => (idx === null ? '' : parts[i].values[idx].toFixed(6)),
      }))],
    axes: [{ values: (_u, splits) => splits.map((s) => labels[s] ?? ''), space: 40 }, { size: 70, values: axisValues }],
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] }, y: { range: fromZero } },
  };
  draw(() => new uPlot({ ...opts, width: width(box) }, [xs, ...order.map((i) => cumulative[i])] as uPlot.AlignedData, box));
}
