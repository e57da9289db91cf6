// Small helpers to build the pages' elements, and sortable tables
// (tablesort) with numeric sorting on each cell's data-sort value.

import Tablesort from 'tablesort';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(c));
  }
  return el;
}

Tablesort.extend(
  'number',
  (s) => /^-?[\d.]+(e[-+]?\d+)?$/i.test(s.trim()),
  (a, b) => parseFloat(b) - parseFloat(a),
);

/** A cell: text shown, and optionally the value it sorts by. */
export interface Cell { text: string; sort?: number | null; cls?: string; key?: string }

export function cell(text: string, sort?: number | null, key?: string): Cell {
  return { text, sort, key };
}

/**
 * A sortable table in a focusable, labelled scrolling region. Each row's
 * cells may carry a data-k key so that tests can find a figure.
 */
export function table(caption: string, headers: string[], rows: Cell[][], id?: string): HTMLElement {
  const thead = h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { scope: 'col', 'data-sort-method': rows.length && rows[0][i]?.sort !== undefined ? 'number' : undefined }, t))));
  const tbody = h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {
    'data-sort': c.sort === undefined ? undefined : String(c.sort ?? -1),
    'data-k': c.key,
    class: c.cls ?? (c.sort !== undefined ? 'num' : undefined),
  }, c.text)))));
  const t = h('table', { id }, h('caption', {}, caption), thead, tbody) as HTMLTableElement;
  if (rows.length > 1) new Tablesort(t);
  return h('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: 0 }, t);
}

export function card(label: string, value: string, key: string, note?: string, warn = false): HTMLElement {
  return h('div', { class: warn ? 'card warn' : 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', 'data-k': key }, value),
    note ? h('div', { class: 'note' }, note) : null);
}

export function section(title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}
