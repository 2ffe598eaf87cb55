// RFC 9474 RSA blind signatures, variant RSABSSA-SHA384-PSS-Deterministic (§5): no
// message randomizer (Prepare is the identity, §4.1), EMSA-PSS with SHA-384, MGF1-SHA-384
// and a 48-byte salt. The voter's side only: blind, finalize, verify. src/crypto/
// blind_rsa.cpp is the server's; src/client/voter.cpp the command-line voter's.

import { b64urlDecode, bytesEqual, concatBytes, hexEncode } from './encoding.js';
import { sha256 } from './hash.js';

const HASH_LENGTH = 48; // SHA-384
const SALT_LENGTH = 48; // §5: the variant's sLen
const PSS = { name: 'RSA-PSS', hash: 'SHA-384' };
const PSS_VERIFY = { name: 'RSA-PSS', saltLength: SALT_LENGTH };
// OID 1.2.840.113549.1.1.1, rsaEncryption (RFC 8017 Appendix A.1), DER-encoded.
const RSA_ENCRYPTION_OID = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);
const MIN_MODULUS_BITS = 2048;
const MAX_MODULUS_BITS = 16384;

// ---- integers (RFC 8017 §4) -------------------------------------------------------------

/** OS2IP: big-endian bytes to a BigInt. */
export function bytesToInt(bytes) {
  return bytes.length === 0 ? 0n : BigInt('0x' + hexEncode(bytes));
}

/** I2OSP: a BigInt to exactly `length` big-endian bytes; throws if it does not fit. */
export function intToBytes(x, length) {
  const hex = x.toString(16);
  if (x < 0n || hex.length > 2 * length) throw new RangeError('I2OSP: integer too large');
  const out = new Uint8Array(length);
  const padded = hex.padStart(2 * length, '0');
  for (let i = 0; i < length; i++) out[i] = parseInt(padded.substr(2 * i, 2), 16);
  return out;
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

// The inverse of a mod n by the extended Euclidean algorithm, or null when gcd(a, n) != 1.
function modInverse(a, n) {
  let [r0, r1] = [n, a % n];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1n) return null;
  return t0 < 0n ? t0 + n : t0;
}

// ---- the key ----------------------------------------------------------------------------

// One DER TLV (X.690 §8.1) at `at`: {tag, body, end}. Definite lengths only.
function readTlv(der, at) {
  if (at + 2 > der.length) throw new TypeError('SPKI: truncated');
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > der.length) {
      throw new TypeError('SPKI: bad length');
    }
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i];
    start += octets;
  }
  if (start + length > der.length) throw new TypeError('SPKI: truncated');
  return { tag, body: der.subarray(start, start + length), end: start + length };
}

// RFC 5280 §4.1.2.7 SubjectPublicKeyInfo holding an RFC 8017 Appendix A.1.1 RSAPublicKey.
function parseRsaSpki(der) {
  const spki = readTlv(der, 0);
  if (spki.tag !== 0x30 || spki.end !== der.length) throw new TypeError('SPKI: not a SEQUENCE');
  const algorithm = readTlv(spki.body, 0);
  const oid = readTlv(algorithm.body, 0);
  if (algorithm.tag !== 0x30 || oid.tag !== 0x06 || !bytesEqual(oid.body, RSA_ENCRYPTION_OID)) {
    throw new TypeError('SPKI: not an rsaEncryption key');
  }
  const bitString = readTlv(spki.body, algorithm.end);
  if (bitString.tag !== 0x03 || bitString.body[0] !== 0 || bitString.end !== spki.body.length) {
    throw new TypeError('SPKI: bad subjectPublicKey');
  }
  const rsaKey = readTlv(bitString.body, 1);
  const n = readTlv(rsaKey.body, 0);
  const e = readTlv(rsaKey.body, n.end);
  if (rsaKey.tag !== 0x30 || n.tag !== 0x02 || e.tag !== 0x02 || e.end !== rsaKey.body.length) {
    throw new TypeError('SPKI: bad RSAPublicKey');
  }
  return { n: bytesToInt(n.body), e: bytesToInt(e.body) };
}

/** The election's token key from GET /elections/{id}/token-key: `publicKey` (base64url SPKI
 *  DER) is authoritative; `jwk`, when given, must name the same n and e. keyId is the hex
 *  SHA-256 of the SPKI DER, which the caller compares with the audit chain's. Throws on a
 *  key that is not RSA of 2048 to 16384 bits. */
export async function importTokenKey({ publicKey, jwk }) {
  const spki = b64urlDecode(publicKey);
  const { n, e } = parseRsaSpki(spki);
  const modulusBits = n.toString(2).length;
  if (modulusBits < MIN_MODULUS_BITS || modulusBits > MAX_MODULUS_BITS || e < 3n || e % 2n === 0n) {
    throw new TypeError('token key: not an RSA key of 2048 to 16384 bits');
  }
  if (jwk && (jwk.kty !== 'RSA' || bytesToInt(b64urlDecode(jwk.n)) !== n ||
              bytesToInt(b64urlDecode(jwk.e)) !== e)) {
    throw new TypeError('token key: the JWK is not the SPKI key');
  }
  const cryptoKey = await globalThis.crypto.subtle.importKey('spki', spki, PSS, false, ['verify']);
  const keyId = hexEncode(await sha256(spki));
  return { n, e, modulusBits, modulusBytes: Math.ceil(modulusBits / 8), spki, keyId, cryptoKey };
}

