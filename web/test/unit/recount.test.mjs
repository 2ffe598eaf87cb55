import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recount, CHECKS } from '../../src/lib/recount.js';
import { b64urlDecode, b64urlEncode } from '../../src/lib/encoding.js';
import { auditEventHash } from '../../src/lib/audit.js';
import { buildBoard, makeTokenKey, signTokens } from './helpers.mjs';

const N = 50;
const signer = await makeTokenKey();
const tokens = await signTokens(signer, N);
// include/observernet/client/verify.hpp, the k*Check names in verify_election's order.
const ORDER = ['token signatures', 'ballots', 'tree head', 'consistency', 'audit chain', 'roll', 'issued tokens',
  'voter hash', 'recount', 'receipt'];
const HONEST = { 'token signatures': 'pass', ballots: 'pass', 'tree head': 'pass', consistency: 'skip', 'audit chain': 'pass',
  roll: 'pass', 'issued tokens': 'pass', 'voter hash': 'skip', recount: 'pass', receipt: 'skip' };

const byName = (checks) => Object.fromEntries(checks.map((c) => [c.name, c]));
const statuses = (checks) => Object.fromEntries(checks.map((c) => [c.name, c.status]));

test('an honest closed board: every check passes (consistency, voter hash and receipt skipped)', async () => {
  const { api } = await buildBoard({ signer, tokens });
  const phases = new Set();
  const checks = await recount({ api, electionId: '6F0E1C2A-3B4D-4E5F-8A9B-0C1D2E3F4A5B', pageSize: 7,
    onProgress: (p) => phases.add(p.phase) });
  assert.deepEqual(checks.map((c) => c.name), ORDER);
  assert.deepEqual(statuses(checks), HONEST, JSON.stringify(checks, null, 1));
  const c = byName(checks);
  assert.match(c['token signatures'].detail, /^50 ballots, 50 distinct tokens, signed with token key/);
  assert.match(c['tree head'].detail, /^size 50, root .* recomputed from the ballots, the final one on the audit chain/);
  assert.match(c['audit chain'].detail, /^6 events, seq 1 to 6, unbroken/);
  assert.match(c.roll.detail, /^53 voters, as committed on the audit chain \(1 commitment, root [0-9a-f]{16}\.\.\.\)$/);
  assert.equal(c['issued tokens'].detail, '51 voter hashes issued a token, all on the roll, every token the close counted: ' +
    '50 ballots <= 51 issued <= 53 on the roll');
  assert.equal(c['voter hash'].detail, 'no --voter-hash given');
  assert.equal(c.recount.detail, 'recounted 50 ballots: the final results and those on the audit chain match');
  assert.ok(c.consistency.keep && c.consistency.keep.treeSize === 50);
  for (const phase of ['download', 'audit', 'ballots', 'signatures', 'root']) assert.ok(phases.has(phase), phase);
});

test('an open board with live results passes; without them the recount is skipped', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 10), closed: false });
  const open = byName(await recount({ api, electionId: board.electionId }));
  assert.deepEqual(statuses(Object.values(open)), HONEST);
  assert.equal(open['issued tokens'].detail, '11 voter hashes issued a token, all on the roll: 10 ballots <= 11 issued <= 13 on the roll');
  board.results = null;
  const c = byName(await recount({ api, electionId: board.electionId }));
  // One ballot is one ballot, in the sentence and in its translation.
  const single = await buildBoard({ signer, tokens: tokens.slice(0, 1), closed: false });
  const one = byName(await recount({ api: single.api, electionId: single.board.electionId }))['issued tokens'];
  assert.equal(one.detail, '2 voter hashes issued a token, all on the roll: 1 ballot <= 2 issued <= 4 on the roll');
  assert.equal(one.message.params.ballots.key, 'recount.n.ballots');
  assert.equal(c.recount.status, 'skip');
  assert.equal(c.recount.detail, 'the results are not published before the election closes');
});

test('one altered ballot: the ballots check fails naming it, and so do the root and the recount', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.ballots[17].selections = [{ contestId: 'mayor', optionId: 'carol' }];
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c.ballots.status, 'fail');
  assert.match(c.ballots.detail, /^leaf 17: the receipt [0-9a-f]{16}\.\.\. is not the hash of the ballot's leaf, [0-9a-f]{16}\.\.\. \(1 wrong receipt\)$/);
  assert.equal(c['tree head'].status, 'fail');
  assert.match(c['tree head'].detail, /the root of the 50 leaves is/);
  assert.equal(c.recount.status, 'fail');
  assert.equal(c['token signatures'].status, 'pass');
  assert.equal(c['audit chain'].status, 'pass');
});

