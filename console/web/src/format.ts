// How figures are shown; the browser tests format the API's numbers with
// these same functions to compare them with the page.

import type { Num } from './api';

export const dash = '–';

export function int(n: Num): string {
  return n === null ? dash : Math.round(n).toLocaleString('en-US');
}

export function fixed(n: Num, digits: number): string {
  return n === null ? dash : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(n: Num, digits = 1): string {
  return n === null ? dash : `${fixed(n * 100, digits)} %`;
}

export function ms(n: Num): string {
  return n === null ? dash : `${fixed(n, n < 10 ? 1 : 0)} ms`;
}

export function usd(n: Num): string {
  if (n === null) return dash;
  const digits = Math.abs(n) >= 1 ? 2 : Math.abs(n) >= 0.01 ? 4 : 6;
  return `$${fixed(n, digits)}`;
}

export function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
