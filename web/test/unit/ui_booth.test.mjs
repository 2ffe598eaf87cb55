// Pure parts of the booth: the link fragment, the path, the receipt file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { electionIdFromPath, readLinkFragment } from '../../src/booth/link.js';
import { receiptFile } from '../../src/booth/receipt.js';

test('readLinkFragment reads voter and credential, decoded', () => {
  assert.deepEqual(readLinkFragment('#voter=v%201&credential=ABCD-EFGH'), { voterId: 'v 1', credential: 'ABCD-EFGH' });
  assert.deepEqual(readLinkFragment('#credential=x&voter=alice'), { voterId: 'alice', credential: 'x' });
  assert.equal(readLinkFragment(''), null);
  assert.equal(readLinkFragment('#'), null);
  assert.equal(readLinkFragment('#voter=alice'), null);
  assert.equal(readLinkFragment('#voter=&credential=x'), null);
});

test('readLinkFragment keeps a well-formed voter hash, and only that', () => {
  const hash = 'ab'.repeat(32);
  assert.deepEqual(readLinkFragment(`#voter=v&credential=c&voterHash=${hash.toUpperCase()}`), { voterId: 'v', credential: 'c', voterHash: hash });
  assert.deepEqual(readLinkFragment('#voter=v&credential=c&voterHash=abc'), { voterId: 'v', credential: 'c' });
});

test('electionIdFromPath accepts /vote/{id} only', () => {
  assert.equal(electionIdFromPath('/vote/0b6f2f3e-1111-4222-8333-944445555666'), '0b6f2f3e-1111-4222-8333-944445555666');
  assert.equal(electionIdFromPath('/vote/abc/'), 'abc');
  assert.equal(electionIdFromPath('/vote/0B6F2F3E-1111-4222-8333-944445555666'), '0b6f2f3e-1111-4222-8333-944445555666');
  assert.equal(electionIdFromPath('/vote/'), '');
  assert.equal(electionIdFromPath('/vote/a/b'), '');
  assert.equal(electionIdFromPath('/elections/abc'), '');
  assert.equal(electionIdFromPath('/vote/%E0%A4%A'), '');
});

test('receiptFile is the documented JSON, named by the first 8 digits', () => {
  const receipt = 'ab'.repeat(32);
  const file = receiptFile({ electionId: 'e1', receipt, acceptedAt: '2026-12-04T18:00:00Z' }, 'https://vote.example.org');
  assert.equal(file.name, 'observernet-receipt-abababab.json');
  assert.deepEqual(JSON.parse(file.body), {
    electionId: 'e1',
    receipt,
    acceptedAt: '2026-12-04T18:00:00Z',
    checkUrl: `https://vote.example.org/receipts?receipt=${receipt}`,
  });
  assert.deepEqual(Object.keys(JSON.parse(file.body)), ['electionId', 'receipt', 'acceptedAt', 'checkUrl']);
});
