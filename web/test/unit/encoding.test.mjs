import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  b64urlDecode, b64urlEncode, bytesEqual, concatBytes, hexDecode, hexEncode, utf8Encode,
} from '../../src/lib/encoding.js';

const bytes = (...b) => Uint8Array.from(b);

test('base64url: RFC 4648 §10 vectors, unpadded, in the URL alphabet', () => {
  const vectors = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
  for (const [text, encoded] of vectors) {
    assert.equal(b64urlEncode(utf8Encode(text)), encoded);
    assert.deepEqual(b64urlDecode(encoded), utf8Encode(text));
  }
  assert.equal(b64urlEncode(bytes(0xfb, 0xff, 0xfe)), '-__-');
  assert.equal(b64urlEncode(Uint8Array.from({ length: 32 }, (_, i) => i)),
    'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
  assert.deepEqual(b64urlDecode('c2ln-_w'), bytes(0x73, 0x69, 0x67, 0xfb, 0xfc));
});

test('base64url: round trip of every length up to 70 and every byte value', () => {
  for (let n = 0; n <= 70; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.deepEqual(b64urlDecode(b64urlEncode(b)), b);
    assert.equal(b64urlEncode(b), Buffer.from(b).toString('base64url'));
  }
});

test('base64url: refuses padding, the standard alphabet, bad lengths and non-zero pad bits', () => {
  for (const bad of ['Zg==', 'Zm9v+g', 'ab/c', 'Z', 'Zm9vY', 'Zh', 'Zm9', ' Zg', 'Zé', null, 42]) {
    assert.throws(() => b64urlDecode(bad), TypeError, String(bad));
  }
  assert.deepEqual(b64urlDecode('Zm8'), utf8Encode('fo'));
});

test('hex: lowercase out, either case in, strict', () => {
  assert.equal(hexEncode(bytes(0, 1, 0xab, 0xff)), '0001abff');
  assert.deepEqual(hexDecode('0001ABff'), bytes(0, 1, 0xab, 0xff));
  assert.deepEqual(hexDecode(''), bytes());
  for (const bad of ['0', 'zz', '0x00', '00 ', 5]) assert.throws(() => hexDecode(bad), TypeError);
});

test('utf8, concat, equality', () => {
  assert.deepEqual(utf8Encode('€\u{1F600}'), bytes(0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80));
  assert.deepEqual(concatBytes(bytes(1), bytes(), bytes(2, 3)), bytes(1, 2, 3));
  assert.ok(bytesEqual(bytes(1, 2), bytes(1, 2)));
  assert.ok(!bytesEqual(bytes(1, 2), bytes(1, 3)));
  assert.ok(!bytesEqual(bytes(1), bytes(1, 0)));
});
