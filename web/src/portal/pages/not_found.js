// Any path the portal does not know (the server sends 404.html for most of them; this covers
// a mistyped election id under a portal route shape the server let through).

import { t } from '../../lib/i18n.js';
import { h, replaceChildren } from '../../ui/dom.js';
import { paths } from '../router.js';

export function renderNotFound(ctx) {
  ctx.setTitle(t('portal.notFound.title'));
  replaceChildren(ctx.main, h('h1', null, t('portal.notFound.title')), h('p', null, t('portal.notFound.body')),
    h('p', null, h('a', { href: paths.list() }, t('portal.election.back'))));
}
