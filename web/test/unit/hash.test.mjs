import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, sha256Sync } from '../../src/lib/hash.js';
import { hexEncode, utf8Encode } from '../../src/lib/encoding.js';

// FIPS 180-2 Appendix B / NIST CSRC SHA-256 examples.
const NIST = [
  ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
];

test('sha256 and sha256Sync give the NIST values', async () => {
  for (const [text, digest] of NIST) {
    assert.equal(hexEncode(sha256Sync(utf8Encode(text))), digest, text);
    assert.equal(hexEncode(await sha256(utf8Encode(text))), digest, text);
  }
});

test('sha256Sync: one million "a" (FIPS 180-2 B.3)', () => {
  assert.equal(hexEncode(sha256Sync(new Uint8Array(1_000_000).fill(0x61))),
    'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});

test('sha256Sync agrees with WebCrypto at every length across the padding boundaries', async () => {
  for (let n = 0; n <= 300; n++) {
    const input = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 0xff);
    assert.equal(hexEncode(sha256Sync(input)), hexEncode(await sha256(input)), `length ${n}`);
  }
});

test('sha256Sync hashes a subarray by its own bytes only', () => {
  const whole = utf8Encode('xxabcxx');
  assert.equal(hexEncode(sha256Sync(whole.subarray(2, 5))), NIST[1][1]);
});
