// Contest rules, the ballot's leaf and receipt, and the tally: the booth's and the
// recount's view of src/domain/ballot.cpp (parse_selections, ballot_leaf, results_to_json).

import { canonicalize } from './jcs.js';
import { hexEncode, utf8Encode } from './encoding.js';
import { leafHash } from './merkle.js';

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Contests as the server holds them (src/domain/election.cpp parse_contest): bounds
// defaulted, members checked. Throws a one-line reason.
export function normalizeContests(contests) {
  if (!Array.isArray(contests) || contests.length === 0) throw new Error('contests: not a non-empty array');
  const ids = new Set();
  return contests.map((c, i) => {
    const path = `contests[${i}]`;
    if (!isPlainObject(c) || typeof c.id !== 'string' || typeof c.title !== 'string') throw new Error(`${path}: malformed`);
    if (ids.has(c.id)) throw new Error(`${path}: duplicate id`);
    ids.add(c.id);
    const min = c.minSelections ?? 1, max = c.maxSelections ?? 1;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max) {
      throw new Error(`${path}: bad bounds`);
    }
    if (!Array.isArray(c.options) || c.options.length === 0 || max > c.options.length) {
      throw new Error(`${path}.options: malformed`);
    }
    const optionIds = new Set();
    const options = c.options.map((o, j) => {
      if (!isPlainObject(o) || typeof o.id !== 'string' || typeof o.title !== 'string' || optionIds.has(o.id)) {
        throw new Error(`${path}.options[${j}]: malformed`);
      }
      optionIds.add(o.id);
      return { id: o.id, title: o.title };
    });
    return { id: c.id, title: c.title, minSelections: min, maxSelections: max, options };
  });
}

/** A contest's bounds; both default to 1 (docs/api/openapi.yaml, Contest). */
export function contestRule(contest) {
  return { min: contest.minSelections ?? 1, max: contest.maxSelections ?? 1 };
}

function asEntries(selectionsByContest) {
  return selectionsByContest instanceof Map
    ? [...selectionsByContest.entries()]
    : Object.entries(selectionsByContest ?? {});
}

/** What breaks the election's rules, as codes for the UI to word (unknown contests first,
 *  then in contest order):
 *  {contestId, code, min, max, count} with code 'unknown_option' (also an unknown
 *  contest; with optionId), 'duplicate' (with optionId), 'too_many' or 'too_few'.
 *  selectionsByContest maps contestId to a list of optionIds (object or Map). Empty: valid. */
export function selectionErrors(contests, selectionsByContest) {
  const chosen = new Map(asEntries(selectionsByContest));
  const errors = [];
  for (const [contestId, optionIds] of chosen) {
    if (!contests.some((c) => c.id === contestId)) {
      for (const optionId of optionIds ?? []) {
        errors.push({ contestId, optionId, code: 'unknown_option', min: 0, max: 0, count: 0 });
      }
    }
  }
  for (const contest of contests) {
    const { min, max } = contestRule(contest);
    const optionIds = chosen.get(contest.id) ?? [];
    const seen = new Set();
    let count = 0;
    for (const optionId of optionIds) {
      if (!contest.options.some((o) => o.id === optionId)) {
        errors.push({ contestId: contest.id, optionId, code: 'unknown_option', min, max, count: optionIds.length });
      } else if (seen.has(optionId)) {
        errors.push({ contestId: contest.id, optionId, code: 'duplicate', min, max, count: optionIds.length });
      } else {
        seen.add(optionId);
        count++;
      }
    }
    if (count > max) errors.push({ contestId: contest.id, code: 'too_many', min, max, count });
    if (count < min) errors.push({ contestId: contest.id, code: 'too_few', min, max, count });
  }
  return errors;
}

// Orders strings by code point, which is the byte order of their UTF-8 (std::string's
// operator<, which the server sorts with); UTF-16 order differs above U+FFFF.
export function compareCodePoints(a, b) {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0), cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function compareSelections(a, b) {
  return compareCodePoints(a.contestId, b.contestId) || compareCodePoints(a.optionId, b.optionId);
}

