// "/elections/{id}": an election's contests, results (SVG bar charts and tables), its newest
// signed tree head verified here, its audit chain verified here, and the ballot browser with a
// search by receipt whose inclusion proof is verified against that tree head.

import { ballotLeaf, receiptOf } from '../../lib/ballot.js';
import { getLanguage, t } from '../../lib/i18n.js';
import { clearErrorSummary, fieldError, showErrorSummary } from '../../ui/error_summary.js';
import { announce } from '../../ui/live.js';
import { focusElement, h, replaceChildren, uid } from '../../ui/dom.js';
import { barChartLayout, CHART, renderBarChart } from '../chart.js';
import {
  auditSummary, electionPhase, formatDateTime, formatNumber, formatPercent, pageCount, parseReceiptInput, shortHex,
} from '../format.js';
import { paths } from '../router.js';
import {
  checkConsistency, checkLine, code, consistencyLine, dl, inclusionCheck, loadAudit, loading, loadTreeHead, outcomeTag, problem, problemText, ruleText,
  selectionText, settle, statusTag, time, titlesOf, treeHeadLine, turnoutBlock,
} from './common.js';

const BALLOTS_PER_PAGE = 20;

export async function renderElection(ctx) {
  const { main, api } = ctx;
  const id = ctx.params.id;
  replaceChildren(main, h('h1', null, t('portal.election.loading')), loading());
  ctx.setTitle(t('portal.election.loading'));
  const got = await settle(ctx.memo('election', () => api.publicElection(id)));
  if (ctx.signal.aborted) return;
  if (got.error) {
    const notFound = got.error.status === 404 || got.error.status === 400;
    const title = notFound ? t('portal.election.notFoundTitle') : t('portal.error.title');
    ctx.setTitle(title);
    replaceChildren(main, h('h1', null, title), h('p', null, notFound ? t('portal.election.notFound') : problemText(got.error)),
      h('p', null, h('a', { href: paths.list() }, t('portal.election.back'))));
    return;
  }
  const election = got.value;
  ctx.setTitle(election.title);

  const errors = h('div', { class: 'error-summary-slot' });
  const sections = {
    contests: section('contests', t('portal.contests.title')),
    results: section('results', t('portal.results.title')),
    treeHead: section('tree-head', t('portal.treeHead.title')),
    audit: section('audit', t('portal.audit.title')),
    ballots: section('ballots', t('portal.ballots.title')),
  };
  replaceChildren(
    main,
    errors,
    h('h1', null, election.title),
    overview(election),
    contents(sections),
    ...Object.values(sections).map((s) => s.el),
  );

  renderContests(sections.contests, election);
  const treeHead = ctx.memo('treeHead', () => loadTreeHead(api, id));
  await Promise.all([
    fill(ctx, sections.results, () => resultsBody(ctx, election, sections.results)),
    fill(ctx, sections.treeHead, () => treeHeadBody(ctx, id, treeHead)),
    fill(ctx, sections.audit, () => auditBody(ctx, id)),
    fill(ctx, sections.ballots, () => ballotsBody(ctx, election, treeHead, errors)),
  ]);
}

function section(id, title) {
  const headingId = `${id}-heading`;
  const body = h('div', { class: 'section__body' }, loading());
  const el = h('section', { class: 'section', id, 'aria-labelledby': headingId }, h('h2', { id: headingId }, title), body);
  return { id, title, el, body };
}

async function fill(ctx, sec, build) {
  let nodes;
  try {
    nodes = await build();
  } catch (err) {
    nodes = [problem(err)];
  }
  if (ctx.signal.aborted || !sec.el.isConnected) return;
  replaceChildren(sec.body, ...[nodes].flat());
}

function contents(sections) {
  return h(
    'nav',
    { class: 'contents', 'aria-labelledby': 'contents-heading' },
    h('h2', { id: 'contents-heading', class: 'contents__title' }, t('portal.election.contents')),
    h('ul', null, Object.values(sections).map((s) => h('li', null, h('a', { href: `#${s.id}` }, s.title)))),
  );
}

