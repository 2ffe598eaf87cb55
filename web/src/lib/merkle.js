// RFC 9162 §2.1 Merkle trees over SHA-256, as src/crypto/merkle.cpp builds them.
// Hashes are Uint8Array(32) everywhere; verifyInclusion and verifyConsistency also take
// 64-digit hex strings, which they decode first.

import { sha256Sync } from './hash.js';
import { bytesEqual, hexDecode } from './encoding.js';

/** §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(bytes) {
  const input = new Uint8Array(bytes.length + 1);
  input.set(bytes, 1);
  return sha256Sync(input);
}

/** §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  const input = new Uint8Array(65);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 33);
  return sha256Sync(input);
}

/** §2.1.1 MTH of the leaves whose hashes are given; SHA-256 of nothing when there are none.
 *  Level by level: pairing from the left and carrying an odd last node up unchanged gives
 *  the RFC's split at the largest power of two below n. */
export function rootFromLeafHashes(hashes) {
  if (hashes.length === 0) return sha256Sync(new Uint8Array(0));
  let level = hashes;
  while (level.length > 1) {
    const next = new Array(Math.ceil(level.length / 2));
    for (let i = 0; i + 1 < level.length; i += 2) next[i / 2] = nodeHash(level[i], level[i + 1]);
    if (level.length % 2 === 1) next[next.length - 1] = level[level.length - 1];
    level = next;
  }
  return level[0];
}

function digest(value) {
  const bytes = typeof value === 'string' ? hexDecode(value) : value;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new TypeError('merkle: a hash is 32 bytes or 64 hex digits');
  }
  return bytes;
}

// A non-negative safe integer, or null (a size or index that cannot be one fails the proof).
function count(n) {
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

// Bit operations on sizes up to 2^53: plain arithmetic, since JS's bitwise operators
// work on 32 bits.
const lsb = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);
function isPowerOfTwo(n) {
  while (n > 1 && !lsb(n)) n = half(n);
  return n === 1;
}

/** §2.1.3.2: does auditPath lead from leafHash at leafIndex to rootHash in a tree of
 *  treeSize leaves? Hashes as bytes or hex; malformed input is false, never a throw. */
export function verifyInclusion({ leafHash: leaf, leafIndex, treeSize, auditPath, rootHash }) {
  let path, r, root;
  try {
    path = auditPath.map(digest);
    r = digest(leaf);
    root = digest(rootHash);
  } catch {
    return false;
  }
  const index = count(leafIndex), size = count(treeSize);
  // 1.
  if (index === null || size === null || index >= size) return false;
  // 2.
  let fn = index, sn = size - 1;
  // 4.
  for (const p of path) {
    // 4a.
    if (sn === 0) return false;
    // 4b.
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    // 4c.
    fn = half(fn);
    sn = half(sn);
  }
  // 5.
  return sn === 0 && bytesEqual(r, root);
}

/** §2.1.4.2: is the tree of `first` leaves with firstRoot a prefix of the tree of `second`
 *  leaves with secondRoot? Equal sizes need an empty proof and equal roots, size 0 is
 *  refused (as transparency-dev/merkle does). Hashes as bytes or hex. */
export function verifyConsistency({ first, second, firstRoot, secondRoot, proof }) {
  let path, r1, r2;
  try {
    path = proof.map(digest);
    r1 = digest(firstRoot);
    r2 = digest(secondRoot);
  } catch {
    return false;
  }
  const m = count(first), n = count(second);
  if (m === null || n === null || m === 0 || m > n) return false;
  if (m === n) return path.length === 0 && bytesEqual(r1, r2);
  // 1.
  if (path.length === 0) return false;
  // 2. A power-of-two first tree is itself the first node of the path.
  if (isPowerOfTwo(m)) path = [r1, ...path];
  // 3.
  let fn = m - 1, sn = n - 1;
  // 4.
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5.
  let fr = path[0], sr = path[0];
  // 6.
  for (const c of path.slice(1)) {
    // 6a.
    if (sn === 0) return false;
    // 6b.
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    // 6c.
    fn = half(fn);
    sn = half(sn);
  }
  // 7.
  return sn === 0 && bytesEqual(fr, r1) && bytesEqual(sr, r2);
}