/** [{contestId, optionId}] sorted by contestId then optionId, as the leaf holds them. */
export function toSelections(selectionsByContest) {
  const out = [];
  for (const [contestId, optionIds] of asEntries(selectionsByContest)) {
    for (const optionId of optionIds) out.push({ contestId, optionId });
  }
  return out.sort(compareSelections);
}

/** The ballot's Merkle leaf: the RFC 8785 text of {electionId, selections (sorted),
 *  token: {message, signature}} (docs/api/openapi.yaml, /voting/submit). */
export function ballotLeaf(electionId, selections, token) {
  const sorted = selections
    .map(({ contestId, optionId }) => ({ contestId, optionId }))
    .sort(compareSelections);
  return canonicalize({
    electionId,
    selections: sorted,
    token: { message: token.message, signature: token.signature },
  });
}

/** The receipt: hex RFC 9162 leaf hash, SHA-256(0x00 || UTF-8 leaf). */
export function receiptOf(leafString) {
  return hexEncode(leafHash(utf8Encode(leafString)));
}

/** The results as GET /public/elections/{id}/results serves them, from ballots that each
 *  hold `selections` ([{contestId, optionId}], or null for a ballot that could not be
 *  read: it counts in ballotsCast only). `ballots` per contest counts the ballots with at
 *  least one selection in it. meta = {electionId, status: 'open'|'closed'}. */
export function tally(contests, ballots, meta = {}) {
  const votes = new Map(); // contestId -> Map(optionId -> votes)
  const perContest = new Map();
  for (const ballot of ballots) {
    const touched = new Set();
    for (const { contestId, optionId } of ballot.selections ?? []) {
      if (!votes.has(contestId)) votes.set(contestId, new Map());
      const options = votes.get(contestId);
      options.set(optionId, (options.get(optionId) ?? 0) + 1);
      touched.add(contestId);
    }
    for (const contestId of touched) perContest.set(contestId, (perContest.get(contestId) ?? 0) + 1);
  }
  return {
    electionId: meta.electionId,
    status: meta.status,
    final: meta.status === 'closed',
    ballotsCast: ballots.length,
    contests: contests.map((contest) => ({
      contestId: contest.id,
      totals: contest.options.map((option) => ({
        optionId: option.id,
        votes: votes.get(contest.id)?.get(option.id) ?? 0,
      })),
      ballots: perContest.get(contest.id) ?? 0,
    })),
  };
}

const show = (value) => (value === undefined ? 'null' : JSON.stringify(value));

// Structural JSON equality (member order does not matter, array order does).
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** Published results against a recount: {ok, difference} with the first member that
 *  differs, worded as src/client/verify.cpp's first_difference. */
export function compareResults(computed, published) {
  if (jsonEqual(computed, published)) return { ok: true, difference: '' };
  const differ = (difference) => ({ ok: false, difference });
  if (published === null || typeof published !== 'object' || Array.isArray(published)) {
    return differ('they are not a JSON object');
  }
  for (const top of ['electionId', 'status', 'final', 'ballotsCast']) {
    if (!jsonEqual(published[top], computed[top])) {
      return differ(`${top} is ${show(published[top])}, recounted ${show(computed[top])}`);
    }
  }
  const contests = published.contests;
  if (!Array.isArray(contests) || contests.length !== computed.contests.length) {
    return differ('they list other contests');
  }
  for (let i = 0; i < contests.length; i++) {
    const ours = computed.contests[i], theirs = contests[i] ?? {};
    if (theirs.contestId !== ours.contestId) return differ(`contest ${i} is not ${ours.contestId}`);
    if (!jsonEqual(theirs.ballots, ours.ballots)) {
      return differ(`${ours.contestId} has ${show(theirs.ballots)} ballots, recounted ${ours.ballots}`);
    }
    if (!Array.isArray(theirs.totals) || theirs.totals.length !== ours.totals.length) {
      return differ(`${ours.contestId} lists other options`);
    }
    for (let j = 0; j < ours.totals.length; j++) {
      if (!jsonEqual(theirs.totals[j], ours.totals[j])) {
        return differ(`${ours.contestId}/${ours.totals[j].optionId} is published as ` +
                      `${show(theirs.totals[j])}, recounted ${ours.totals[j].votes} votes`);
      }
    }
  }
  return differ('they differ in a member the recount does not have');
}