function overview(election) {
  const phase = electionPhase(election);
  return h(
    'div',
    { class: 'overview' },
    election.description ? h('p', { class: 'election-description' }, election.description) : null,
    dl([
      [t('portal.field.status'), statusTag(phase)],
      [t('portal.list.opens'), election.opensAt ? time(election.opensAt) : t('portal.none')],
      [t('portal.list.closingTime'), election.closesAt
        ? time(election.closesAt)
        : t(phase === 'closed' ? 'portal.list.noClosing' : 'portal.list.noClosingOpen')],
      [t('portal.field.visibility'), t(election.resultsVisibility === 'live' ? 'portal.visibility.live' : 'portal.visibility.afterClose')],
      [t('portal.field.turnout'), turnoutBlock(election)],
      [t('portal.field.id'), code(election.id, 'hex hex--short')],
    ]),
    h(
      'ul',
      { class: 'inline-links inline-links--actions' },
      phase === 'open' ? h('li', null, h('a', { href: paths.vote(election.id), class: 'button' }, t('portal.link.vote'))) : null,
      h('li', null, h('a', { href: paths.verify(election.id), class: 'button button--secondary' }, t('portal.link.verify'))),
      h('li', null, h('a', { href: paths.receipts() }, t('portal.nav.receipts'))),
    ),
  );
}

function renderContests(sec, election) {
  replaceChildren(
    sec.body,
    election.contests.map((c) =>
      h(
        'div',
        { class: 'contest' },
        h('h3', null, c.title),
        h('p', { class: 'hint' }, ruleText(c)),
        h('ul', { class: 'contest__options' }, c.options.map((o) => h('li', null, o.title))),
      ),
    ),
  );
}

// ---- Results ---------------------------------------------------------------------------

async function resultsBody(ctx, election, sec) {
  const notYet = () => [h('p', null, election.closesAt
    ? t('portal.results.notYetAt', { time: formatDateTime(election.closesAt, getLanguage()) })
    : t('portal.results.notYet'))];
  // The API answers 409 results_not_available before the close unless results are live:
  // no need to ask (and log an error in the console).
  if (election.status !== 'closed' && election.resultsVisibility !== 'live') return notYet();
  const version = ctx.state.resultsVersion ?? 0;
  const got = await settle(ctx.memo(`results:${version}`, () => ctx.api.results(election.id)));
  if (got.error) {
    if (got.error.status === 409 || got.error.code === 'results_not_available') return notYet();
    throw got.error;
  }
  const results = got.value;
  const lang = getLanguage();
  const byContest = new Map((results.contests ?? []).map((c) => [c.contestId, c]));
  const intro = results.final
    ? t('portal.results.final', { count: results.ballotsCast, ballots: formatNumber(results.ballotsCast ?? 0, lang) })
    : t('portal.results.live', { count: results.ballotsCast, ballots: formatNumber(results.ballotsCast ?? 0, lang) });
  // Live results change while the election is open: they can be fetched again in place.
  const refresh = results.final ? null : h('p', null, h('button', {
    type: 'button',
    class: 'button button--secondary',
    onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      ctx.state.resultsVersion = version + 1;
      await fill(ctx, sec, () => resultsBody(ctx, election, sec));
      announce(t('portal.results.refreshed'));
      sec.el.querySelector('button')?.focus();
    },
  }, t('portal.results.refresh')));
  return [
    h('p', null, intro),
    refresh,
    election.contests.map((contest) => contestResult(contest, byContest.get(contest.id), lang)),
  ];
}

// The chart is drawn at the width it will have (one SVG unit per CSS pixel), so its text
// keeps its size from a phone to a desktop; CSS scales it down if the window shrinks later.
function chartWidth() {
  const viewport = document.documentElement.clientWidth || CHART.width;
  return Math.max(280, Math.min(CHART.width, viewport - 32));
}