test('a ballot that breaks the rules is named with the rule it breaks', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.ballots[3].selections = [{ contestId: 'mayor', optionId: 'alice' }, { contestId: 'mayor', optionId: 'bob' }];
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c.ballots.status, 'fail');
  assert.match(c.ballots.detail, /^leaf 3: contests\.mayor: 2 selected; this contest takes 1 \(1 invalid ballot\)/);
  board.ballots[3].selections = 'none';
  assert.match(byName(await recount({ api, electionId: board.electionId })).ballots.detail,
    /^leaf 3: selections: must be an array/);
});

test('a forged signature and a reused token fail the token check, naming the leaves', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  const sig = b64urlDecode(board.ballots[5].token.signature);
  sig[10] ^= 1;
  board.ballots[5].token.signature = b64urlEncode(sig);
  board.ballots[9].token = { ...board.ballots[2].token };
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c['token signatures'].status, 'fail');
  assert.equal(c['token signatures'].detail,
    "leaf 5: the token's signature does not verify (1 bad signature); leaf 9 reuses the token of leaf 2 (1 token used twice)");
});

test('a token key other than the one on the audit chain fails the token check', async () => {
  const other = await makeTokenKey();
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 5) });
  board.tokenKey = { ...board.tokenKey, keyId: other.key.keyId, ...other.body };
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c['token signatures'].status, 'fail');
  assert.match(c['token signatures'].detail, /is not the one announced on the audit chain/);
});

test('one altered audit event: the audit chain check fails at its seq', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.events[2].payload.votersRegistered += 1;
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c['audit chain'].status, 'fail');
  assert.equal(c['audit chain'].detail, 'the chain breaks at seq 3 (of 6 events)');
  assert.equal(c['token signatures'].status, 'pass');
  assert.equal(c.ballots.status, 'pass');
});

test('results that differ from the recount, here or on the chain, fail the recount', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.results.contests[0].totals[1].votes += 1;
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c.recount.status, 'fail');
  assert.match(c.recount.detail, /^the published results differ from the recounted 50 ballots: mayor\/bob is published as/);

  const second = await buildBoard({ signer, tokens });
  const published = second.board.events[5];
  published.payload.ballotsCast = 51;
  published.hash = await auditEventHash(published); // a re-hashed, consistent chain
  const d = byName(await recount({ api: second.api, electionId: second.board.electionId }));
  assert.equal(d['audit chain'].status, 'pass');
  assert.equal(d.recount.status, 'fail');
  assert.equal(d.recount.detail, 'the results on the audit chain differ from the recounted 50 ballots: ballotsCast is 51, recounted 50');
});

test('a tree head with a bad signature, or not the final one, fails the tree head check', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.head = { ...board.head, timestamp: '2026-12-04T18:00:01.000Z' };
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c['tree head'].status, 'fail');
  assert.equal(c['tree head'].detail,
    'the signature does not verify under the log key; it is not the final tree head on the audit chain (timestamp differs)');
  assert.equal(c.consistency.keep, undefined, 'an unsigned head is not kept');
});

