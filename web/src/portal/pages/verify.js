// "/verify/{id}": the recount in the browser. A module Worker (verify_worker.js; its hashed
// URL is injected by build.mjs as __VERIFY_WORKER_URL__) runs lib/recount.js: the page shows a
// <progress> bar with text, then one line per check with PASS / FAIL / SKIP, and a verdict.
// The Worker keeps running through a language change; it stops when the visitor leaves.
// ?receipt=<hex> adds the receipt check, ?voterHash=<hex> the voter hash check, ?logKeyId=<hex>
// pins the key that must sign the tree heads (as `observernet verify --receipt --voter-hash
// --log-key-id` do). The tree heads seen are
// remembered in localStorage (heads.js) for the next run's consistency check.

import { getLanguage, has, t } from '../../lib/i18n.js';
import { announce } from '../../ui/live.js';
import { h, replaceChildren } from '../../ui/dom.js';
import { formatNumber, parseReceiptInput } from '../format.js';
import { browserStorage, loadHeads, saveHead } from '../heads.js';
import { messageText } from '../messages.js';
import { paths } from '../router.js';
import { checkLine, outcomeTag, settle } from './common.js';

/* global __VERIFY_WORKER_URL__ */
const WORKER_URL = typeof __VERIFY_WORKER_URL__ === 'string' ? __VERIFY_WORKER_URL__ : '';

export async function renderVerify(ctx) {
  const id = ctx.params.id;
  const s = ctx.state;
  const got = await settle(ctx.memo('election', () => ctx.api.publicElection(id)));
  if (ctx.signal.aborted) return;
  const title = got.value ? t('portal.verify.titleOf', { title: got.value.title }) : t('portal.verify.title');
  ctx.setTitle(title);
  const receipt = parseReceiptInput(ctx.search.get('receipt') ?? '').receipt;
  // 64 hex digits each, as a receipt is.
  const voterHash = parseReceiptInput(ctx.search.get('voterHash') ?? '').receipt;
  const pinned = parseReceiptInput(ctx.search.get('logKeyId') ?? '').receipt;
  const options = { receipt, voterHash, pinnedLogKeyId: pinned };

  const view = {
    progress: h('progress', {
      id: 'recount-progress', class: 'progress', max: '1', value: '0',
      'aria-labelledby': 'recount-progress-label', 'aria-describedby': 'recount-progress-text',
    }),
    progressText: h('p', { class: 'progress__text', id: 'recount-progress-text' }),
    checks: h('div', { class: 'recount-checks' }),
    verdict: h('div', { class: 'recount-verdict' }),
    again: h('button', { type: 'button', class: 'button button--secondary', onclick: () => start(ctx, s, id, options) },
      t('portal.verify.again')),
  };
  s.view = view;

  replaceChildren(
    ctx.main,
    h('h1', null, title),
    h('p', { class: 'lead' }, t('portal.verify.intro')),
    h('ul', { class: 'bullets' },
      ['signatures', 'twice', 'receipts', 'root', 'audit', 'roll', 'recount'].map((k) => h('li', null, t(`portal.verify.what.${k}`)))),
    h('p', null, t('portal.verify.heads')),
    receipt ? h('p', { class: 'break' }, t('portal.verify.withReceipt', { receipt })) : null,
    voterHash ? h('p', { class: 'break' }, t('portal.verify.withVoterHash', { voterHash })) : null,
    pinned ? h('p', { class: 'break' }, t('portal.verify.pinned', { keyId: pinned })) : null,
    got.value ? h('p', null, h('a', { href: paths.election(id) }, t('portal.verify.back', { title: got.value.title }))) : null,
    h('section', { class: 'section', 'aria-labelledby': 'recount-progress-label' },
      h('h2', { id: 'recount-progress-label' }, t('portal.verify.progress')),
      view.progress,
      view.progressText),
    h('section', { class: 'section', 'aria-labelledby': 'recount-checks-heading' },
      h('h2', { id: 'recount-checks-heading' }, t('portal.verify.checks')),
      view.verdict,
      view.checks,
      h('p', null, view.again)),
  );
  ctx.onCleanup(() => stop(s));
  if (got.error && (got.error.status === 404 || got.error.status === 400)) {
    s.status = 'error';
    s.error = { code: 'not_found' };
  } else if (!s.status) {
    start(ctx, s, id, options);
  }
  paint(s);
}

