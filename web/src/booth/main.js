// The voting booth (/vote/{id}): sign in (link fragment or form), check the
// election's token key against its audit chain, fetch the token early, choose,
// review, cast, then the receipt and its inclusion check. The steps and what
// is saved between them are in flow.js; this file draws them.

import boothEn from '../i18n/booth.en.js';
import { contestRule, selectionErrors } from '../lib/ballot.js';
import { getLanguage, t } from '../lib/i18n.js';
import { loadWebConfig } from '../ui/config.js';
import { clear, focusElement, h, replaceChildren } from '../ui/dom.js';
import { clearErrorSummary, fieldError, showErrorSummary } from '../ui/error_summary.js';
import { initLanguage } from '../ui/language.js';
import { announce } from '../ui/live.js';
import { problemMessage } from '../ui/problem.js';
import { createShell } from '../ui/shell.js';
import { createFlow, loadElection } from './flow.js';
import { electionIdFromPath, readLinkFragment } from './link.js';
import { checkOnBoard, copyText, downloadReceipt, pollReceipt } from './receipt.js';

const model = {
  step: 'loading',
  electionId: '',
  election: null,
  flow: null,
  api: null,
  persistent: true,
  fatal: null, // { text, link }
  voterHash: null, // from the link, shown with the receipt
  signin: { voterId: '', credential: '', errors: [], resume: false },
  selections: new Map(), // contestId -> [optionId]
  chooseErrors: [],
  wait: null, // { key, seconds, retryNow }
  failure: null, // { titleKey, text, retry }
  receipt: null, // { receipt, acceptedAt, status, mismatch }
  check: null, // { state: 'running' | 'ok' | 'fail', text }
  focusContest: null,
};

let shell;

// ---- helpers --------------------------------------------------------------

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(getLanguage(), { dateStyle: 'long', timeStyle: 'short' }).format(date);
}

function ruleText(contest) {
  const { min, max } = contestRule(contest);
  if (max === 0) return t('rule.none');
  if (min === max) return t('rule.exactly', { count: max });
  if (min === 0) return t('rule.upTo', { count: max });
  return t('rule.between', { min, max });
}

function isRadio(contest) {
  const { min, max } = contestRule(contest);
  return min === 1 && max === 1;
}

function contestFieldId(contest) {
  return `contest-${contest.id}`;
}

function errorText(error, contest) {
  const name = contest?.title ?? error.contestId;
  if (error.code === 'too_many') return t('error.too_many', { count: error.max, contest: name });
  if (error.code === 'too_few') {
    return error.min === error.max
      ? t('error.exactly', { count: error.min, contest: name })
      : t('error.too_few', { count: error.min, contest: name });
  }
  return t('error.invalid', { contest: name });
}

function caption() {
  return [
    model.persistent ? null : h('div', { class: 'notice notice--warning' }, h('p', null, t('booth.notPersistent'))),
    model.election ? h('p', { class: 'caption' }, model.election.title) : null,
  ];
}

function heading(text) {
  return h('h1', { tabindex: '-1', class: 'step-heading' }, text);
}

function button(text, onclick, variant = '') {
  return h('button', { type: 'button', class: ['button', variant && `button--${variant}`], onclick }, text);
}

// ---- steps ----------------------------------------------------------------

function viewLoading() {
  shell.setTitle(t('booth.title'));
  return [heading(t('booth.title')), h('p', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('booth.loading'))];
}

function viewFatal() {
  shell.setTitle(t('fatal.title'));
  const { texts, link } = model.fatal;
  return [
    caption(),
    heading(t('fatal.title')),
    h('div', { class: 'notice notice--error' }, [texts()].flat().filter(Boolean).map((p) => h('p', null, p))),
    link ? h('p', null, h('a', { href: link }, t('fatal.electionPage'))) : null,
  ];
}