// ---- RFC 8017 §9.1.1 EMSA-PSS-ENCODE with SHA-384 and MGF1-SHA-384 ------------------------

async function sha384(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-384', bytes));
}

// §B.2.1 MGF1: the first `length` bytes of Hash(seed || C) for C = 0, 1, ...
async function mgf1(seed, length) {
  const blocks = [];
  for (let counter = 0; counter * HASH_LENGTH < length; counter++) {
    const c = Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter);
    blocks.push(sha384(concatBytes(seed, c)));
  }
  return concatBytes(...(await Promise.all(blocks))).subarray(0, length);
}

/** EMSA-PSS-ENCODE(M, emBits) with the given salt. */
export async function emsaPssEncode(msg, emBits, salt) {
  const emLen = Math.ceil(emBits / 8);
  // Step 3.
  if (emLen < HASH_LENGTH + salt.length + 2) throw new RangeError('EMSA-PSS: encoding error');
  // Steps 2, 5, 6: H = Hash(0x00 * 8 || Hash(M) || salt).
  const h = await sha384(concatBytes(new Uint8Array(8), await sha384(msg), salt));
  // Steps 7, 8: DB = PS || 0x01 || salt.
  const db = new Uint8Array(emLen - HASH_LENGTH - 1);
  db[db.length - salt.length - 1] = 1;
  db.set(salt, db.length - salt.length);
  // Steps 9, 10.
  const mask = await mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  // Step 11: clear the bits above emBits, so that EM as an integer stays below n.
  db[0] &= 0xff >>> (8 * emLen - emBits);
  // Step 12.
  return concatBytes(db, h, Uint8Array.of(0xbc));
}

// ---- RFC 9474 §4 ------------------------------------------------------------------------

function randomBytes(length) {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

// §4.2 step 4, random_integer_uniform(1, n): rejection sampling on modulusBits bits.
function randomBelow(key) {
  const topBits = key.modulusBits % 8;
  for (;;) {
    const bytes = randomBytes(key.modulusBytes);
    if (topBits) bytes[0] &= (1 << topBits) - 1;
    const r = bytesToInt(bytes);
    if (r !== 0n && r < key.n) return r;
  }
}

/** §4.2 Blind(pk, msg). `inject` ({salt, r} as bytes) is for the RFC's test vectors only;
 *  without it the salt and r are drawn from crypto.getRandomValues. Returns the blinded
 *  message for the server and the inverse (big-endian, modulus length) for finalize. */
export async function blind(key, msg, inject = {}) {
  const salt = inject.salt ?? randomBytes(SALT_LENGTH);
  if (salt.length !== SALT_LENGTH) throw new RangeError('blind: the salt is 48 bytes');
  // Steps 1–2; RFC 8017 §8.1.1 step 1: emBits = modBits - 1.
  const m = bytesToInt(await emsaPssEncode(msg, key.modulusBits - 1, salt));
  // Step 3: m must be a unit mod n, or the blinded message would reveal a factor of n.
  if (modInverse(m, key.n) === null) throw new Error('blind: invalid input');
  for (;;) {
    // Steps 4–5: a random r with an inverse mod n.
    const r = inject.r ? bytesToInt(inject.r) : randomBelow(key);
    const inverse = modInverse(r, key.n);
    if (inverse === null) {
      if (inject.r) throw new Error('blind: r is not invertible mod n');
      continue;
    }
    // Steps 6–9: z = m * r^e mod n.
    const z = (m * modPow(r, key.e, key.n)) % key.n;
    return {
      blindedMessage: intToBytes(z, key.modulusBytes),
      inverse: intToBytes(inverse, key.modulusBytes),
    };
  }
}

/** §4.4 Finalize(pk, msg, blind_sig, inv): unblind, then check the signature against the
 *  key (steps 5–6: a server that signed with another key, or not at all, is caught here).
 *  Throws if it does not verify. */
export async function finalize(key, msg, blindSignature, inverse) {
  // Step 1.
  if (blindSignature.length !== key.modulusBytes || inverse.length !== key.modulusBytes) {
    throw new Error('finalize: unexpected input size');
  }
  const z = bytesToInt(blindSignature);
  const inv = bytesToInt(inverse);
  if (z >= key.n || inv >= key.n) throw new Error('finalize: input out of range');
  // Steps 2–4.
  const signature = intToBytes((z * inv) % key.n, key.modulusBytes);
  if (!(await verifyToken(key, msg, signature))) {
    throw new Error('finalize: the signature does not verify under the token key');
  }
  return signature;
}

/** RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384 and a 48-byte salt, through
 *  WebCrypto. False for anything that is not a valid signature, never a throw. */
export async function verifyToken(key, msg, signature) {
  if (signature.length !== key.modulusBytes) return false;
  try {
    return await globalThis.crypto.subtle.verify(PSS_VERIFY, key.cryptoKey, signature, msg);
  } catch {
    return false;
  }
}
