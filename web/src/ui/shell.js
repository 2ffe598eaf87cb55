// The page shell: skip link, header (site name, language selector), the main
// landmark the page fills, footer, and the live region. Built by script into
// #app so that every text comes from the catalogs.

import { t } from '../lib/i18n.js';
import { focusElement, h, replaceChildren } from './dom.js';
import { languageSelect } from './language.js';
import { announce, liveRegion } from './live.js';

/**
 * Builds the shell. onLanguageChange(lang) lets the page re-render its
 * content after the language changed. Returns { main, setTitle, refresh }.
 */
export function createShell({ onLanguageChange, homeHref = '/' } = {}) {
  const app = document.getElementById('app') ?? document.body;
  const main = h('main', { id: 'main', class: 'page', tabindex: '-1' });
  const header = h('header', { class: 'site-header' });
  const footer = h('footer', { class: 'site-footer' });
  let pageTitle = '';

  function renderChrome() {
    replaceChildren(
      header,
      h(
        'div',
        { class: 'site-header__inner' },
        h('a', { class: 'site-header__name', href: homeHref }, t('site.name')),
        languageSelect(async (lang) => {
          renderChrome();
          document.title = pageTitle ? t('shell.pageTitle', { page: pageTitle }) : t('site.name');
          await onLanguageChange?.(lang);
          announce(t('shell.languageChanged'));
          focusElement(document.getElementById('language-select'), { scroll: false });
        }),
      ),
    );
    replaceChildren(footer, h('div', { class: 'site-footer__inner' }, h('p', null, t('shell.footer'))));
    skip.textContent = t('shell.skip');
  }

  const skip = h('a', {
    class: 'skip-link',
    href: '#main',
    onclick: (ev) => {
      ev.preventDefault();
      focusElement(main);
    },
  });
  renderChrome();
  replaceChildren(app, skip, header, main, footer, liveRegion());

  return {
    main,
    /** Sets document.title to "<page> – ObserverNet". */
    setTitle(text) {
      pageTitle = text;
      document.title = text ? t('shell.pageTitle', { page: text }) : t('site.name');
    },
    refresh: renderChrome,
  };
}
