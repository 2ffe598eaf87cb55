// Byte encodings shared by the booth and the portal: base64url (RFC 4648 §5, unpadded),
// lowercase hex, UTF-8. The decoders are strict, like src/crypto/hash.cpp: one accepted
// spelling per byte string, so a token cannot be varied in transit.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUES[B64URL.charCodeAt(i)] = i;

/** Unpadded base64url (RFC 4648 §5; padding omitted as in RFC 7515 §2). */
export function b64urlEncode(bytes) {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const g = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[g >> 18] + B64URL[(g >> 12) & 63] + B64URL[(g >> 6) & 63] + B64URL[g & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const g = bytes[i] << 16;
    out += B64URL[g >> 18] + B64URL[(g >> 12) & 63];
  } else if (rest === 2) {
    const g = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL[g >> 18] + B64URL[(g >> 12) & 63] + B64URL[(g >> 6) & 63];
  }
  return out;
}

/** Strict unpadded base64url decoding; throws TypeError on anything else. */
export function b64urlDecode(str) {
  if (typeof str !== 'string') throw new TypeError('base64url: not a string');
  // A lone trailing character carries 6 bits, not enough for a byte.
  if (str.length % 4 === 1) throw new TypeError('base64url: bad length');
  const out = new Uint8Array(Math.floor((str.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    const v = c < 128 ? B64URL_VALUES[c] : -1;
    if (v < 0) throw new TypeError('base64url: bad character');
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (buffer >> bits) & 0xff;
    }
  }
  // RFC 4648 §3.5: non-zero pad bits are rejected.
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new TypeError('base64url: non-zero pad bits');
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex. */
export function hexEncode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** Hex (either case) to bytes; throws TypeError on odd length or a non-hex digit. */
export function hexDecode(str) {
  if (typeof str !== 'string' || str.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(str)) {
    throw new TypeError('hex: not an even number of hex digits');
  }
  const out = new Uint8Array(str.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(str.substr(2 * i, 2), 16);
  return out;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(str) {
  return encoder.encode(str);
}

export function concatBytes(...arrays) {
  let length = 0;
  for (const a of arrays) length += a.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Equal length and bytes. Not constant-time: only for public values. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