function viewSignin() {
  shell.setTitle(t('signin.title'));
  const s = model.signin;
  const errorFor = (field) => s.errors.find((e) => e.field === field);
  const summary = h('div', { class: 'error-summary-slot' });
  const field = (name, label, extra, hint) => {
    const id = `signin-${name}`;
    const err = errorFor(name);
    const describedBy = [hint && `${id}-hint`, err && `${id}-error`].filter(Boolean).join(' ') || null;
    return h(
      'div',
      { class: ['field', err && 'field--error'] },
      h('label', { for: id }, label),
      hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null,
      err ? fieldError(`${id}-error`, err.text()) : null,
      h('input', {
        id,
        name,
        type: 'text',
        class: ['input', name === 'credential' && 'input--mono'],
        value: s[name === 'voterId' ? 'voterId' : 'credential'],
        'aria-describedby': describedBy,
        'aria-invalid': err ? 'true' : null,
        oninput: (ev) => {
          s[name] = ev.target.value;
        },
        ...extra,
      }),
    );
  };
  const form = h(
    'form',
    { novalidate: true, onsubmit: (ev) => (ev.preventDefault(), submitSignin(summary)) },
    field('voterId', t('signin.voterId'), { autocomplete: 'username', spellcheck: 'false', autocapitalize: 'none' }),
    field(
      'credential',
      t('signin.credential'),
      { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', autocorrect: 'off' },
      t('signin.credentialHint'),
    ),
    h('div', { class: 'button-group' }, h('button', { type: 'submit', class: 'button' }, t('signin.submit'))),
  );
  const nodes = [
    summary,
    caption(),
    heading(t('signin.title')),
    h('p', null, s.resume ? t('signin.resume') : t('signin.intro')),
    form,
    h('p', { class: 'hint' }, t('signin.privacy')),
  ];
  if (s.errors.length) queueMicrotask(() => showErrorSummary(summary, s.errors.map((e) => ({ targetId: `signin-${e.field}`, text: e.text() }))));
  return nodes;
}

function viewToken() {
  shell.setTitle(t('token.title'));
  return [caption(), heading(t('token.title')), h('p', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('token.body')), viewWait()];
}

function contestFieldset(contest) {
  const { min } = contestRule(contest);
  const id = contestFieldId(contest);
  const hintId = `${id}-hint`;
  const err = model.chooseErrors.find((e) => e.contestId === contest.id);
  const errId = `${id}-error`;
  const chosen = model.selections.get(contest.id) ?? [];
  const radio = isRadio(contest);
  const options = contest.options.map((option, i) => {
    const inputId = `${id}-${i}`;
    return h(
      'div',
      { class: 'choice' },
      h('input', {
        id: inputId,
        type: radio ? 'radio' : 'checkbox',
        name: id,
        value: option.id,
        checked: chosen.includes(option.id),
        onchange: () => readContest(contest),
      }),
      h('label', { for: inputId }, option.title),
    );
  });
  return h(
    'div',
    { class: ['field', 'contest', err && 'field--error'] },
    h(
      'fieldset',
      { id, 'aria-describedby': [hintId, err && errId].filter(Boolean).join(' ') },
      h('legend', { class: 'contest__title' }, contest.title),
      h('p', { id: hintId, class: 'hint' }, min === 0 && contestRule(contest).max > 0 ? t('rule.withBlank', { rule: ruleText(contest) }) : ruleText(contest)),
      err ? fieldError(errId, errorText(err, contest)) : null,
      h('div', { class: 'choices' }, options),
    ),
  );
}

function readContest(contest) {
  const id = contestFieldId(contest);
  const inputs = document.querySelectorAll(`input[name="${CSS.escape(id)}"]`);
  model.selections.set(
    contest.id,
    [...inputs].filter((i) => i.checked).map((i) => i.value),
  );
}

function viewChoose() {
  const election = model.election;
  shell.setTitle(election.title);
  const summary = h('div', { class: 'error-summary-slot' });
  const nodes = [
    summary,
    model.persistent ? null : h('div', { class: 'notice notice--warning' }, h('p', null, t('booth.notPersistent'))),
    h('p', { class: 'caption' }, t('booth.electionCaption')),
    heading(election.title),
    election.description ? h('p', { class: 'lead election-description' }, election.description) : null,
    h('p', null, t('choose.intro')),
    h(
      'form',
      { novalidate: true, onsubmit: (ev) => (ev.preventDefault(), submitChoices(summary)) },
      election.contests.map(contestFieldset),
      h('div', { class: 'button-group' }, h('button', { type: 'submit', class: 'button' }, t('choose.submit'))),
    ),
  ];
  if (model.chooseErrors.length) {
    queueMicrotask(() =>
      showErrorSummary(
        summary,
        model.chooseErrors.map((e) => ({
          targetId: contestFieldId(election.contests.find((c) => c.id === e.contestId) ?? { id: e.contestId }),
          text: errorText(e, election.contests.find((c) => c.id === e.contestId)),
        })),
      ),
    );
  }
  return nodes;
}

function viewReview() {
  shell.setTitle(t('review.title'));
  const rows = model.election.contests.map((contest) => {
    const chosen = model.selections.get(contest.id) ?? [];
    const titles = contest.options.filter((o) => chosen.includes(o.id)).map((o) => o.title);
    return h(
      'div',
      { class: 'summary-list__row' },
      h('dt', { class: 'summary-list__key' }, contest.title),
      h(
        'dd',
        { class: 'summary-list__value' },
        titles.length === 0
          ? h('span', { class: 'muted' }, t('review.blank'))
          : titles.length === 1
            ? titles[0]
            : h('ul', null, titles.map((title) => h('li', null, title))),
      ),
      h(
        'dd',
        { class: 'summary-list__actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'button button--link',
            onclick: () => {
              model.focusContest = contest.id;
              go('choose');
            },
          },
          t('review.change'),
          h('span', { class: 'visually-hidden' }, ` ${t('review.changeHidden', { contest: contest.title })}`),
        ),
      ),
    );
  });
  return [
    caption(),
    heading(t('review.title')),
    h('p', null, t('review.intro')),
    h('dl', { class: 'summary-list' }, rows),
    h('div', { class: 'button-group' }, button(t('review.cast'), castBallot), button(t('review.back'), () => go('choose'), 'secondary')),
  ];
}