test('a missing leaf and an unreachable server fail, each check saying why', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  board.ballots.splice(20, 1);
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.match(c['tree head'].detail, /^leaf 20 is missing: the board lists leaf 21 in its place/);

  const down = Object.fromEntries(Object.keys(api).map((k) => [k, () => Promise.reject(Object.assign(new Error('x'), { status: 0, code: 'network_error', detail: 'Failed to fetch' }))]));
  const checks = await recount({ api: down, electionId: board.electionId });
  assert.deepEqual(checks.map((x) => x.status), ['fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'skip', 'fail', 'skip']);
  assert.equal(byName(checks)['audit chain'].detail, 'audit events from seq 1: Failed to fetch');
  assert.equal(byName(checks).roll.detail, 'cannot compare with the audit chain: audit events from seq 1: Failed to fetch');
  assert.equal(byName(checks)['issued tokens'].detail, 'issued voter hashes: Failed to fetch');
});

test('consistency with earlier heads: same size same root passes, a different root is a fork', async () => {
  const { api, board } = await buildBoard({ signer, tokens });
  const same = { treeSize: 50, rootHash: board.head.rootHash, timestamp: 't' };
  let c = byName(await recount({ api, electionId: board.electionId, earlierHeads: [same] }));
  assert.equal(c.consistency.status, 'pass');
  c = byName(await recount({ api, electionId: board.electionId, earlierHeads: [{ ...same, rootHash: '0'.repeat(64) }] }));
  assert.equal(c.consistency.status, 'fail');
  assert.match(c.consistency.detail, /^fork: /);
  c = byName(await recount({ api, electionId: board.electionId, earlierHeads: [{ ...same, treeSize: 60 }] }));
  assert.match(c.consistency.detail, /^the log shrank/);
});

test('a receipt on the board passes with its inclusion proof; one that is not fails', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 13) });
  for (const i of [0, 6, 12]) {
    const c = byName(await recount({ api, electionId: board.electionId, receipt: board.ballots[i].receipt.toUpperCase() }));
    assert.equal(c.receipt.status, 'pass', c.receipt.detail);
    assert.match(c.receipt.detail, new RegExp(`is leaf ${i} of 13: listed, and its inclusion proof \\(\\d hash(es)?\\) leads to the signed root`));
  }
  const missing = byName(await recount({ api, electionId: board.electionId, receipt: 'ab'.repeat(32) }));
  assert.equal(missing.receipt.status, 'fail');
  assert.match(missing.receipt.detail, /^inclusion proof: HTTP 404 not_found/);
  // A proof that does not lead to the root.
  const honest = api.inclusionProof;
  api.inclusionProof = async (...args) => ({ ...(await honest(...args)), auditPath: ['00'.repeat(32), '11'.repeat(32), '22'.repeat(32), '33'.repeat(32)] });
  const forged = byName(await recount({ api, electionId: board.electionId, receipt: board.ballots[4].receipt }));
  assert.equal(forged.receipt.status, 'fail');
  assert.match(forged.receipt.detail, /does not lead to the tree head's root/);
});

test('results that cannot be read fail the recount, saying why', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 4) });
  api.results = () => Promise.reject(Object.assign(new Error('x'), { status: 500, code: 'internal_error' }));
  assert.equal(byName(await recount({ api, electionId: board.electionId })).recount.detail, 'results: HTTP 500 internal_error');
  board.results = null;
  api.results = () => Promise.reject(Object.assign(new Error('x'), { status: 409, code: 'results_not_available' }));
  // Closed: results must be there.
  assert.equal(byName(await recount({ api, electionId: board.electionId })).recount.status, 'fail');
});

test('an election id that is not a UUID, or a receipt that is not a hash, is refused up front', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 2) });
  await assert.rejects(recount({ api, electionId: 'e1' }), TypeError);
  await assert.rejects(recount({ api, electionId: board.electionId, receipt: 'abc' }), TypeError);
});

assert.equal(CHECKS.recount, 'recount');

// Events re-hashed from `from` on: a chain the server could have written itself.
async function rechain(events, from) {
  for (let i = from; i < events.length; i++) {
    if (i > 0) events[i].prevHash = events[i - 1].hash;
    events[i].hash = await auditEventHash(events[i]);
  }
}

test('the roll and the issued list are read page by page, each roll commitment recomputed', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 10), lateVoters: 4 });
  const c = byName(await recount({ api, electionId: board.electionId, pageSize: 3 }));
  assert.deepEqual(statuses(Object.values(c)), HONEST);
  assert.match(c.roll.detail, /^17 voters, as committed on the audit chain \(2 commitments, root [0-9a-f]{16}\.\.\.\)$/);
  assert.equal(c['issued tokens'].detail, '11 voter hashes issued a token, all on the roll, every token the close counted: ' +
    '10 ballots <= 11 issued <= 17 on the roll');
});

