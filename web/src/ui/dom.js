// Small DOM helpers. Text always goes in through text nodes (textContent),
// never through innerHTML, so election content and API data cannot inject
// markup. No inline style either (the pages' CSP has style-src 'self'): use
// classes.

const SVG_NS = 'http://www.w3.org/2000/svg';
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate', 'max']);

const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);
// Only ordinary links: a javascript: (or data:, vbscript:) URL from data would run code.
const SAFE_URL = /^(?:[a-z][a-z0-9+.-]*:)?/i;

/** The URL itself, or a TypeError for a scheme other than http(s), blob, mailto. */
export function safeUrl(value) {
  // Browsers drop tabs and newlines inside URLs and leading controls/spaces.
  const text = String(value).replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
  const scheme = SAFE_URL.exec(text)[0].toLowerCase();
  if (scheme && !['http:', 'https:', 'blob:', 'mailto:'].includes(scheme)) {
    throw new TypeError(`unsafe URL scheme: ${scheme}`);
  }
  return text;
}

function apply(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (URL_ATTRIBUTES.has(key)) {
      el.setAttribute(key, safeUrl(value));
      continue;
    }
    if (key === 'text') el.textContent = String(value);
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (PROPERTIES.has(key) && !(el instanceof SVGElement)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * h('button', {type: 'button', class: 'button', onclick: fn}, 'Text', ...)
 * props: attributes (true -> present, false/null -> absent), 'text', 'class'
 * (string or array), 'dataset', on<event> functions or on: {event: fn}, and
 * the properties value/checked/disabled/selected. Children: nodes, strings,
 * numbers, arrays; null/false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts). */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** Removes every child. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replaces el's children with the given ones. */
export function replaceChildren(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let nextId = 0;
/** A page-unique id for label/aria wiring. */
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * Moves focus to el (a heading or container gets tabindex=-1 first) and
 * scrolls it into view.
 */
export function focusElement(el, { scroll = true } = {}) {
  if (!el) return;
  if (!el.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
    el.setAttribute('tabindex', '-1');
  }
  el.focus({ preventScroll: !scroll });
}