function viewWait() {
  const slot = h('div', { class: 'wait-slot', id: 'wait-slot' });
  if (model.wait) fillWait(slot);
  return slot;
}

function fillWait(slot) {
  const w = model.wait;
  const existing = slot.querySelector('.countdown');
  if (w && existing) {
    // Only the number changes: the "Try again now" button keeps focus.
    existing.textContent = t(w.key, { count: w.seconds });
    slot.retryNow = w.retryNow;
    return;
  }
  clear(slot);
  if (!w) return;
  slot.retryNow = w.retryNow;
  slot.appendChild(
    h(
      'div',
      { class: 'notice notice--warning' },
      h('p', { class: 'countdown' }, t(w.key, { count: w.seconds })),
      h('p', null, button(t('cast.retryNow'), () => slot.retryNow?.(), 'secondary')),
    ),
  );
}

function viewCasting() {
  shell.setTitle(t('cast.title'));
  return [
    caption(),
    heading(t('cast.title')),
    h('p', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('cast.body')),
    h('p', { class: 'hint' }, t('cast.saved')),
    viewWait(),
  ];
}

function viewFailure() {
  const f = model.failure;
  shell.setTitle(t(f.titleKey));
  return [
    caption(),
    heading(t(f.titleKey)),
    h('div', { class: 'notice notice--error' }, h('p', null, f.text())),
    f.retry ? h('div', { class: 'button-group' }, button(t('common.retry'), f.retry)) : null,
  ];
}

// The status, and while it waits, by when its group is due (an upper bound; null: the close).
function statusTag(status, dueBy) {
  if (status === 'sequenced') return h('strong', { class: 'tag tag--success' }, t('receipt.sequenced'));
  return [
    h('strong', { class: 'tag tag--pending' }, t('receipt.pending')),
    dueBy === undefined
      ? null
      : h('p', { class: 'hint', id: 'receipt-due' }, dueBy ? t('receipt.dueBy', { time: formatTime(dueBy) }) : t('receipt.dueAtClose')),
  ];
}

function viewReceipt() {
  shell.setTitle(t('receipt.title'));
  const r = model.receipt;
  const receiptId = 'receipt-value';
  const checkSlot = h('div', { id: 'check-result', class: 'check-result', 'aria-live': 'polite' });
  if (model.check) fillCheck(checkSlot);
  return [
    caption(),
    h('div', { class: 'panel--success' }, heading(t('receipt.title'))),
    h('p', null, t('receipt.intro')),
    h('h2', { id: 'receipt-label' }, t('receipt.label')),
    // Breaks allowed only between groups of 16 digits (<wbr> adds no text to a copy).
    h('p', { id: receiptId, class: 'receipt mono' }, r.receipt.match(/.{1,16}/g).flatMap((part, i) => (i ? [h('wbr'), part] : [part]))),
    h(
      'div',
      { class: 'button-group' },
      button(t('receipt.copy'), () => copyReceipt(receiptId), 'secondary'),
      button(t('receipt.download'), () => {
        downloadReceipt({ electionId: model.electionId, receipt: r.receipt, acceptedAt: r.acceptedAt });
        announce(t('receipt.downloaded'));
      }, 'secondary'),
    ),
    h(
      'dl',
      { class: 'summary-list' },
      h('div', { class: 'summary-list__row' }, h('dt', { class: 'summary-list__key' }, t('receipt.acceptedAt')), h('dd', { class: 'summary-list__value' }, formatTime(r.acceptedAt))),
      h('div', { class: 'summary-list__row' }, h('dt', { class: 'summary-list__key' }, t('receipt.status')), h('dd', { class: 'summary-list__value', id: 'receipt-status' }, statusTag(r.status, r.dueBy))),
    ),
    h(
      'div',
      { class: 'button-group' },
      h('button', { type: 'button', class: 'button', id: 'check-button', onclick: runCheck, disabled: model.check?.state === 'running' }, t('receipt.check')),
    ),
    checkSlot,
    model.voterHash ? voterHashSection(model.electionId, model.voterHash) : null,
    h(
      'p',
      null,
      h('a', { href: `/receipts?receipt=${encodeURIComponent(r.receipt)}` }, t('receipt.laterLink')),
      ' · ',
      h('a', { href: `/elections/${encodeURIComponent(model.electionId)}` }, t('receipt.electionLink')),
    ),
  ];
}