function contestResult(contest, result, lang) {
  const layout = barChartLayout(contest, result, { ...CHART, width: chartWidth() });
  const idBase = uid('chart');
  const value = (row) => t('portal.results.barValue', { votes: formatNumber(row.votes, lang), percent: formatPercent(row.ratio, lang) });
  const desc = layout.rows
    .map((r) => t('portal.results.rowDesc', {
      option: r.title, votes: formatNumber(r.votes, lang), count: r.votes, percent: formatPercent(r.ratio, lang),
    }))
    .join('; ');
  const chart = renderBarChart(document, layout, {
    title: t('portal.results.chartTitle', { contest: contest.title }),
    desc,
    value,
  }, idBase);
  const ballots = result?.ballots ?? 0;
  return h(
    'div',
    { class: 'contest-result' },
    h('h3', null, contest.title),
    h('p', { class: 'hint' }, t('portal.results.contestBallots', { count: ballots, ballots: formatNumber(ballots, lang) })),
    h('figure', { class: 'chart' }, chart),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table table--numbers' },
        h('caption', null, t('portal.results.caption', { contest: contest.title })),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('portal.results.option')),
          h('th', { scope: 'col', class: 'num' }, t('portal.results.votes')),
          h('th', { scope: 'col', class: 'num' }, t('portal.results.share')))),
        h('tbody', null, layout.rows.map((r) => h('tr', null,
          h('th', { scope: 'row' }, r.title),
          h('td', { class: 'num' }, formatNumber(r.votes, lang)),
          h('td', { class: 'num' }, formatPercent(r.ratio, lang))))),
      ),
    ),
  );
}

// ---- Signed tree head ------------------------------------------------------------------

async function treeHeadBody(ctx, id, treeHeadPromise) {
  const head = await treeHeadPromise;
  const { sth } = head;
  const grew = await ctx.memo('consistency', () => checkConsistency(ctx.api, id, head));
  const lang = getLanguage();
  return [
    h('p', null, t('portal.treeHead.intro')),
    h('ul', { class: 'checks' }, treeHeadLine(head), grew ? consistencyLine(grew) : null),
    dl([
      [t('portal.treeHead.size'), t('portal.treeHead.sizeValue', { count: sth.treeSize, size: formatNumber(sth.treeSize, lang) })],
      [t('portal.treeHead.root'), code(sth.rootHash)],
      [t('portal.treeHead.time'), time(sth.timestamp)],
      [t('portal.treeHead.key'), code(sth.logKeyId)],
      [t('portal.treeHead.signature'), code(sth.signature, 'hex hex--sig')],
    ]),
  ];
}

// ---- Audit chain -----------------------------------------------------------------------

async function auditBody(ctx, id) {
  const { events, verdict } = await ctx.memo('audit', () => loadAudit(ctx.api, id));
  const lang = getLanguage();
  const status = verdict.ok
    ? checkLine('pass', t('portal.audit.verified', { count: events.length, events: formatNumber(events.length, lang) }))
    : checkLine('fail', t('portal.audit.broken', { seq: verdict.failedSeq ?? '?', reason: verdict.reason ?? '' }));
  return [
    h('p', null, t('portal.audit.intro')),
    h('ul', { class: 'checks' }, status),
    h('ol', { class: 'audit-list', 'aria-label': t('portal.audit.listLabel') }, events.map((e) => auditItem(e, verdict, lang))),
  ];
}

const KNOWN_TYPES = new Set([
  'election.created', 'election.updated', 'voters.imported', 'election.opened', 'election.closed',
  'tree_head.published', 'results.published',
]);

