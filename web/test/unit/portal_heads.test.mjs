import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHeads, rememberHead, saveHead, storageKey } from '../../src/portal/heads.js';

const head = (treeSize, c = 'a') => ({ treeSize, rootHash: c.repeat(64), timestamp: '2026-01-01T00:00:00Z', signature: 'x' });

test('heads are kept once, by size, without their signatures', () => {
  let list = rememberHead([], head(5));
  list = rememberHead(list, head(2));
  list = rememberHead(list, head(5));
  assert.deepEqual(list.map((h) => h.treeSize), [2, 5]);
  assert.equal(list[0].signature, undefined);
  // A different root at the same size is kept: the recount must see the fork.
  assert.equal(rememberHead(list, head(5, 'b')).length, 3);
});

test('only the newest are kept, and junk is dropped', () => {
  let list = [];
  for (let i = 0; i < 30; i++) list = rememberHead(list, head(i), 20);
  assert.equal(list.length, 20);
  assert.equal(list[0].treeSize, 10);
  assert.deepEqual(rememberHead([{ treeSize: -1 }, null, { treeSize: 1, rootHash: 'zz', timestamp: 'x' }], null), []);
});

test('storage round trip, per election, tolerant of bad data', () => {
  const map = new Map();
  const storage = { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v) };
  saveHead(storage, 'e1', head(3));
  saveHead(storage, 'e1', head(4));
  assert.deepEqual(loadHeads(storage, 'e1').map((h) => h.treeSize), [3, 4]);
  assert.deepEqual(loadHeads(storage, 'e2'), []);
  map.set(storageKey('e3'), '{not json');
  assert.deepEqual(loadHeads(storage, 'e3'), []);
  assert.deepEqual(loadHeads(null, 'e1'), []);
});
