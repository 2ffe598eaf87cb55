import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blind, bytesToInt, emsaPssEncode, finalize, importTokenKey, intToBytes, verifyToken,
} from '../../src/lib/blind_rsa.js';
import { b64urlEncode, hexDecode, hexEncode } from '../../src/lib/encoding.js';
import { sha256 } from '../../src/lib/hash.js';
import * as V from './rfc9474_vectors.mjs';

const subtle = globalThis.crypto.subtle;
const jwkOf = (nHex, eHex) => ({ kty: 'RSA', n: b64urlEncode(hexDecode(nHex)), e: b64urlEncode(hexDecode(eHex)) });

// The SPKI DER of a public key, as the server publishes it (WebCrypto writes it).
async function spkiOf(jwk) {
  const key = await subtle.importKey('jwk', { ...jwk, ext: true }, { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
  return new Uint8Array(await subtle.exportKey('spki', key));
}

async function vectorKey() {
  const jwk = jwkOf(V.N, V.E);
  return importTokenKey({ publicKey: b64urlEncode(await spkiOf(jwk)), jwk });
}

// r = inv^-1 mod n: the RFC gives inv, blind takes r.
function inverseOf(invHex, nHex) {
  const n = bytesToInt(hexDecode(nHex));
  let [r0, r1, t0, t1] = [n, bytesToInt(hexDecode(invHex)), 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, t0, t1] = [r1, r0 - q * r1, t1, t0 - q * t1];
  }
  return intToBytes(((t0 % n) + n) % n, 512);
}

test('importTokenKey reads n and e from the SPKI and names the key by SHA-256 of it', async () => {
  const key = await vectorKey();
  assert.equal(key.n, BigInt('0x' + V.N));
  assert.equal(key.e, 65537n);
  assert.equal(key.modulusBits, 4096);
  assert.equal(key.keyId, hexEncode(await sha256(key.spki)));
});

test('importTokenKey refuses a JWK that is not the SPKI key, and what is not RSA SPKI', async () => {
  const spki = b64urlEncode(await spkiOf(jwkOf(V.N, V.E)));
  await assert.rejects(importTokenKey({ publicKey: spki, jwk: jwkOf(V.N, '03') }), TypeError);
  await assert.rejects(importTokenKey({ publicKey: spki.slice(0, -8) }), TypeError);
  await assert.rejects(importTokenKey({ publicKey: 'AAAA' }), TypeError);
  const ec = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const ecSpki = new Uint8Array(await subtle.exportKey('spki', ec.publicKey));
  await assert.rejects(importTokenKey({ publicKey: b64urlEncode(ecSpki) }), TypeError);
  // A 1024-bit modulus is too small.
  const small = await subtle.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-384' }, true, ['sign']);
  const smallSpki = new Uint8Array(await subtle.exportKey('spki', small.publicKey));
  await assert.rejects(importTokenKey({ publicKey: b64urlEncode(smallSpki) }), TypeError);
});

test('RFC 9474 A.3 (PSS-Deterministic): encoded message', async () => {
  const encoded = await emsaPssEncode(hexDecode(V.MSG), 4095, hexDecode(V.SALT));
  assert.equal(hexEncode(encoded), V.A3_ENCODED);
});

test('RFC 9474 A.3: blind with the RFC salt and r gives blinded_msg and inv', async () => {
  const key = await vectorKey();
  const { blindedMessage, inverse } = await blind(key, hexDecode(V.MSG), {
    salt: hexDecode(V.SALT), r: inverseOf(V.INV, V.N),
  });
  assert.equal(hexEncode(blindedMessage), V.A3_BLINDED);
  assert.equal(hexEncode(inverse), V.INV);
});

test('RFC 9474 A.3: finalize gives sig, which verifies', async () => {
  const key = await vectorKey();
  const sig = await finalize(key, hexDecode(V.MSG), hexDecode(V.A3_BLIND_SIG), hexDecode(V.INV));
  assert.equal(hexEncode(sig), V.A3_SIG);
  assert.equal(await verifyToken(key, hexDecode(V.MSG), sig), true);
});

test('RFC 9474 A.3: the blind signature is blinded_msg^d mod n', () => {
  const n = BigInt('0x' + V.N), d = BigInt('0x' + V.D);
  let [base, exp, acc] = [BigInt('0x' + V.A3_BLINDED), d, 1n];
  for (; exp > 0n; exp >>= 1n, base = (base * base) % n) if (exp & 1n) acc = (acc * base) % n;
  assert.equal(hexEncode(intToBytes(acc, 512)), V.A3_BLIND_SIG);
});

test('finalize throws on a blind signature that does not unblind to a valid signature', async () => {
  const key = await vectorKey();
  const msg = hexDecode(V.MSG);
  const tampered = hexDecode(V.A3_BLIND_SIG);
  tampered[100] ^= 1;
  await assert.rejects(finalize(key, msg, tampered, hexDecode(V.INV)), /does not verify/);
  await assert.rejects(finalize(key, msg, hexDecode(V.A3_BLIND_SIG).subarray(1), hexDecode(V.INV)), /size/);
  await assert.rejects(finalize(key, msg, hexDecode('ff'.repeat(512)), hexDecode(V.INV)), /range/);
  await assert.rejects(finalize(key, Uint8Array.of(1), hexDecode(V.A3_BLIND_SIG), hexDecode(V.INV)), /does not verify/);
});

test('verifyToken: A.1 (salted, with a prefix) is not a token of this message; wrong lengths are false', async () => {
  const key = await vectorKey();
  assert.equal(await verifyToken(key, hexDecode(V.MSG), hexDecode(V.A1_SIG)), false);
  assert.equal(await verifyToken(key, hexDecode(V.MSG), hexDecode(V.A3_SIG).subarray(1)), false);
  assert.equal(await verifyToken(key, hexDecode(V.MSG), new Uint8Array(512)), false);
});

test('a full round with a fresh 2048-bit key: random blind, private signature, finalize', async () => {
  const pair = await subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-384' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
  const jwk = await subtle.exportKey('jwk', pair.privateKey);
  const key = await importTokenKey({ publicKey: b64urlEncode(spki), jwk: { kty: 'RSA', n: jwk.n, e: jwk.e } });
  assert.equal(key.modulusBits, 2048);
  const msg = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const first = await blind(key, msg);
  const second = await blind(key, msg);
  assert.notEqual(hexEncode(first.blindedMessage), hexEncode(second.blindedMessage));
  assert.equal(first.blindedMessage.length, 256);
  assert.equal(first.inverse.length, 256);
  // The signer's side, RSASP1 (RFC 8017 §5.2.1), in the test only.
  const n = key.n, d = bytesToInt(Uint8Array.from(Buffer.from(jwk.d, 'base64url')));
  let [base, exp, acc] = [bytesToInt(first.blindedMessage), d, 1n];
  for (; exp > 0n; exp >>= 1n, base = (base * base) % n) if (exp & 1n) acc = (acc * base) % n;
  const sig = await finalize(key, msg, intToBytes(acc, 256), first.inverse);
  assert.ok(await verifyToken(key, msg, sig));
  // WebCrypto's own RSA-PSS verify with saltLength 48 agrees.
  assert.ok(await subtle.verify({ name: 'RSA-PSS', saltLength: 48 }, pair.publicKey, sig, msg));
  // The other blinding does not unblind this signature.
  await assert.rejects(finalize(key, msg, intToBytes(acc, 256), second.inverse));
});

test('I2OSP / OS2IP', () => {
  assert.equal(bytesToInt(Uint8Array.of(1, 0)), 256n);
  assert.equal(bytesToInt(new Uint8Array(0)), 0n);
  assert.deepEqual(intToBytes(256n, 3), Uint8Array.of(0, 1, 0));
  assert.throws(() => intToBytes(65536n, 2), RangeError);
});