test('an import during the recount is read again, not taken for tampering', async () => {
  // The import lands after the audit chain's read and before the roll's.
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 10), closed: false, lateVoters: 3 });
  const late = board.events.pop();
  const audit = api.audit;
  let landed = false;
  api.audit = async (id, from = 1, limit) => {
    const page = await audit(id, from, limit);
    if (!landed && from === 1) {
      landed = true;
      board.events.push(late);
    }
    return page;
  };
  const c = byName(await recount({ api, electionId: board.electionId }));
  assert.deepEqual(statuses(Object.values(c)), HONEST, JSON.stringify(c, null, 1));
  assert.match(c.roll.detail, /^16 voters, as committed on the audit chain \(2 commitments, /);
  assert.match(c['audit chain'].detail, /^4 events, seq 1 to 4, unbroken/);

  // A commitment the chain never holds stays caught, however often it is read.
  const { api: api2, board: board2 } = await buildBoard({ signer, tokens: tokens.slice(0, 10), closed: false, lateVoters: 3 });
  board2.events.pop();
  const c2 = byName(await recount({ api: api2, electionId: board2.electionId }));
  assert.equal(c2.roll.status, 'fail');
  assert.match(c2.roll.detail, /names commitment 2, the audit chain holds 1/);
});

test('a roll other than the one committed on the audit chain fails the roll check', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 10), lateVoters: 2 });
  const run = async () => byName(await recount({ api, electionId: board.electionId }));
  const honest = structuredClone(board.roll);

  // An entry changed (the last of commitment 1, so that the order holds).
  board.roll[12] = { ...board.roll[12], voterHash: 'f'.repeat(64) };
  let c = await run();
  assert.equal(c.roll.status, 'fail');
  assert.match(c.roll.detail, /^roll commitment 1 on the audit chain is 13 voters, root [0-9a-f]{16}\.\.\.; the roll served gives 13, root [0-9a-f]{16}\.\.\.$/);

  // A voter of the second import moved into the first.
  board.roll = structuredClone(honest);
  board.roll[13].commitment = 1;
  board.roll.sort((x, y) => x.commitment - y.commitment || (x.voterHash < y.voterHash ? -1 : 1));
  c = await run();
  assert.match(c.roll.detail, /^roll commitment 1 on the audit chain is 13 voters, root [0-9a-f]{16}\.\.\.; the roll served gives 14, root /);

  board.roll = [...structuredClone(honest), { voterHash: 'f'.repeat(64), commitment: 3 }];
  c = await run();
  assert.equal(c.roll.detail, 'roll entry 15 (ffffffffffffffff...) names commitment 3, the audit chain holds 2');

  board.roll = structuredClone(honest);
  [board.roll[0], board.roll[1]] = [board.roll[1], board.roll[0]];
  assert.match((await run()).roll.detail, /^roll entry 1 \([0-9a-f]{16}\.\.\.\) is out of order$/);

  board.roll = structuredClone(honest);
  board.roll.push({ ...board.roll[0], commitment: 2 });
  board.roll.sort((x, y) => x.commitment - y.commitment || (x.voterHash < y.voterHash ? -1 : 1));
  assert.match((await run()).roll.detail, /^roll entry \d+ \([0-9a-f]{16}\.\.\.\) is on the roll twice$/);
  assert.equal(c['audit chain'].status, 'pass');
});

test('a roll commitment missing from the audit chain, or malformed there, fails the roll check', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 4) });
  const opened = board.events[2];
  opened.payload.roll.extra = 1;
  await rechain(board.events, 2);
  let c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c['audit chain'].status, 'pass');
  assert.equal(c.roll.detail, 'roll commitment 1 on the audit chain is not {"count", "root"}');
  delete opened.payload.roll;
  await rechain(board.events, 2);
  c = byName(await recount({ api, electionId: board.electionId }));
  assert.equal(c.roll.detail, 'the audit chain holds no roll commitment (election.opened roll)');
});