// The voter's hash from their link: with it they can see on the public issued list
// whether a token was issued in their name (docs/security.md, Issuance transparency).
function voterHashSection(electionId, voterHash) {
  return [
    h('h2', { id: 'voter-hash-label' }, t('receipt.voterHash')),
    h('p', { id: 'voter-hash', class: 'receipt mono', 'aria-labelledby': 'voter-hash-label' },
      voterHash.match(/.{1,16}/g).flatMap((part, i) => (i ? [h('wbr'), part] : [part]))),
    h('p', { class: 'hint' }, t('receipt.voterHashHint')),
    h('p', null, h('a', { href: `/verify/${encodeURIComponent(electionId)}?voterHash=${voterHash}` }, t('receipt.voterHashLink'))),
  ];
}

function fillCheck(slot) {
  clear(slot);
  const c = model.check;
  if (!c) return;
  if (c.state === 'running') {
    slot.appendChild(h('p', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('receipt.checking')));
    return;
  }
  const cls = c.state === 'ok' ? 'notice notice--success' : c.state === 'notyet' ? 'notice notice--warning' : 'notice notice--error';
  slot.appendChild(h('div', { class: cls }, h('p', null, c.text())));
}

const VIEWS = {
  loading: viewLoading,
  fatal: viewFatal,
  signin: viewSignin,
  token: viewToken,
  choose: viewChoose,
  review: viewReview,
  casting: viewCasting,
  failure: viewFailure,
  receipt: viewReceipt,
};

/** Draws the current step. focus: move focus to its heading (a new step). */
function render({ focus = false } = {}) {
  clearErrorSummary(null);
  replaceChildren(shell.main, VIEWS[model.step]());
  if (!focus) return;
  if (model.step === 'choose' && model.focusContest) {
    const fieldset = document.getElementById(contestFieldId({ id: model.focusContest }));
    model.focusContest = null;
    const first = fieldset?.querySelector('input:checked') ?? fieldset?.querySelector('input');
    if (first) {
      fieldset.scrollIntoView({ block: 'start' });
      focusElement(first, { scroll: false });
      return;
    }
  }
  // An error summary takes focus itself; otherwise the new step's heading.
  const needsSummary = (model.step === 'signin' && model.signin.errors.length) || (model.step === 'choose' && model.chooseErrors.length);
  if (!needsSummary) {
    focusElement(shell.main.querySelector('h1'));
    window.scrollTo(0, 0);
  }
}

function go(step) {
  model.step = step;
  render({ focus: true });
}

function setWait(wait) {
  model.wait = wait;
  const slot = document.getElementById('wait-slot');
  if (slot) fillWait(slot);
}

/** texts: a function returning the text or texts, so a language change re-words them. */
function fatal(texts, link = null) {
  model.fatal = { texts, link };
  go('fatal');
}

// ---- actions --------------------------------------------------------------

// A countdown is announced when it starts (and every 30 s of a long one),
// not every second.
const countdown = (key) => ({ seconds, retryNow }) => {
  const starting = !model.wait || model.wait.key !== key || seconds > model.wait.seconds;
  setWait({ key, seconds, retryNow });
  if (starting || seconds % 30 === 0) announce(t(key, { count: seconds }));
};

const waitHandlers = {
  onRetry: countdown('cast.retrying'),
  onWait: countdown('cast.waiting'),
  onResume: () => setWait(null),
};

