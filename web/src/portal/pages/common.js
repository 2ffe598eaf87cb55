// Pieces shared by the portal's pages: loading and problem messages, check lines, definition
// lists, and the fetches that several pages make (the whole audit chain, the verified tree head).

import { t, getLanguage } from '../../lib/i18n.js';
import { verifyAuditChain } from '../../lib/audit.js';
import { contestRule } from '../../lib/ballot.js';
import { verifyConsistency, verifyInclusion } from '../../lib/merkle.js';
import { verifyTreeHead } from '../../lib/tree_head.js';
import { h } from '../../ui/dom.js';
import { formatDateTime, formatNumber, formatPercent, shortHex, turnout } from '../format.js';
import { browserStorage, loadHeads, saveHead } from '../heads.js';
import { messageText } from '../messages.js';

export function loading(text = t('portal.loading')) {
  return h('p', { class: 'portal-loading' }, text);
}

// A plain-language sentence for a failed API call (lib/api.js ApiError: status, code, retryAfter).
export function problemText(err) {
  const code = err?.code;
  if (code === 'network_error' || err?.status === 0) return t('portal.problem.network');
  if (code === 'too_many_requests' || err?.status === 429) {
    return err?.retryAfter ? t('portal.problem.tooManyWait', { count: err.retryAfter }) : t('portal.problem.tooMany');
  }
  if (code === 'not_found' || err?.status === 404) return t('portal.problem.notFound');
  if (err?.status >= 500) return t('portal.problem.server');
  return t('portal.problem.other', { status: err?.status ?? '?' });
}

export function problem(err) {
  return h('p', { class: 'portal-problem' }, problemText(err));
}

// A check's outcome: the word (PASS / FAIL / SKIP) is always written, colour only repeats it.
export function outcomeTag(status) {
  const s = status === 'pass' || status === 'fail' || status === 'skip' ? status : 'fail';
  return h('strong', { class: ['tag', 'outcome', `outcome--${s}`] }, t(`portal.outcome.${s}`));
}

// name: the check's name as `observernet verify` prints it, kept in data-check for scripts.
export function checkLine(status, text, extra, name) {
  return h(
    'li',
    { class: ['check', `check--${status}`], dataset: name ? { check: name } : undefined },
    outcomeTag(status), ' ', h('span', { class: 'check__text' }, text), extra ?? null,
  );
}

// The line saying whether the tree head's signature was verified (loadTreeHead's verdict).
export function treeHeadLine({ sth, logKey, verdict }) {
  return verdict.ok
    ? checkLine('pass', t('portal.treeHead.verified', { keyId: shortHex(logKey?.keyId ?? sth.logKeyId) }))
    : checkLine('fail', t('portal.treeHead.notVerified', { reason: messageText(verdict.message, verdict.reason || '?') }));
}

// Whether the board only grew since the newest tree head this browser saw for the election
// (RFC 9162 §2.1.4 consistency proof), then remembers the current one (heads.js, shared with
// the recount). -> {ok, from, to}, or null the first time (or when the proof cannot be had).
export async function checkConsistency(api, electionId, head) {
  const { sth, verdict } = head;
  if (!verdict.ok) return null;
  const earlier = loadHeads(browserStorage(), electionId).at(-1);
  let ok = null;
  if (!earlier) ok = null;
  else if (earlier.treeSize > sth.treeSize) ok = false;
  else if (earlier.treeSize === sth.treeSize) ok = earlier.rootHash === sth.rootHash;
  else if (earlier.treeSize === 0) ok = true;
  else {
    try {
      const body = await api.consistencyProof(electionId, earlier.treeSize, sth.treeSize);
      ok = verifyConsistency({
        first: earlier.treeSize, second: sth.treeSize, firstRoot: earlier.rootHash, secondRoot: sth.rootHash,
        proof: body.proof ?? [],
      });
    } catch {
      return null; // could not ask: say nothing rather than accuse
    }
  }
  if (ok !== false) saveHead(browserStorage(), electionId, sth);
  return ok === null ? null : { ok, from: earlier.treeSize, to: sth.treeSize };
}

export function consistencyLine({ ok, from, to }) {
  const lang = getLanguage();
  const sizes = { from: formatNumber(from, lang), to: formatNumber(to, lang) };
  return ok ? checkLine('pass', t('portal.treeHead.grew', sizes)) : checkLine('fail', t('portal.treeHead.forked', sizes));
}

