import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GENESIS_HASH, announcedTokenKeyId, auditEventHash, auditFacts, readAuditEvents, verifyAuditChain,
} from '../../src/lib/audit.js';

async function chainOf(specs) {
  const events = [];
  let prevHash = GENESIS_HASH;
  for (const [i, [type, payload, at]] of specs.entries()) {
    const event = { seq: i + 1, type, payload, at, prevHash };
    event.hash = await auditEventHash(event);
    events.push(event);
    prevHash = event.hash;
  }
  return events;
}

// tests/unit/audit_test.cpp's chain, whose hashes were computed with openssl over the
// exact preimage (32 raw bytes of prevHash, then the JCS body).
const CPP_CHAIN = [
  ['election.created', { name: 'Board election', seats: 3 }, '2024-05-01T12:00:00.000Z'],
  ['election.opened', {}, '2024-05-01T12:00:01.500Z'],
  ['ballot.cast', { leaf: 'ab12', index: 0 }, '2024-05-01T12:03:00.250Z'],
];

test('hashes match the values computed outside this code base', async () => {
  const chain = await chainOf(CPP_CHAIN);
  assert.equal(chain[0].hash, '65edceb15e10a31038f63d34c1d0e96c6784d36d57d35be3e1d4a0e585c8f77f');
  assert.equal(chain[1].hash, 'dc063231919052b6675f2055933c530281ce8b418c6aa8efaa57b0ad79b18994');
  const result = await verifyAuditChain(chain);
  assert.equal(result.ok, true);
  assert.equal(result.checked, 3);
  assert.deepEqual(await verifyAuditChain([]), { ok: true, checked: 0, facts: auditFacts([]) });
});

test('tampering with any field of any event is found at that event', async () => {
  const chain = await chainOf(CPP_CHAIN);
  const changes = {
    seq: (e) => ({ ...e, seq: e.seq + 10 }), type: (e) => ({ ...e, type: e.type + 'x' }),
    payload: (e) => ({ ...e, payload: { ...e.payload, extra: 1 } }), at: (e) => ({ ...e, at: e.at.replace('12', '13') }),
    prevHash: (e) => ({ ...e, prevHash: 'f' + e.prevHash.slice(1) }), hash: (e) => ({ ...e, hash: 'f' + e.hash.slice(1) }),
  };
  for (let i = 0; i < chain.length; i++) {
    for (const [field, change] of Object.entries(changes)) {
      const tampered = chain.map((e, j) => (j === i ? change(e) : e));
      const result = await verifyAuditChain(tampered);
      // A changed hash is only visible at the event, or (the last) nowhere else.
      assert.equal(result.ok, false, `${field} of ${i + 1}`);
      assert.equal(result.failedSeq, i + 1, `${field} of ${i + 1}`);
      assert.equal(result.checked, i);
      assert.ok(result.reason);
    }
  }
});

test('reordered, missing or unrepresentable events break the chain', async () => {
  const chain = await chainOf(CPP_CHAIN);
  assert.equal((await verifyAuditChain([chain[0], chain[2], chain[1]])).failedSeq, 2);
  assert.equal((await verifyAuditChain([chain[0], chain[2]])).failedSeq, 2);
  assert.equal((await verifyAuditChain(chain.slice(1))).failedSeq, 1);
  const bad = { ...chain[0], payload: { x: NaN } };
  assert.equal((await verifyAuditChain([bad])).failedSeq, 1);
  const badPrev = { ...chain[0], prevHash: 'zz' };
  assert.equal((await verifyAuditChain([badPrev])).failedSeq, 1);
});

test('facts: token key of the first created, contests of the last created/updated, and the rest', async () => {
  const contestsV1 = [{ id: 'mayor', title: 'Mayor', options: [{ id: 'a', title: 'A' }] }];
  const contestsV2 = [{ id: 'mayor', title: 'Mayor!', options: [{ id: 'a', title: 'A' }] }];
  const head = { electionId: 'e', treeSize: 1 };
  const results = { electionId: 'e', final: true };
  const roll1 = { count: 3, root: 'a'.repeat(64) };
  const roll2 = { count: 5, root: 'b'.repeat(64) };
  const chain = await chainOf([
    ['election.created', { contests: contestsV1, tokenKey: { keyId: 'k1', modulusBits: 2048 } }, 't'],
    ['election.updated', { contests: contestsV2, tokenKey: { keyId: 'k2' } }, 't'],
    ['voters.imported', { registered: 3 }, 't'],
    ['election.opened', { trigger: 'admin', roll: roll1 }, 't'],
    ['voters.imported', { registered: 2, roll: roll2 }, 't'],
    ['election.closed', { trigger: 'schedule', tokensIssued: 4 }, 't'],
    ['tree_head.published', head, 't'],
    ['results.published', results, 't'],
  ]);
  const { facts } = await verifyAuditChain(chain);
  assert.deepEqual(facts, { tokenKeyId: 'k1', contests: contestsV2, opened: true, closed: true,
    tokensIssued: 4, rollCommitments: [roll1, roll2], finalTreeHead: head, publishedResults: results });
  const early = auditFacts(chain.slice(0, 1));
  assert.deepEqual(early, { tokenKeyId: 'k1', contests: contestsV1, opened: false, closed: false, rollCommitments: [] });
});

test('announcedTokenKeyId reads the chain page by page and refuses a broken one', async () => {
  const chain = await chainOf([
    ['election.created', { contests: [], tokenKey: { keyId: 'k1' } }, 't'],
    ['election.opened', {}, 't'], ['election.closed', {}, 't'],
  ]);
  const pages = [];
  const api = { audit: async (id, from, limit) => {
    pages.push([id, from]);
    return { events: structuredClone(chain.slice(from - 1, from - 1 + 2)), next: from + 2 <= chain.length ? from + 2 : null };
  } };
  assert.equal(await announcedTokenKeyId(api, 'e'), 'k1');
  assert.deepEqual(pages, [['e', 1], ['e', 3]]);
  assert.equal((await readAuditEvents(api, 'e')).length, 3);
  chain[1].payload.x = 1;
  await assert.rejects(announcedTokenKeyId(api, 'e'), /breaks at seq 2/);
  const none = await chainOf([['election.created', { contests: [] }, 't']]);
  await assert.rejects(announcedTokenKeyId({ audit: async () => ({ events: none, next: null }) }, 'e'), /announces no token key/);
  await assert.rejects(readAuditEvents({ audit: async () => ({ events: none, next: 1 }) }, 'e'), /does not move/);
});
