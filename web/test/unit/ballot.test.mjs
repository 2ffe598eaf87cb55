import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ballotLeaf, compareCodePoints, compareResults, contestRule, receiptOf, selectionErrors, tally, toSelections,
} from '../../src/lib/ballot.js';

const CONTESTS = [
  { id: 'board', title: 'Board', minSelections: 1, maxSelections: 2,
    options: [{ id: 'alice', title: 'Alice' }, { id: 'bob', title: 'Bob' }, { id: 'carol', title: 'Carol' }] },
  { id: 'mayor', title: 'Mayor', options: [{ id: 'bob', title: 'Bob' }, { id: 'dan', title: 'Dan' }] },
  { id: 'survey', title: 'Survey', minSelections: 0, maxSelections: 1, options: [{ id: 'yes', title: 'Yes' }] },
];

test('contestRule: bounds default to 1', () => {
  assert.deepEqual(contestRule(CONTESTS[0]), { min: 1, max: 2 });
  assert.deepEqual(contestRule(CONTESTS[1]), { min: 1, max: 1 });
  assert.deepEqual(contestRule(CONTESTS[2]), { min: 0, max: 1 });
});

test('selectionErrors: a valid ballot has none, as an object or a Map', () => {
  assert.deepEqual(selectionErrors(CONTESTS, { board: ['carol', 'alice'], mayor: ['dan'] }), []);
  assert.deepEqual(selectionErrors(CONTESTS, new Map([['board', ['bob']], ['mayor', ['bob']], ['survey', ['yes']]])), []);
});

test('selectionErrors: each rule gives its code, in contest order', () => {
  assert.deepEqual(selectionErrors(CONTESTS, { board: ['alice', 'bob', 'carol'] }), [
    { contestId: 'board', code: 'too_many', min: 1, max: 2, count: 3 },
    { contestId: 'mayor', code: 'too_few', min: 1, max: 1, count: 0 },
  ]);
  assert.deepEqual(selectionErrors(CONTESTS, { board: ['alice', 'alice'], mayor: ['zed'] }), [
    { contestId: 'board', optionId: 'alice', code: 'duplicate', min: 1, max: 2, count: 2 },
    { contestId: 'mayor', optionId: 'zed', code: 'unknown_option', min: 1, max: 1, count: 1 },
    { contestId: 'mayor', code: 'too_few', min: 1, max: 1, count: 0 },
  ]);
  assert.deepEqual(selectionErrors(CONTESTS, { board: ['bob'], mayor: ['dan'], ghost: ['x'] }), [
    { contestId: 'ghost', optionId: 'x', code: 'unknown_option', min: 0, max: 0, count: 0 },
  ]);
});

test('toSelections sorts by contestId then optionId', () => {
  assert.deepEqual(toSelections({ mayor: ['bob'], board: ['carol', 'alice'] }), [
    { contestId: 'board', optionId: 'alice' }, { contestId: 'board', optionId: 'carol' },
    { contestId: 'mayor', optionId: 'bob' },
  ]);
});

