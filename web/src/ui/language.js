// Language setup for a page: English bundled, French and German loaded on
// demand; the choice comes from localStorage, else navigator.languages; the
// <html lang> follows it. languageSelect() is the labelled <select> every
// page shows in its header.

import commonEn from '../i18n/common.en.js';
import { LANGUAGES, detectLanguage, getLanguage, registerCatalog, registerLoader, setLanguage, t } from '../lib/i18n.js';
import { h } from './dom.js';

const STORAGE_KEY = 'observernet.language';

const commonLoaders = {
  fr: () => import('../i18n/common.fr.js'),
  de: () => import('../i18n/common.de.js'),
};

function storedLanguage() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled
  }
}

function storeLanguage(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

/**
 * Registers the page's catalogs and picks the language.
 * en: catalogs bundled with the page; loaders: {fr, de} -> import() of the
 * page's own catalog for that language.
 */
export async function initLanguage({ en = [], loaders = {} } = {}) {
  registerCatalog('en', commonEn, ...en);
  for (const code of Object.keys(commonLoaders)) {
    registerLoader(code, async () => {
      const modules = await Promise.all([commonLoaders[code](), loaders[code]?.()].filter(Boolean));
      return modules.map((m) => m.default);
    });
  }
  const lang = await setLanguage(storedLanguage() ?? detectLanguage(navigator.languages));
  document.documentElement.lang = lang;
  return lang;
}

/** Changes the language, remembers it, updates <html lang>. */
export async function changeLanguage(lang) {
  const effective = await setLanguage(lang);
  storeLanguage(effective);
  document.documentElement.lang = effective;
  return effective;
}

/** The labelled language <select>; onChange(lang) runs after the switch. */
export function languageSelect(onChange) {
  const id = 'language-select';
  const select = h(
    'select',
    {
      id,
      name: 'language',
      autocomplete: 'off',
      onchange: async () => {
        const lang = await changeLanguage(select.value);
        onChange?.(lang);
      },
    },
    LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === getLanguage() }, l.name)),
  );
  return h('div', { class: 'language' }, h('label', { for: id, class: 'language__label' }, t('shell.language')), select);
}