function start(ctx, s, id, { receipt, voterHash, pinnedLogKeyId }) {
  stop(s);
  Object.assign(s, { status: 'running', progress: null, checks: null, error: null, seconds: null });
  if (!WORKER_URL || typeof Worker === 'undefined') {
    s.status = 'error';
    s.error = { code: 'no_worker' };
    paint(s);
    return;
  }
  const worker = new Worker(WORKER_URL, { type: 'module' });
  s.worker = worker;
  const finish = (status, fields) => {
    Object.assign(s, { status }, fields);
    stop(s);
    paint(s);
    announce(s.view?.verdict.textContent ?? '');
  };
  worker.addEventListener('message', (event) => {
    if (s.worker !== worker) return;
    const msg = event.data ?? {};
    if (msg.type === 'progress') {
      const stage = stageOf(msg.phase);
      const changed = stageOf(s.progress?.phase) !== stage;
      s.progress = msg;
      paint(s);
      if (changed) announce(t(`portal.verify.stage.${stage}`));
    } else if (msg.type === 'done') {
      if (msg.keep) saveHead(browserStorage(), id, msg.keep);
      finish('done', { checks: msg.checks, seconds: msg.seconds });
    } else if (msg.type === 'error') {
      finish('error', { error: msg });
    }
  });
  worker.addEventListener('error', (event) => {
    event.preventDefault?.();
    if (s.worker === worker) finish('error', { error: { code: 'worker_failed', detail: event.message ?? '' } });
  });
  worker.postMessage({
    type: 'start',
    electionId: id,
    apiBaseUrl: ctx.apiBaseUrl || location.origin,
    earlierHeads: loadHeads(browserStorage(), id),
    receipt,
    voterHash,
    pinnedLogKeyId,
  });
  paint(s);
}

function stop(s) {
  if (s.worker) {
    s.worker.terminate();
    s.worker = null;
  }
}

// lib/recount.js's phases, in three stages the visitor can follow.
function stageOf(phase) {
  if (phase === 'ballots' || phase === 'signatures') return 'ballots';
  if (phase === 'root') return 'root';
  return 'reading';
}

function progressOf(p) {
  const lang = getLanguage();
  const n = (v) => formatNumber(v ?? 0, lang);
  const stage = stageOf(p.phase);
  const phases = p.phases ?? {};
  if (stage === 'ballots') {
    const total = phases.ballots?.total ?? phases.signatures?.total ?? 0;
    const fetched = phases.ballots?.done ?? 0;
    const signed = phases.signatures?.done ?? 0;
    return {
      max: Math.max(1, 2 * total),
      value: Math.min(fetched + signed, 2 * total),
      text: t('portal.verify.ballotsProgress', { fetched: n(fetched), signed: n(signed), total: n(total), count: total }),
    };
  }
  if (stage === 'root') return { max: 1, value: 1, text: t('portal.verify.stage.root') };
  const events = phases.audit?.done ?? 0;
  const text = events ? t('portal.verify.readingEvents', { count: events, events: n(events) }) : t('portal.verify.stage.reading');
  return { max: null, value: null, text };
}

function checkName(name) {
  const key = `portal.checkName.${String(name).replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '').toLowerCase()}`;
  return has(key) ? t(key) : name;
}

function setBar(bar, max, value) {
  if (max == null) {
    bar.removeAttribute('value'); // indeterminate
    return;
  }
  bar.max = max;
  bar.value = value;
}

function paint(s) {
  const v = s.view;
  if (!v || !v.progress.isConnected) return;
  const lang = getLanguage();
  if (s.status === 'running') {
    const p = s.progress ? progressOf(s.progress) : { max: null, value: null, text: t('portal.verify.starting') };
    setBar(v.progress, p.max, p.value);
    v.progressText.textContent = p.text;
  } else if (s.status === 'done') {
    setBar(v.progress, 1, 1);
    v.progressText.textContent = t('portal.verify.finished', { seconds: formatNumber(Math.round(s.seconds * 10) / 10, lang) });
  } else if (s.status === 'error') {
    setBar(v.progress, 1, 0);
    v.progressText.textContent = t('portal.verify.stopped');
  }
  v.again.disabled = s.status === 'running';

  if (s.status === 'done') {
    const checks = s.checks ?? [];
    const counts = { pass: 0, fail: 0, skip: 0 };
    for (const c of checks) counts[c.status in counts ? c.status : 'fail'] += 1;
    const ok = counts.fail === 0 && checks.length > 0;
    replaceChildren(v.verdict,
      h('p', { class: ['verdict', ok ? 'verdict--pass' : 'verdict--fail'] },
        t('portal.verify.verdictLabel'), ' ', outcomeTag(ok ? 'pass' : 'fail'), ' ',
        t('portal.verify.verdictCounts', { passed: counts.pass, failed: counts.fail, skipped: counts.skip })));
    replaceChildren(v.checks, h('ul', { class: 'checks checks--recount' }, checks.map((c) => {
      // The detail in the page's language, or in English when a key is missing.
      const detail = messageText(c.message, c.detail);
      return checkLine(c.status, checkName(c.name), detail ? h('span', { class: 'check__detail' }, detail) : null, c.name);
    })));
  } else if (s.status === 'error') {
    const code = s.error?.code;
    const text = code === 'not_found' ? t('portal.election.notFound')
      : code === 'no_worker' ? t('portal.verify.noWorker')
        : t('portal.verify.failed', { detail: s.error?.detail || code || '?' });
    replaceChildren(v.verdict, h('p', { class: 'verdict verdict--fail' }, text));
    replaceChildren(v.checks);
  } else {
    replaceChildren(v.verdict, h('p', null, t('portal.verify.running')));
    replaceChildren(v.checks);
  }
}
