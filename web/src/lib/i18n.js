// Message lookup and language choice. Pure: no DOM (the selector lives in
// ui/language.js), so it runs in Node tests and in a Worker.
//
// Catalogs are plain objects { key: message }. A message is a string with
// {name} placeholders, or a plural object { zero?, one, two?, few?, many?,
// other } chosen with Intl.PluralRules on params.count. English is bundled by
// each page; other languages are loaded lazily through the loaders the page
// registers (dynamic import(), so each language is its own chunk).

export const LANGUAGES = Object.freeze([
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
]);
export const DEFAULT_LANGUAGE = 'en';

const state = {
  lang: DEFAULT_LANGUAGE,
  messages: new Map([[DEFAULT_LANGUAGE, {}]]),
  loaders: new Map(),
};

/** Adds messages to a language's catalog (later keys win). */
export function registerCatalog(lang, ...catalogs) {
  const into = state.messages.get(lang) ?? {};
  for (const c of catalogs) Object.assign(into, c);
  state.messages.set(lang, into);
}

/** Registers a loader: () => Promise<catalog[]> for a lazily loaded language. */
export function registerLoader(lang, loader) {
  state.loaders.set(lang, loader);
}

/** The first supported language in a navigator.languages-like list. */
export function detectLanguage(preferred, supported = LANGUAGES.map((l) => l.code)) {
  for (const tag of preferred ?? []) {
    if (typeof tag !== 'string') continue;
    const lower = tag.toLowerCase();
    if (supported.includes(lower)) return lower;
    const base = lower.split('-')[0];
    if (supported.includes(base)) return base;
  }
  return DEFAULT_LANGUAGE;
}

export function isSupported(lang) {
  return LANGUAGES.some((l) => l.code === lang);
}

export function getLanguage() {
  return state.lang;
}

/**
 * Switches language, loading its catalogs first if needed. Falls back to
 * English when the language is unknown or its catalogs fail to load.
 * Resolves to the language in effect.
 */
export async function setLanguage(lang) {
  if (!isSupported(lang)) lang = DEFAULT_LANGUAGE;
  if (lang !== DEFAULT_LANGUAGE && state.loaders.has(lang)) {
    const loader = state.loaders.get(lang);
    state.loaders.delete(lang);
    try {
      registerCatalog(lang, ...(await loader()));
    } catch {
      state.loaders.set(lang, loader);
      lang = DEFAULT_LANGUAGE;
    }
  }
  state.lang = lang;
  return lang;
}

function lookup(lang, key) {
  return state.messages.get(lang)?.[key];
}

function pluralForm(message, lang, count) {
  if (count === 0 && message.zero !== undefined) return message.zero;
  let category = 'other';
  try {
    category = new Intl.PluralRules(lang).select(count);
  } catch {
    // Unknown locale: 'other' is always present.
  }
  return message[category] ?? message.other;
}

/** Replaces {name} with params.name; unknown placeholders stay as written. */
export function interpolate(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The message for key in the current language, else English, else the key. */
export function t(key, params = {}) {
  let lang = state.lang;
  let message = lookup(lang, key);
  if (message === undefined) {
    lang = DEFAULT_LANGUAGE;
    message = lookup(lang, key);
  }
  if (message === undefined) return key;
  if (typeof message === 'object') message = pluralForm(message, lang, Number(params.count));
  return interpolate(message, params);
}

/** Whether a key exists in the current language or English. */
export function has(key) {
  return lookup(state.lang, key) !== undefined || lookup(DEFAULT_LANGUAGE, key) !== undefined;
}

/** For tests: forget every catalog and loader. */
export function resetI18n() {
  state.lang = DEFAULT_LANGUAGE;
  state.messages = new Map([[DEFAULT_LANGUAGE, {}]]);
  state.loaders = new Map();
}
