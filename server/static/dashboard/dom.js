// Small DOM and formatting helpers. Every piece of data reaches the page as a text node or
// an attribute value (never as HTML), so user content cannot inject markup or scripts.

/**
 * Create an element: h('li', {class: 'x', onclick: fn}, 'text', childNode, [more]).
 * Props: `class`, `dataset` (object), `on<event>` (listener), anything else is an attribute
 * (true -> present and empty, null/undefined/false -> absent). Children are nodes or strings
 * (strings become text nodes); null, undefined and false are skipped; arrays are flattened.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (see `h`) to a node. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace all children of a node. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** The element with this id (throws if the page lacks it: a bug, not a runtime state). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

const currency = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumFractionDigits: 0,
});
const compactCurrency = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  notation: 'compact',
  maximumFractionDigits: 1,
});

/** "412500.00" -> "$412,500"; null -> "—". Decimals arrive as strings. */
export function money(value) {
  if (value == null || value === '') return '—';
  const number = Number(value);
  return Number.isFinite(number) ? currency.format(number) : String(value);
}

/** 1250000 -> "$1.3M". */
export function compactMoney(value) {
  return compactCurrency.format(value);
}

/** "UNDER_CONTRACT" -> "Under contract". */
export function label(value) {
  if (!value) return '';
  const text = String(value).replaceAll('_', ' ').toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });
const STEPS = [
  [60, 'second'],
  [60, 'minute'],
  [24, 'hour'],
  [7, 'day'],
  [4.35, 'week'],
  [12, 'month'],
  [Infinity, 'year'],
];

/** "3 minutes ago" for an ISO date-time (relative to now). */
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  let amount = (new Date(iso).getTime() - now) / 1000;
  if (Math.abs(amount) < 45) return 'just now';
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return '';
}

/** A <time> showing how long ago `iso` was; `refreshTimes` keeps it current. */
export function timeAgo(iso) {
  if (!iso) return null;
  return h('time', { datetime: iso, title: absolute.format(new Date(iso)) }, ago(iso));
}

/** Re-render every relative time on the page (call once a minute). */
export function refreshTimes(root = document) {
  for (const el of root.querySelectorAll('time[datetime]')) {
    el.textContent = ago(el.getAttribute('datetime'));
  }
}
