// The observer portal: one bundle for /, /elections/{id}, /receipts and /verify/{id}
// (web/README.md). A small router over location.pathname; links between portal pages go
// through history.pushState, then focus moves to the new page's h1 and the title changes.

import portalEn from '../i18n/portal.en.js';
import { createApi } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { loadWebConfig } from '../ui/config.js';
import { focusElement, h, replaceChildren } from '../ui/dom.js';
import { initLanguage } from '../ui/language.js';
import { createShell } from '../ui/shell.js';
import { isPortalPath, matchRoute, paths } from './router.js';
import { renderElection } from './pages/election.js';
import { renderList } from './pages/list.js';
import { renderNotFound } from './pages/not_found.js';
import { renderReceipts } from './pages/receipts.js';
import { renderVerify } from './pages/verify.js';

const PAGES = {
  list: renderList,
  election: renderElection,
  receipts: renderReceipts,
  verify: renderVerify,
  notFound: renderNotFound,
};

const state = {
  shell: null,
  nav: null,
  api: null,
  apiBaseUrl: '',
  visit: null, // the current page visit: {route, key, memo, controller, cleanup}
};

// One visit per page load or navigation. memo(key, fn) keeps what the visit fetched, so a
// language change re-renders the page without fetching it again or losing its place.
function newVisit(route) {
  const memo = new Map();
  return {
    route,
    key: location.pathname + location.search,
    controller: new AbortController(),
    cleanup: null,
    memo(key, fn) {
      if (!memo.has(key)) {
        const promise = fn();
        memo.set(key, promise);
        promise.catch(() => memo.delete(key)); // a failure is asked again next time
      }
      return memo.get(key);
    },
    state: {},
    first: true,
  };
}

function renderNav() {
  const here = matchRoute(location.pathname).name;
  const link = (href, name, key) =>
    h('li', null, h('a', { href, class: 'portal-nav__link', 'aria-current': here === name ? 'page' : null }, t(key)));
  replaceChildren(
    state.nav,
    h('ul', { class: 'portal-nav__list' },
      link(paths.list(), 'list', 'portal.nav.elections'),
      link(paths.receipts(), 'receipts', 'portal.nav.receipts')),
  );
  state.nav.setAttribute('aria-label', t('portal.nav.label'));
}

async function render({ focus }) {
  const visit = state.visit;
  renderNav();
  const ctx = {
    main: state.shell.main,
    api: state.api,
    apiBaseUrl: state.apiBaseUrl,
    params: visit.route,
    search: new URLSearchParams(location.search),
    signal: visit.controller.signal,
    memo: visit.memo,
    state: visit.state,
    setTitle: (text) => state.shell.setTitle(text),
    onCleanup: (fn) => {
      visit.cleanup = fn;
    },
    // Re-renders the page in place (after a state change that the page keeps in ctx.state).
    rerender: () => render({ focus: false }),
  };
  try {
    await PAGES[visit.route.name](ctx);
  } catch (err) {
    if (visit.controller.signal.aborted || state.visit !== visit) return;
    replaceChildren(state.shell.main, h('h1', null, t('portal.error.title')), h('p', null, t('portal.error.body')));
    state.shell.setTitle(t('portal.error.title'));
    console.warn('portal: page failed', err);
  }
  if (state.visit !== visit) return;
  if (focus) focusElement(state.shell.main.querySelector('h1'));
  else if (visit.first && location.hash.length > 1) {
    // A link to a part of a page (/elections/{id}#audit): the part exists only now.
    let id = location.hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch {
      // a malformed escape (#%E0): look the fragment up as it is
    }
    document.getElementById(id)?.scrollIntoView();
  }
  visit.first = false;
}

function startVisit({ focus }) {
  const previous = state.visit;
  if (previous) {
    previous.controller.abort();
    previous.cleanup?.();
  }
  state.visit = newVisit(matchRoute(location.pathname));
  return render({ focus });
}

function navigate(url) {
  history.pushState(null, '', url.pathname + url.search + url.hash);
  window.scrollTo(0, 0);
  startVisit({ focus: true });
}

// Same-origin links to portal pages are followed without a page load; anything else (the
// booth, the API, a new tab, a modified click) is left to the browser.
function onClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (!isPortalPath(url, location.origin)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page link
  event.preventDefault();
  navigate(url);
}

async function start() {
  const [, config] = await Promise.all([
    initLanguage({
      en: [portalEn],
      loaders: { fr: () => import('../i18n/portal.fr.js'), de: () => import('../i18n/portal.de.js') },
    }),
    loadWebConfig(),
  ]);
  state.apiBaseUrl = config.apiBaseUrl;
  state.api = createApi(config.apiBaseUrl);
  state.shell = createShell({ onLanguageChange: () => render({ focus: false }) });
  state.nav = h('nav', { class: 'portal-nav' });
  state.shell.main.before(state.nav);
  document.addEventListener('click', onClick);
  // A fragment link inside the page also fires popstate: only a new path is a new page.
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== state.visit?.key) startVisit({ focus: true });
  });
  await startVisit({ focus: false });
}

start();