async function submitSignin(summary) {
  const s = model.signin;
  s.voterId = s.voterId.trim();
  s.credential = s.credential.trim();
  s.errors = [];
  if (!s.voterId) s.errors.push({ field: 'voterId', text: () => t('signin.voterIdMissing') });
  if (!s.credential) s.errors.push({ field: 'credential', text: () => t('signin.credentialMissing') });
  if (s.errors.length) {
    render();
    return;
  }
  clearErrorSummary(summary);
  await obtainToken(s.voterId, s.credential);
}

async function obtainToken(voterId, credential) {
  go('token');
  let failed = null;
  try {
    await model.flow.obtainToken({ voterId, credential, ...waitHandlers });
  } catch (err) {
    failed = err ?? new Error('unknown');
  }
  // Answered: the credential is not needed any more, so it is not kept in memory.
  forgetCredential();
  model.wait = null;
  if (failed) {
    onTokenError(failed);
    return;
  }
  model.signin = { voterId: '', credential: '', errors: [], resume: false };
  go('choose');
}

function forgetCredential() {
  link = null;
  model.signin.credential = '';
}

function onTokenError(err) {
  if (err?.code === 'invalid_credentials') {
    model.signin.errors = [{ field: 'credential', text: () => problemMessage(err) }];
    model.signin.credential = '';
    go('signin');
    return;
  }
  if (err?.code === 'election_not_open' || err?.code === 'not_found') {
    fatal(() => problemMessage(err), `/elections/${encodeURIComponent(model.electionId)}`);
    return;
  }
  if (err?.code === 'token_already_issued') {
    fatal(() => problemMessage(err));
    return;
  }
  if (err?.status === undefined) {
    // Not an API answer: the token did not verify, or a local failure.
    fatal(() => t('fatal.tokenFailed', { reason: err?.message ?? String(err) }));
    return;
  }
  model.failure = {
    titleKey: 'token.failed',
    text: () => problemMessage(err),
    // The credential was dropped: the voter types it again (the same record, the same request).
    retry: () => {
      model.signin.resume = true;
      go('signin');
    },
  };
  go('failure');
}

function submitChoices(summary) {
  for (const contest of model.election.contests) readContest(contest);
  model.chooseErrors = selectionErrors(model.election.contests, model.selections);
  if (model.chooseErrors.length) {
    render();
    return;
  }
  clearErrorSummary(summary);
  go('review');
}

async function castBallot() {
  go('casting');
  let result;
  try {
    result = await model.flow.cast(model.selections, waitHandlers);
  } catch (err) {
    model.wait = null;
    if (err?.code === 'receipt_mismatch') {
      model.failure = { titleKey: 'cast.failed', text: () => t('receipt.mismatch') };
    } else if (err?.code === 'invalid_ballot' || err?.code === 'validation_failed') {
      model.failure = { titleKey: 'cast.failed', text: () => problemMessage(err), retry: () => go('choose') };
    } else if (err?.status === undefined || err?.code === 'token_already_used' || err?.code === 'election_not_open') {
      model.failure = { titleKey: 'cast.failed', text: () => (err?.status === undefined ? (err?.message ?? String(err)) : problemMessage(err)) };
    } else {
      model.failure = { titleKey: 'cast.failed', text: () => problemMessage(err), retry: castBallot };
    }
    go('failure');
    return;
  }
  model.wait = null;
  showReceipt(result);
}

function showReceipt(result) {
  model.selections = new Map();
  model.receipt = { receipt: result.receipt, acceptedAt: result.acceptedAt, status: 'pending' };
  go('receipt');
  pollReceipt(model.api, result.receipt, (status) => {
    if (model.receipt.status === status.status && model.receipt.dueBy === status.dueBy) return;
    model.receipt.status = status.status;
    model.receipt.dueBy = status.dueBy;
    const el = document.getElementById('receipt-status');
    if (el) replaceChildren(el, statusTag(status.status, status.dueBy));
    if (status.status === 'sequenced') announce(t('receipt.sequencedAnnounce'));
  });
}

async function copyReceipt(elementId) {
  const ok = await copyText(model.receipt.receipt);
  if (!ok) {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById(elementId));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  announce(ok ? t('receipt.copied') : t('receipt.copyFailed'));
}