function auditItem(e, verdict, lang) {
  const broken = !verdict.ok && verdict.failedSeq === e.seq;
  const lines = auditSummary(e).map((l) => {
    const params = { ...l.params };
    if (l.time) params.time = formatDateTime(params.time, lang);
    for (const k of ['registered', 'duplicates', 'total', 'size', 'ballots', 'contests', 'bits']) {
      if (typeof params[k] === 'number') params[k] = formatNumber(params[k], lang);
    }
    if (params.root) params.root = shortHex(params.root);
    if (params.keyId) params.keyId = shortHex(params.keyId);
    return h('li', null, t(l.key, params));
  });
  return h(
    'li',
    { class: ['audit-event', broken ? 'audit-event--broken' : null] },
    h('p', { class: 'audit-event__head' },
      h('span', { class: 'audit-event__seq' }, `#${e.seq}`), ' ',
      h('strong', null, KNOWN_TYPES.has(e.type) ? t(`portal.audit.type.${e.type}`) : e.type), ' ',
      h('code', { class: 'audit-event__type' }, e.type), ' ',
      time(e.at)),
    broken ? h('p', { class: 'audit-event__broken' }, outcomeTag('fail'), ' ', t('portal.audit.breaksHere')) : null,
    h('ul', { class: 'audit-event__summary' }, lines),
    h('details', { class: 'audit-event__hashes' },
      h('summary', null, t('portal.audit.hashes')),
      dl([[t('portal.audit.prevHash'), code(e.prevHash)], [t('portal.audit.hash'), code(e.hash)]])),
  );
}

// ---- Ballots ---------------------------------------------------------------------------

async function ballotsBody(ctx, election, treeHeadPromise, errorSlot) {
  const head = await treeHeadPromise;
  const { sth } = head;
  const lang = getLanguage();
  const s = ctx.state;
  s.ballotPage ??= 0;
  const titles = titlesOf(election);
  const total = sth.treeSize;
  const pages = pageCount(total, BALLOTS_PER_PAGE);

  // The search by receipt.
  const inputId = 'receipt-search';
  const hintId = 'receipt-search-hint';
  const errorId = 'receipt-search-error';
  const input = h('input', {
    id: inputId, name: 'receipt', type: 'text', class: 'input input--mono input--hex',
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none',
    'aria-describedby': hintId, value: s.searchInput ?? '',
  });
  const group = h('div', { class: 'field' },
    h('label', { for: inputId, class: 'label' }, t('portal.search.label')),
    h('p', { id: hintId, class: 'hint' }, t('portal.search.hint')),
    input);
  const found = h('div', { class: 'search-result' });
  const form = h(
    'form',
    { class: 'search', novalidate: true, onsubmit: (ev) => { ev.preventDefault(); search(); } },
    group,
    h('button', { type: 'submit', class: 'button' }, t('portal.search.button')),
  );

  function setFieldError(text) {
    document.getElementById(errorId)?.remove();
    group.classList.toggle('field--error', Boolean(text));
    if (text) {
      input.before(fieldError(errorId, text));
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `${hintId} ${errorId}`);
      showErrorSummary(errorSlot, [{ targetId: inputId, text }]);
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', hintId);
      clearErrorSummary(errorSlot);
    }
  }

  async function search() {
    s.searchInput = input.value;
    const parsed = parseReceiptInput(input.value);
    if (parsed.error) {
      replaceChildren(found);
      setFieldError(t(parsed.error === 'empty' ? 'portal.search.errorEmpty' : 'portal.search.errorHex'));
      return;
    }
    setFieldError(null);
    replaceChildren(found, loading(t('portal.search.searching')));
    const nodes = await searchReceipt(ctx, election, head, parsed.receipt, titles, lang);
    replaceChildren(found, ...nodes.filter(Boolean));
    focusElement(found);
  }

  // The page of ballots: only this part is redrawn when the page changes.
  const browser = h('div', { class: 'ballot-browser' });
  async function showPage(page, focusId, otherId) {
    s.ballotPage = page;
    const from = page * BALLOTS_PER_PAGE;
    let table;
    if (total === 0) {
      table = h('p', null, t('portal.ballots.none'));
    } else {
      const got = await settle(ctx.memo(`ballots:${from}`, () => ctx.api.ballots(election.id, from, BALLOTS_PER_PAGE)));
      table = got.error ? problem(got.error) : ballotTable(got.value.ballots ?? [], from, total, titles, lang);
    }
    if (ctx.signal.aborted) return;
    const button = (id, other, target, disabled, label) =>
      h('button', { type: 'button', id, class: 'button button--secondary', disabled, onclick: () => showPage(target, id, other) }, label);
    const pager = total > BALLOTS_PER_PAGE
      ? h('nav', { class: 'pager', 'aria-label': t('portal.ballots.pages') },
        h('p', { class: 'pager__where' },
          t('portal.ballots.pageOf', { page: formatNumber(page + 1, lang), pages: formatNumber(pages, lang) })),
        button('ballots-prev', 'ballots-next', page - 1, page === 0, t('portal.ballots.prev')),
        button('ballots-next', 'ballots-prev', page + 1, page >= pages - 1, t('portal.ballots.next')))
      : null;
    replaceChildren(browser, table, pager);
    if (focusId) {
      // Focus stays on the button pressed (or the other one once it is disabled); the new
      // caption is announced.
      const caption = document.getElementById('ballots-caption');
      if (caption) announce(caption.textContent);
      const pressed = document.getElementById(focusId);
      (pressed && !pressed.disabled ? pressed : document.getElementById(otherId))?.focus();
    }
  }
  await showPage(s.ballotPage);

  return [
    h('p', null, t('portal.ballots.intro', { count: total, size: formatNumber(total, lang) })),
    h('h3', null, t('portal.search.title')),
    form,
    found,
    h('h3', null, t('portal.ballots.browse')),
    browser,
  ];
}

