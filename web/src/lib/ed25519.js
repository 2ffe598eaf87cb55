// Ed25519 signature verification (RFC 8032 §5.1.7), for the log key's signed tree heads.
// WebCrypto's Ed25519 where the platform has it; else @noble/ed25519, loaded only then.

let webCryptoWorks; // a Promise<boolean>, settled once per page or worker

// Whether this platform's WebCrypto knows Ed25519 (Chromium 137+, Firefox 129+, Safari 17+,
// Node 20 do; older ones reject the import).
function webCryptoHasEd25519() {
  webCryptoWorks ??= globalThis.crypto.subtle
    .importKey('raw', new Uint8Array(32).fill(0x11), { name: 'Ed25519' }, false, ['verify'])
    .then(() => true, () => false);
  return webCryptoWorks;
}

async function verifyWithWebCrypto(publicKeyRaw, message, signature) {
  let key;
  try {
    key = await globalThis.crypto.subtle.importKey('raw', publicKeyRaw, { name: 'Ed25519' },
                                                   false, ['verify']);
  } catch {
    return false; // not a point on the curve
  }
  return globalThis.crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
}

async function verifyWithNoble(publicKeyRaw, message, signature) {
  const ed = await import('@noble/ed25519');
  try {
    // zip215: false is RFC 8032's strict decoding (canonical encodings, S < L).
    return await ed.verifyAsync(signature, message, publicKeyRaw, { zip215: false });
  } catch {
    return false;
  }
}

/** Does `signature` (64 bytes) verify `message` under the raw 32-byte public key?
 *  Wrong lengths and malformed keys are false, never a throw. */
export async function verifyEd25519(publicKeyRaw, message, signature, { forceFallback = false } = {}) {
  if (publicKeyRaw?.length !== 32 || signature?.length !== 64) return false;
  if (!forceFallback && (await webCryptoHasEd25519())) {
    return verifyWithWebCrypto(publicKeyRaw, message, signature);
  }
  return verifyWithNoble(publicKeyRaw, message, signature);
}
