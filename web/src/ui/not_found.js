// The 404 page's script: the shell (language selector) and a short text.

import { t } from '../lib/i18n.js';
import { h, replaceChildren } from './dom.js';
import { initLanguage } from './language.js';
import { createShell } from './shell.js';

function render(shell) {
  shell.setTitle(t('notFound.title'));
  replaceChildren(
    shell.main,
    h('h1', null, t('notFound.title')),
    h('p', null, t('notFound.body')),
    h('p', null, h('a', { href: '/' }, t('notFound.home'))),
  );
}

async function start() {
  await initLanguage();
  const shell = createShell({ onLanguageChange: () => render(shell) });
  render(shell);
}

start();
