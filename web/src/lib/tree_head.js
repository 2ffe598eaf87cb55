// Signed tree heads: Ed25519 by the log key over the RFC 8785 text of {electionId,
// treeSize, rootHash, timestamp}, as src/domain/tree_head.cpp signs them and
// src/client/verify.cpp checks them.

import { canonicalize } from './jcs.js';
import { b64urlDecode, hexEncode, utf8Encode } from './encoding.js';
import { sha256 } from './hash.js';
import { verifyEd25519 } from './ed25519.js';

const HASH_HEX = /^[0-9a-f]{64}$/;
// RFC 3339 §5.6 date-time.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The exact text the log key signs. electionId is the one the caller asked about, not
 *  the one in the answer, so a head for another election cannot pass. */
export function treeHeadMessage(electionId, sth) {
  return canonicalize({
    electionId,
    treeSize: sth.treeSize,
    rootHash: sth.rootHash,
    timestamp: sth.timestamp,
  });
}

/** The /api/v1/public/log-key body checked: Ed25519, a 32-byte key, keyId its SHA-256.
 *  Returns {ok, reason, raw, keyId}. */
export async function checkLogKey(logKey) {
  if (logKey?.algorithm !== 'Ed25519') return { ok: false, reason: 'log key: the algorithm is not Ed25519' };
  let raw;
  try {
    raw = b64urlDecode(logKey.publicKey);
  } catch {
    raw = null;
  }
  if (!raw || raw.length !== 32) {
    return { ok: false, reason: 'log key: publicKey is not a base64url Ed25519 key' };
  }
  const keyId = hexEncode(await sha256(raw));
  if (logKey.keyId !== keyId) {
    return { ok: false, reason: 'log key: keyId is not the SHA-256 of the published key' };
  }
  return { ok: true, reason: '', raw, keyId };
}

/** A tree head as GET /public/elections/{id}/tree-head serves it, checked against the log
 *  key: well-formed, for this election, naming this key, and signed by it.
 *  Returns {ok, reason} (reason is empty when ok). */
export async function verifyTreeHead(electionId, sth, logKey) {
  const key = await checkLogKey(logKey);
  if (!key.ok) return key;
  if (sth?.electionId !== electionId) return { ok: false, reason: 'tree head: for another election' };
  if (!Number.isSafeInteger(sth.treeSize) || sth.treeSize < 0) {
    return { ok: false, reason: 'tree head: "treeSize" is not a non-negative integer' };
  }
  if (typeof sth.rootHash !== 'string' || !HASH_HEX.test(sth.rootHash)) {
    return { ok: false, reason: 'tree head: "rootHash" is not 64 lowercase hex digits' };
  }
  if (typeof sth.timestamp !== 'string' || !RFC3339.test(sth.timestamp)) {
    return { ok: false, reason: 'tree head: "timestamp" is not an RFC 3339 time' };
  }
  if (sth.logKeyId !== key.keyId) {
    return { ok: false, reason: `the tree head names log key ${String(sth.logKeyId).slice(0, 16)}..., the server's is ${key.keyId.slice(0, 16)}...` };
  }
  let signature;
  try {
    signature = b64urlDecode(sth.signature);
  } catch {
    signature = null;
  }
  const signed = utf8Encode(treeHeadMessage(electionId, sth));
  if (!signature || !(await verifyEd25519(key.raw, signed, signature))) {
    return { ok: false, reason: 'the signature does not verify under the log key' };
  }
  return { ok: true, reason: '' };
}