test('an issued list that does not fit the roll, the ballots or the close fails the issued tokens check', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 10) });
  const run = async () => byName(await recount({ api, electionId: board.electionId }));
  const honest = [...board.issued];
  const stranger = 'f'.repeat(64);

  // An abstainer's hash swapped for one that is not on the roll: as many as the close counted.
  board.issued = [...honest.filter((h) => h !== board.voterHashes[10]), stranger].sort();
  let c = await run();
  assert.equal(c['issued tokens'].status, 'fail');
  assert.equal(c['issued tokens'].detail, 'voter hash ffffffffffffffff... was issued a token but is not on the roll (1 voter hash)');
  assert.equal(c.roll.status, 'pass');

  // More issued than the roll holds: everyone on it, and two strangers.
  board.issued = [...board.roll.map((v) => v.voterHash), 'e'.repeat(64), stranger].sort();
  c = await run();
  assert.equal(c['issued tokens'].detail, 'voter hash eeeeeeeeeeeeeeee... was issued a token but is not on the roll (2 voter hashes); ' +
    '15 tokens issued for a roll of 13 voters; the close counted 11 tokens issued, the list holds 15');

  // Fewer issued than ballots.
  board.issued = honest.slice(0, 8);
  c = await run();
  assert.equal(c['issued tokens'].detail, '10 ballots on the board, but only 8 voter hashes issued a token; ' +
    'the close counted 11 tokens issued, the list holds 8');

  board.issued = [...honest].reverse();
  assert.match((await run())['issued tokens'].detail, /^voter hash 1 of the list is out of order$/);

  // The close counted another number, or none.
  board.issued = honest;
  const closed = board.events[3];
  closed.payload.tokensIssued = 12;
  await rechain(board.events, 3);
  c = await run();
  assert.equal(c['audit chain'].status, 'pass');
  assert.equal(c['issued tokens'].detail, 'the close counted 12 tokens issued, the list holds 11');
  delete closed.payload.tokensIssued;
  await rechain(board.events, 3);
  assert.equal((await run())['issued tokens'].detail, "the audit chain's election.closed holds no tokensIssued");
});

test('a voter hash: issued a token, not issued one, or not on the roll', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 6) });
  const run = async (voterHash) => byName(await recount({ api, electionId: board.electionId, voterHash }))['voter hash'];
  const voted = board.voterHashes[2];
  let c = await run(voted.toUpperCase());
  assert.equal(c.status, 'pass');
  assert.equal(c.detail, `voter hash ${voted.slice(0, 16)}... is on the roll (commitment 1); a token WAS issued in this name: ` +
    'if you did not ask for one, someone else did');
  const stayedHome = board.voterHashes[8];
  c = await run(stayedHome);
  assert.equal(c.status, 'pass');
  assert.equal(c.detail, `voter hash ${stayedHome.slice(0, 16)}... is on the roll (commitment 1); ` +
    'no token was issued in this name (as of the last published set)');
  c = await run('ab'.repeat(32));
  assert.equal(c.status, 'fail');
  assert.equal(c.detail, 'voter hash abababababababab... is not on the roll');
  api.issued = () => Promise.reject(Object.assign(new Error('x'), { status: 503, code: 'unavailable' }));
  c = await run(voted);
  assert.equal(c.status, 'fail');
  assert.equal(c.detail, `voter hash ${voted.slice(0, 16)}... is on the roll (commitment 1); ` +
    'cannot read the issued list: issued voter hashes: HTTP 503 unavailable');
  await assert.rejects(recount({ api, electionId: board.electionId, voterHash: 'abc' }), TypeError);
});

test('a malformed roll or issued list fails the checks that need it, saying where', async () => {
  const { api, board } = await buildBoard({ signer, tokens: tokens.slice(0, 4) });
  const run = async () => byName(await recount({ api, electionId: board.electionId, pageSize: 2, voterHash: board.voterHashes[0] }));
  const roll = structuredClone(board.roll);
  delete board.roll[3].voterHash;
  const cursor = `1.${board.roll[1].voterHash}`;
  let c = await run();
  assert.equal(c.roll.detail, `roll after ${cursor}: voter 3: no "voterHash" in the answer`);
  assert.equal(c['issued tokens'].detail, `cannot compare with the roll: roll after ${cursor}: voter 3: no "voterHash" in the answer`);
  assert.equal(c['voter hash'].detail, `cannot look for it on the roll: roll after ${cursor}: voter 3: no "voterHash" in the answer`);
  board.roll = roll;
  board.roll[0].commitment = '1';
  assert.equal((await run()).roll.detail, 'roll: voter 0: "commitment" is not a non-negative integer');
  board.roll = roll;

  board.issued[0] = board.issued[0].toUpperCase();
  assert.equal((await run())['issued tokens'].detail, 'issued voter hashes: voter hash 0: not 64 lowercase hex digits');
  board.issued[0] = 7;
  assert.equal((await run())['issued tokens'].detail, 'issued voter hashes: voter hash 0: not a string');
  api.issued = () => Promise.resolve({ voterHashes: [], next: 'x' });
  assert.equal((await run())['issued tokens'].detail, 'issued voter hashes: "next" does not move past the voterHashes given');
  api.roll = () => Promise.resolve({ voters: 'all' });
  assert.equal((await run()).roll.detail, 'roll: "voters" is not an array');
});
