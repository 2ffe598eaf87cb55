import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogKey, treeHeadMessage, verifyTreeHead } from '../../src/lib/tree_head.js';
import { b64urlEncode, hexEncode, utf8Encode } from '../../src/lib/encoding.js';
import { sha256 } from '../../src/lib/hash.js';

const subtle = globalThis.crypto.subtle;
const ELECTION = '6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';

async function logKeyPair() {
  const pair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const body = { algorithm: 'Ed25519', keyId: hexEncode(await sha256(raw)), publicKey: b64urlEncode(raw) };
  return { pair, body };
}

async function signedHead({ pair, body }, fields = {}) {
  const head = { electionId: ELECTION, treeSize: 42, rootHash: 'ab' + '0'.repeat(62),
    timestamp: '2026-11-26T18:00:00.000Z', logKeyId: body.keyId, ...fields };
  const sig = await subtle.sign({ name: 'Ed25519' }, pair.privateKey, utf8Encode(treeHeadMessage(head.electionId, head)));
  return { ...head, signature: b64urlEncode(new Uint8Array(sig)) };
}

test('the signed text is the JCS of the four members (tests/unit/tree_head_test.cpp)', () => {
  const sth = { electionId: 'e1', treeSize: 42, rootHash: 'ab' + '0'.repeat(62),
    timestamp: '2026-11-26T18:00:00.000Z', signature: 'x', logKeyId: 'y' };
  assert.equal(treeHeadMessage('e1', sth),
    '{"electionId":"e1","rootHash":"ab' + '0'.repeat(62) + '","timestamp":"2026-11-26T18:00:00.000Z","treeSize":42}');
});

test('a head signed by the log key verifies', async () => {
  const key = await logKeyPair();
  assert.deepEqual(await verifyTreeHead(ELECTION, await signedHead(key), key.body), { ok: true, reason: '' });
  assert.equal((await verifyTreeHead(ELECTION, await signedHead(key, { treeSize: 0 }), key.body)).ok, true);
});

test('any change to a signed member, or another election, fails', async () => {
  const key = await logKeyPair();
  const head = await signedHead(key);
  for (const change of [{ treeSize: 43 }, { rootHash: 'ac' + '0'.repeat(62) },
    { timestamp: '2026-11-26T18:00:01.000Z' }]) {
    const result = await verifyTreeHead(ELECTION, { ...head, ...change }, key.body);
    assert.deepEqual(result, { ok: false, reason: 'the signature does not verify under the log key',
      message: { key: 'treeHead.reason.signature', params: {} } }, JSON.stringify(change));
  }
  assert.equal((await verifyTreeHead('another', head, key.body)).reason, 'tree head: for another election');
});

test('malformed members and another log key fail with a reason', async () => {
  const key = await logKeyPair();
  const other = await logKeyPair();
  const head = await signedHead(key);
  const cases = [
    [{ rootHash: 'AB' + '0'.repeat(62) }, /rootHash/], [{ treeSize: -1 }, /treeSize/],
    [{ treeSize: '42' }, /treeSize/], [{ timestamp: 'yesterday' }, /timestamp/],
    [{ signature: 'not base64url!' }, /signature/], [{ signature: head.signature.slice(0, 40) }, /signature/],
    [{ logKeyId: other.body.keyId }, /names log key/],
  ];
  for (const [change, reason] of cases) {
    const result = await verifyTreeHead(ELECTION, { ...head, ...change }, key.body);
    assert.equal(result.ok, false);
    assert.match(result.reason, reason);
  }
  const signedByOther = await signedHead(other, { logKeyId: key.body.keyId });
  assert.match((await verifyTreeHead(ELECTION, signedByOther, key.body)).reason, /signature/);
});

test('the log key itself is checked: algorithm, length, keyId', async () => {
  const { body } = await logKeyPair();
  assert.equal((await checkLogKey(body)).ok, true);
  assert.match((await checkLogKey({ ...body, algorithm: 'RSA' })).reason, /algorithm/);
  assert.match((await checkLogKey({ ...body, publicKey: body.publicKey.slice(0, 40) })).reason, /publicKey/);
  assert.match((await checkLogKey({ ...body, keyId: '0'.repeat(64) })).reason, /keyId/);
  assert.match((await checkLogKey(null)).reason, /algorithm/);
});