// Two columns, so that a phone shows a whole row: the position, then the receipt with the
// choices under it.
function ballotTable(ballots, from, total, titles, lang) {
  const to = from + ballots.length;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table table--ballots' },
      h('caption', { id: 'ballots-caption' }, t('portal.ballots.caption', {
        from: formatNumber(from + 1, lang), to: formatNumber(to, lang), total: formatNumber(total, lang),
      })),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num' }, t('portal.ballots.leaf')),
        h('th', { scope: 'col' }, t('portal.ballots.receiptAndChoices')))),
      h('tbody', null, ballots.map((b) => h('tr', null,
        h('th', { scope: 'row', class: 'num' }, formatNumber(b.leafIndex, lang)),
        h('td', null, h('code', { class: 'hex ballot__receipt' }, b.receipt), choices(b.selections, titles))))),
    ),
  );
}

function choices(selections, titles) {
  if (!Array.isArray(selections) || selections.length === 0) return h('p', { class: 'choices choices--blank' }, t('portal.ballots.blank'));
  return h('ul', { class: 'choices' }, selections.map((s) => h('li', null, selectionText(titles, s))));
}

// Finds a receipt: its inclusion proof at the verified tree head's size, checked here; then
// the ballot at that leaf, whose receipt must be the hash of its leaf.
async function searchReceipt(ctx, election, head, receipt, titles, lang) {
  const { sth } = head;
  if (sth.treeSize === 0) return [h('p', null, t('portal.search.emptyBoard'))];
  const got = await settle(ctx.api.inclusionProof(election.id, receipt, sth.treeSize));
  if (got.error) {
    if (got.error.status === 404) return [h('p', null, t('portal.search.notFound'))];
    return [problem(got.error)];
  }
  const proof = got.value;
  const lines = [treeHeadLine(head), inclusionCheck(receipt, proof, sth).line];
  let ballotNodes = null;
  const page = await settle(ctx.api.ballots(election.id, proof.leafIndex, 1));
  const ballot = page.value?.ballots?.[0];
  if (ballot && ballot.leafIndex === proof.leafIndex) {
    let same = false;
    try {
      same = receiptOf(ballotLeaf(election.id, ballot.selections, ballot.token)) === receipt;
    } catch {
      same = false;
    }
    lines.push(same ? checkLine('pass', t('portal.check.receiptMatches')) : checkLine('fail', t('portal.check.receiptDiffers')));
    ballotNodes = dl([[t('portal.ballots.choices'), choices(ballot.selections, titles)]]);
  }
  return [
    h('p', null, t('portal.search.found', { leaf: formatNumber(proof.leafIndex, lang) })),
    h('ul', { class: 'checks' }, lines),
    ballotNodes,
    h('p', null, h('a', { href: paths.verify(election.id, receipt) }, t('portal.link.verifyWithReceipt'))),
  ];
}
