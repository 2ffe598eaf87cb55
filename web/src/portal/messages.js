// Messages of lib/recount.js and lib/tree_head.js ({key, params}, beside their English
// `detail` or `reason`) in the page's language. A param is a string, a number (shown with
// Intl in the page's language; `count` only picks the plural form), another message, or a
// list of messages (joined by "; ", " ; " in French). No DOM; unit-tested in
// test/unit/recount_messages.test.mjs.

import { getLanguage, has, t } from '../lib/i18n.js';
import { formatNumber } from './format.js';

const isMessage = (m) => m !== null && typeof m === 'object' && typeof m.key === 'string';
// Between the problems of one check: French sets a space before the semicolon.
const separator = (lang) => (lang === 'fr' ? ' ; ' : '; ');

// The message's text, or null when it (or a message in its params) has no catalog key.
function render(message, lang) {
  if (!isMessage(message) || !has(message.key)) return null;
  const params = {};
  for (const [name, value] of Object.entries(message.params ?? {})) {
    if (Array.isArray(value)) {
      const parts = value.map((v) => (isMessage(v) ? render(v, lang) : String(v)));
      if (parts.includes(null)) return null;
      params[name] = parts.join(separator(lang));
    } else if (isMessage(value)) {
      const text = render(value, lang);
      if (text === null) return null;
      params[name] = text;
    } else if (typeof value === 'number' && name !== 'count') {
      params[name] = formatNumber(value, lang);
    } else {
      params[name] = value;
    }
  }
  return t(message.key, params);
}

/** message in the page's language when the catalogs hold every key it names, else fallback
 *  (the English detail or reason). */
export function messageText(message, fallback = '') {
  return render(message, getLanguage()) ?? fallback;
}