// A receipt's inclusion proof ({leafIndex, auditPath}) checked against the signed tree head
// (RFC 9162 §2.1.3.2; the receipt is the leaf hash) -> {included, line}.
export function inclusionCheck(receipt, proof, sth) {
  const included = verifyInclusion({
    leafHash: receipt,
    leafIndex: proof.leafIndex,
    treeSize: sth.treeSize,
    auditPath: proof.auditPath ?? [],
    rootHash: sth.rootHash,
  });
  const lang = getLanguage();
  const line = included
    ? checkLine('pass', t('portal.check.included', { leaf: formatNumber(proof.leafIndex, lang), size: formatNumber(sth.treeSize, lang) }))
    : checkLine('fail', t('portal.check.notIncluded'));
  return { included, line };
}

// rows: [[term, value], ...]; value may be a node or text; null rows are skipped.
export function dl(rows, extraClass) {
  return h(
    'dl',
    { class: ['summary-list', extraClass] },
    rows.filter(Boolean).map(([term, value]) =>
      h('div', { class: 'summary-list__row' },
        h('dt', { class: 'summary-list__key' }, term),
        h('dd', { class: 'summary-list__value' }, value))),
  );
}

export function time(iso) {
  return iso ? h('time', { datetime: iso }, formatDateTime(iso, getLanguage())) : t('portal.none');
}

export function code(text, className = 'hex') {
  return h('code', { class: className }, text);
}

export function statusTag(phase) {
  return h('strong', { class: ['tag', 'status-tag', `status-tag--${phase}`] }, t(`portal.phase.${phase}`));
}

// Every audit event, following `next`, then the chain checked (lib/audit.js).
export async function loadAudit(api, electionId) {
  const events = [];
  let from = 1;
  for (let guard = 0; guard < 10000 && from != null; guard++) {
    const page = await api.audit(electionId, from);
    events.push(...(page.events ?? []));
    if (page.next == null || page.next === from) break;
    from = page.next;
  }
  const verdict = await verifyAuditChain(events);
  return { events, verdict };
}

// The newest signed tree head with the log key, checked in the browser (lib/tree_head.js).
export async function loadTreeHead(api, electionId) {
  const [sth, logKey] = await Promise.all([api.treeHead(electionId), api.logKey()]);
  let verdict;
  try {
    verdict = await verifyTreeHead(electionId, sth, logKey);
  } catch (err) {
    verdict = { ok: false, reason: String(err?.message ?? err) };
  }
  return { sth, logKey, verdict };
}

// Settles a promise into {value} or {error}, so one failed fetch does not blank the page.
export async function settle(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

// The titles of contests and options, for showing selections as entered.
export function titlesOf(election) {
  const contests = new Map();
  for (const c of election?.contests ?? []) {
    contests.set(c.id, { title: c.title, options: new Map(c.options.map((o) => [o.id, o.title])) });
  }
  return contests;
}

export function selectionText(titles, s) {
  const c = titles.get(s.contestId);
  return t('portal.ballots.choice', { contest: c?.title ?? s.contestId, option: c?.options.get(s.optionId) ?? s.optionId });
}

export function ruleText(contest) {
  const { min, max } = contestRule(contest);
  if (min === max) return t('portal.rule.exactly', { count: max });
  if (min === 0) return t('portal.rule.upTo', { count: max });
  return t('portal.rule.between', { min, max });
}

// "12 ballots cast of 40 voters (30%)", with a bar that repeats it for the eye (hidden from
// screen readers, which read the sentence).
export function turnoutBlock(election) {
  const lang = getLanguage();
  const tt = turnout(election);
  let text;
  if (tt.registered == null) text = t('portal.turnout.castOnly', { count: tt.cast, cast: formatNumber(tt.cast, lang) });
  else if (tt.ratio == null) text = t('portal.turnout.noVoters');
  else {
    text = t('portal.turnout.of', {
      count: tt.registered,
      cast: formatNumber(tt.cast, lang),
      registered: formatNumber(tt.registered, lang),
      percent: formatPercent(tt.ratio, lang),
    });
  }
  return h(
    'span',
    { class: 'turnout' },
    h('span', null, text),
    tt.ratio == null ? null : h('meter', { class: 'turnout__meter', min: '0', max: '1', value: String(tt.ratio), 'aria-hidden': 'true' }),
  );
}
