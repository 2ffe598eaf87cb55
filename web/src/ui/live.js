// One polite live region per page for status announcements (a step loaded,
// a copy done, a retry under way). Created by the page shell.

import { h } from './dom.js';

let region = null;
let timer = null;

/** The live region element (created once; the shell appends it). */
export function liveRegion() {
  if (!region) region = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  return region;
}

/**
 * Announces text. The region is emptied first and filled a moment later so
 * that the same text said twice is read twice.
 */
export function announce(text) {
  const el = liveRegion();
  if (!el.isConnected) document.body.appendChild(el);
  el.textContent = '';
  clearTimeout(timer);
  timer = setTimeout(() => {
    el.textContent = text;
  }, 50);
}
