import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  electionPhase, groupElections, turnout, closesInFuture, formatDateTime, formatPercent, shortHex,
  auditSummary, parseReceiptInput, pageOf, pageCount,
} from '../../src/portal/format.js';

const R = 'ab'.repeat(32);

test('phases: open, closed, anything else scheduled', () => {
  assert.equal(electionPhase({ status: 'open' }), 'open');
  assert.equal(electionPhase({ status: 'closed' }), 'closed');
  assert.equal(electionPhase({ status: 'draft' }), 'scheduled');
});

test('groups: open closing soonest first, then scheduled, then closed most recent first', () => {
  const e = (id, status, closesAt, opensAt) => ({ id, status, closesAt, opensAt });
  const groups = groupElections([
    e('c-old', 'closed', '2025-01-01T00:00:00Z'), e('o-none', 'open', null), e('o-late', 'open', '2027-01-01T00:00:00Z'),
    e('c-new', 'closed', '2026-01-01T00:00:00Z'), e('o-soon', 'open', '2026-06-01T00:00:00Z'), e('s', 'draft', null, '2026-09-01T00:00:00Z'),
  ]);
  assert.deepEqual([...groups.keys()], ['open', 'scheduled', 'closed']);
  assert.deepEqual(groups.get('open').map((x) => x.id), ['o-soon', 'o-late', 'o-none']);
  assert.deepEqual(groups.get('scheduled').map((x) => x.id), ['s']);
  assert.deepEqual(groups.get('closed').map((x) => x.id), ['c-new', 'c-old']);
  assert.deepEqual(groupElections([]).get('open'), []);
});

test('turnout is ballots cast of voters registered, capped at 100 %', () => {
  assert.deepEqual(turnout({ ballotsCast: 25, votersRegistered: 100 }), { cast: 25, registered: 100, ratio: 0.25 });
  assert.deepEqual(turnout({ ballotsCast: 3 }), { cast: 3, registered: null, ratio: null });
  assert.deepEqual(turnout({ ballotsCast: 0, votersRegistered: 0 }), { cast: 0, registered: 0, ratio: null });
  assert.equal(turnout({ ballotsCast: 5, votersRegistered: 4 }).ratio, 1);
});

test('closing time in the future', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(closesInFuture({ closesAt: '2026-01-02T00:00:00Z' }, now), true);
  assert.equal(closesInFuture({ closesAt: '2025-12-31T00:00:00Z' }, now), false);
  assert.equal(closesInFuture({ closesAt: null }, now), false);
});

test('dates and percentages follow the language', () => {
  const iso = '2026-03-05T14:30:00.000Z';
  assert.notEqual(formatDateTime(iso, 'en'), formatDateTime(iso, 'de'));
  assert.equal(formatDateTime('not a date', 'en'), '');
  assert.equal(formatPercent(0.256, 'en'), '25.6%');
  assert.match(formatPercent(0.256, 'de'), /^25,6\s?%$/);
  assert.match(formatPercent(0.256, 'fr'), /^25,6\s?%$/);
});

test('shortHex keeps both ends', () => {
  assert.equal(shortHex(R), 'abababab…abababab');
  assert.equal(shortHex('abc'), 'abc');
});

test('audit summaries name catalog keys with the payload facts', () => {
  const created = auditSummary({ type: 'election.created', payload: { title: 'Board', contests: [{}, {}], closesAt: '2026-01-01T00:00:00Z', resultsVisibility: 'live', tokenKey: { keyId: R, modulusBits: 2048 } } });
  assert.deepEqual(created.map((l) => l.key), ['portal.audit.definition', 'portal.audit.closesAt', 'portal.audit.visibility.live', 'portal.audit.tokenKey']);
  assert.deepEqual(created[0].params, { title: 'Board', count: 2 });
  assert.deepEqual(auditSummary({ type: 'voters.imported', payload: { registered: 10, duplicates: 1, votersRegistered: 30 } }),
    [{ key: 'portal.audit.votersImported', params: { registered: 10, duplicates: 1, total: 30, count: 10 } }]);
  assert.equal(auditSummary({ type: 'election.opened', payload: { trigger: 'schedule', votersRegistered: 3 } })[0].key, 'portal.audit.bySchedule');
  assert.equal(auditSummary({ type: 'election.closed', payload: { trigger: 'admin' } })[0].key, 'portal.audit.byAdmin');
  assert.deepEqual(auditSummary({ type: 'tree_head.published', payload: { treeSize: 7, rootHash: R } })[0].params, { size: 7, root: R, count: 7 });
  assert.deepEqual(auditSummary({ type: 'something.new', payload: { a: 1, b: 2 } }), [{ key: 'portal.audit.other', params: { fields: 2, count: 2 } }]);
  assert.equal(auditSummary({ type: 'results.published' })[0].params.ballots, 0);
});

test('receipt input: hex, the booth file, and the errors', () => {
  assert.deepEqual(parseReceiptInput(`  ${R.toUpperCase()}\n`), { receipt: R });
  assert.deepEqual(parseReceiptInput(`${R.slice(0, 32)} ${R.slice(32)}`), { receipt: R });
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
  assert.deepEqual(parseReceiptInput(JSON.stringify({ electionId: id, receipt: R, acceptedAt: 'x' })), { receipt: R, electionId: id });
  assert.deepEqual(parseReceiptInput(''), { error: 'empty' });
  assert.deepEqual(parseReceiptInput('xyz'), { error: 'not_hex' });
  assert.deepEqual(parseReceiptInput(R.slice(1)), { error: 'not_hex' });
  assert.deepEqual(parseReceiptInput('{"receipt": 5}'), { error: 'bad_file' });
  assert.deepEqual(parseReceiptInput('{nope'), { error: 'bad_file' });
});

test('ballot browser pages', () => {
  assert.equal(pageOf(0, 20), 0);
  assert.equal(pageOf(20, 20), 1);
  assert.equal(pageCount(0, 20), 1);
  assert.equal(pageCount(41, 20), 3);
});