// tests/unit/voter_test.cpp: the leaf and receipt of a fixed ballot (receipt from Python's
// hashlib over 0x00 || leaf).
test('ballotLeaf and receiptOf match the server for a fixed ballot', () => {
  const token = { message: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', signature: 'c2ln-_w' };
  const given = [{ contestId: 'mayor', optionId: 'bob' }, { contestId: 'board', optionId: 'carol' },
    { contestId: 'board', optionId: 'alice' }];
  const leaf = ballotLeaf('6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b', given, token);
  assert.equal(leaf,
    '{"electionId":"6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b","selections":[' +
    '{"contestId":"board","optionId":"alice"},{"contestId":"board","optionId":"carol"},' +
    '{"contestId":"mayor","optionId":"bob"}],' +
    '"token":{"message":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","signature":"c2ln-_w"}}');
  assert.equal(receiptOf(leaf), 'c71b587bc7be22c498347aef362992b2628c0f62e248cb1a6eb8a168ba1eb96c');
  assert.equal(ballotLeaf('e', [], { message: 'm', signature: 's' }),
    '{"electionId":"e","selections":[],"token":{"message":"m","signature":"s"}}');
  // Extra members of a selection never reach the leaf.
  assert.equal(ballotLeaf('e', [{ contestId: 'c', optionId: 'o', note: 1 }], { message: 'm', signature: 's', x: 1 }),
    '{"electionId":"e","selections":[{"contestId":"c","optionId":"o"}],"token":{"message":"m","signature":"s"}}');
});

test('selections sort by code point (UTF-8 byte order), not UTF-16 units', () => {
  assert.equal(compareCodePoints('\u{1F600}', '\uFB33'), 1);
  assert.equal(compareCodePoints('a', 'ab'), -1);
  assert.equal(compareCodePoints('b', 'b'), 0);
});

const BALLOTS = [
  { selections: [{ contestId: 'board', optionId: 'alice' }, { contestId: 'board', optionId: 'bob' }, { contestId: 'mayor', optionId: 'dan' }] },
  { selections: [{ contestId: 'board', optionId: 'alice' }, { contestId: 'mayor', optionId: 'bob' }, { contestId: 'survey', optionId: 'yes' }] },
  { selections: null },
];
const RESULTS = {
  electionId: 'e', status: 'closed', final: true, ballotsCast: 3,
  contests: [
    { contestId: 'board', totals: [{ optionId: 'alice', votes: 2 }, { optionId: 'bob', votes: 1 }, { optionId: 'carol', votes: 0 }], ballots: 2 },
    { contestId: 'mayor', totals: [{ optionId: 'bob', votes: 1 }, { optionId: 'dan', votes: 1 }], ballots: 2 },
    { contestId: 'survey', totals: [{ optionId: 'yes', votes: 1 }], ballots: 1 },
  ],
};

test('tally gives the results route\'s shape; unreadable ballots count as cast only', () => {
  assert.deepEqual(tally(CONTESTS, BALLOTS, { electionId: 'e', status: 'closed' }), RESULTS);
  const open = tally(CONTESTS, [], { electionId: 'e', status: 'open' });
  assert.equal(open.final, false);
  assert.equal(open.ballotsCast, 0);
  assert.equal(open.contests[0].totals[0].votes, 0);
});

test('compareResults: equal whatever the member order; else the first difference, worded as verify.cpp', () => {
  const reordered = JSON.parse(JSON.stringify(RESULTS, ['contests', 'ballots', 'totals', 'votes', 'optionId', 'contestId', 'ballotsCast', 'final', 'status', 'electionId']));
  assert.deepEqual(compareResults(RESULTS, reordered), { ok: true, difference: '' });
  const changed = (f) => { const copy = structuredClone(RESULTS); f(copy); return compareResults(RESULTS, copy); };
  assert.equal(changed((r) => { r.ballotsCast = 4; }).difference, 'ballotsCast is 4, recounted 3');
  assert.equal(changed((r) => { r.final = false; }).difference, 'final is false, recounted true');
  assert.equal(changed((r) => { r.contests[1].totals[1].votes = 7; }).difference,
    'mayor/dan is published as {"optionId":"dan","votes":7}, recounted 1 votes');
  assert.equal(changed((r) => { r.contests[0].ballots = 9; }).difference, 'board has 9 ballots, recounted 2');
  assert.equal(changed((r) => { r.contests.pop(); }).difference, 'they list other contests');
  assert.equal(changed((r) => { r.contests[2].contestId = 'x'; }).difference, 'contest 2 is not survey');
  assert.equal(changed((r) => { r.contests[2].totals.push({}); }).difference, 'survey lists other options');
  assert.equal(changed((r) => { r.extra = 1; }).difference, 'they differ in a member the recount does not have');
  assert.equal(compareResults(RESULTS, null).difference, 'they are not a JSON object');
});