async function runCheck() {
  const slot = document.getElementById('check-result');
  const btn = document.getElementById('check-button');
  model.check = { state: 'running' };
  fillCheck(slot);
  btn.disabled = true;
  const result = await checkOnBoard(model.api, model.electionId, model.receipt.receipt);
  if (result.ok) {
    model.check = {
      state: 'ok',
      text: () => t('receipt.checkOk', { index: result.leafIndex + 1, size: result.treeSize, time: formatTime(result.timestamp) }),
    };
    if (model.receipt.status !== 'sequenced') {
      model.receipt.status = 'sequenced';
      const el = document.getElementById('receipt-status');
      if (el) replaceChildren(el, statusTag('sequenced'));
    }
  } else if (result.notYet) {
    model.check = { state: 'notyet', text: () => t('receipt.checkNotYet') };
  } else {
    const reason = () => (result.error ? problemMessage(result.error) : t(result.reasonKey));
    model.check = { state: 'fail', text: () => t('receipt.checkFailed', { reason: reason() }) };
  }
  const current = document.getElementById('check-result');
  if (current) fillCheck(current);
  const currentBtn = document.getElementById('check-button');
  if (currentBtn) currentBtn.disabled = false;
}

// ---- start ----------------------------------------------------------------

// Take the credential out of the address bar and history at once, before
// anything else runs (it stays in memory only).
let link = readLinkFragment(location.hash); // dropped once the token request is answered
model.voterHash = link?.voterHash ?? null;
if (location.hash) history.replaceState(null, '', location.pathname);

async function start() {
  await initLanguage({ en: [boothEn], loaders: { fr: () => import('../i18n/booth.fr.js'), de: () => import('../i18n/booth.de.js') } });

  shell = createShell({ onLanguageChange: () => render() });
  render({ focus: false });

  model.electionId = electionIdFromPath(location.pathname);
  if (!model.electionId) {
    fatal(() => t('fatal.badLink'));
    return;
  }

  const { apiBaseUrl } = await loadWebConfig();
  let loaded;
  try {
    loaded = await loadElection({ apiBaseUrl, electionId: model.electionId });
  } catch (err) {
    fatal(() => problemMessage(err));
    return;
  }
  model.api = loaded.api;
  model.election = loaded.election;
  const electionPage = `/elections/${encodeURIComponent(model.electionId)}`;
  if (loaded.problem === 'audit') {
    fatal(() => t('fatal.auditBroken', { reason: loaded.reason }));
    return;
  }
  if (loaded.problem === 'key') {
    fatal(() => t('fatal.keyMismatch'));
    return;
  }
  if (loaded.problem === 'contests') {
    fatal(() => t('fatal.auditBroken', { reason: 'the election shown is not the one defined on its audit log' }));
    return;
  }
  if (loaded.election.status !== 'open') {
    // A voter who cast here before still gets their receipt back.
    const earlier = await createFlow({ api: loaded.api, electionId: model.electionId, tokenKey: null })
      .then((flow) => (link ? flow.select(link.voterId, link.credential) : flow.resume()))
      .catch(() => null);
    forgetCredential();
    if (earlier?.step === 'cast') {
      showReceipt(earlier.receipt);
      return;
    }
    const { status, opensAt } = loaded.election;
    fatal(
      () => (status === 'closed' ? [t('fatal.closed')] : [t('fatal.notOpenYet'), opensAt ? t('fatal.opensAt', { time: formatTime(opensAt) }) : null]),
      electionPage,
    );
    return;
  }

  model.flow = await createFlow({ api: loaded.api, electionId: model.electionId, tokenKey: loaded.tokenKey });
  model.persistent = model.flow.persistent;

  const resumed = link ? await model.flow.select(link.voterId, link.credential) : await model.flow.resume();
  if (link) {
    if (resumed.step === 'token_ready' || resumed.step === 'ballot_saved' || resumed.step === 'cast') {
      // Already signed in on this device: no need to ask the server again.
      forgetCredential();
    } else {
      model.signin.voterId = link.voterId;
      model.signin.credential = link.credential;
      await obtainToken(link.voterId, link.credential);
      return;
    }
  }
  continueFrom(resumed);
}

function continueFrom(resumed) {
  switch (resumed.step) {
    case 'cast':
      showReceipt(resumed.receipt);
      return;
    case 'ballot_saved':
      // A ballot was saved but its answer never came: send it again, identical.
      castBallot();
      return;
    case 'token_ready':
      go('choose');
      return;
    case 'token_requested':
      model.signin.resume = true;
      go('signin');
      return;
    default:
      go('signin');
  }
}

start().catch((err) => {
  // A bug: show something rather than a blank page.
  if (!shell) shell = createShell();
  fatal(() => t('fatal.tokenFailed', { reason: err?.message ?? String(err) }));
});
