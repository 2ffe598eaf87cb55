// "/": every public election, grouped open / scheduled / closed, with its dates and turnout.

import { getLanguage, t } from '../../lib/i18n.js';
import { h, replaceChildren, uid } from '../../ui/dom.js';
import { closesInFuture, electionPhase, formatNumber, groupElections } from '../format.js';
import { paths } from '../router.js';
import { dl, loading, problem, statusTag, time, turnoutBlock } from './common.js';

const PAGE_LIMIT = 100;
const AUTO_PAGES = 20; // pages followed at once; more behind a button

async function fetchPages(api, cursor, pages) {
  const elections = [];
  let next = cursor;
  for (let i = 0; i < pages; i++) {
    const page = await api.publicElections(next, PAGE_LIMIT);
    elections.push(...(page.elections ?? []));
    next = page.nextCursor ?? null;
    if (!next) break;
  }
  return { elections, next };
}

export async function renderList(ctx) {
  const { main } = ctx;
  ctx.setTitle(t('portal.list.title'));
  const heading = h('h1', null, t('portal.list.title'));
  replaceChildren(main, heading, loading());
  const s = ctx.state;
  if (!s.loaded) {
    try {
      const first = await ctx.memo('first', () => fetchPages(ctx.api, null, AUTO_PAGES));
      s.elections = [...first.elections];
      s.next = first.next;
      s.loaded = true;
    } catch (err) {
      if (ctx.signal.aborted) return;
      replaceChildren(main, heading, problem(err));
      return;
    }
  }
  if (ctx.signal.aborted) return;
  paint(ctx, heading);
}

function paint(ctx, heading) {
  const s = ctx.state;
  const lang = getLanguage();
  const groups = groupElections(s.elections);

  const children = [heading, h('p', { class: 'lead' }, t('portal.list.intro'))];
  if (s.elections.length === 0) {
    replaceChildren(ctx.main, ...children, h('p', null, t('portal.list.empty')));
    return;
  }
  children.push(
    h(
      'p',
      { class: 'list-summary' },
      t('portal.list.summary', {
        open: formatNumber(groups.get('open').length, lang),
        closed: formatNumber(groups.get('closed').length, lang),
      }),
    ),
  );
  for (const [g, list] of groups) {
    if (list.length === 0 && g === 'scheduled') continue;
    const id = `group-${g}`;
    children.push(
      h(
        'section',
        { class: 'election-group', 'aria-labelledby': id },
        h('h2', { id }, t(`portal.list.group.${g}`), ' ', h('span', { class: 'count' }, t('portal.list.count', { count: list.length }))),
        list.length === 0 ? h('p', null, t(`portal.list.none.${g}`)) : h('ul', { class: 'election-list' }, list.map((e) => card(e, lang))),
      ),
    );
  }
  if (s.next) {
    const more = h(
      'button',
      {
        type: 'button',
        class: 'button button--secondary',
        onclick: async () => {
          more.disabled = true;
          try {
            const page = await fetchPages(ctx.api, s.next, 1);
            s.elections.push(...page.elections);
            s.next = page.next;
          } catch {
            more.disabled = false;
            return;
          }
          if (!ctx.signal.aborted) paint(ctx, heading);
        },
      },
      t('portal.list.more'),
    );
    children.push(h('p', null, more));
  }
  replaceChildren(ctx.main, ...children);
}

function card(e, lang) {
  const phase = electionPhase(e);
  const titleId = uid('election');
  const closing = e.closesAt
    ? [phase === 'open' && closesInFuture(e) ? t('portal.list.closes') : t('portal.list.closingTime'), time(e.closesAt)]
    : [t('portal.list.closingTime'), t(phase === 'closed' ? 'portal.list.noClosing' : 'portal.list.noClosingOpen')];
  return h(
    'li',
    { class: ['election-card', `election-card--${phase}`] },
    h('article', { 'aria-labelledby': titleId },
      h('h3', { class: 'election-card__title', id: titleId }, h('a', { href: paths.election(e.id) }, e.title)),
      dl([
        [t('portal.field.status'), statusTag(phase)],
        e.opensAt ? [t('portal.list.opens'), time(e.opensAt)] : null,
        closing,
        [t('portal.field.turnout'), turnoutBlock(e)],
      ]),
      h(
        'ul',
        { class: 'inline-links' },
        phase === 'open' ? h('li', null, h('a', { href: paths.vote(e.id), 'aria-describedby': titleId }, t('portal.link.vote'))) : null,
        h('li', null, h('a', { href: paths.verify(e.id), 'aria-describedby': titleId }, t('portal.link.verify'))),
      ),
    ),
  );
}
