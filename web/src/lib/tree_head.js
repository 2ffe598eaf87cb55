// Signed tree heads: Ed25519 by the log key over the RFC 8785 text of {electionId,
// treeSize, rootHash, timestamp, auditSeq, auditHead}, as src/domain/tree_head.cpp signs
// them and src/client/verify.cpp checks them. The audit members pin the audit chain; the
// tree heads signed before they existed have neither.

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
  const signed = { electionId, treeSize: sth.treeSize, rootHash: sth.rootHash, timestamp: sth.timestamp };
  if (sth.auditSeq !== undefined || sth.auditHead !== undefined) {
    signed.auditSeq = sth.auditSeq;
    signed.auditHead = sth.auditHead;
  }
  return canonicalize(signed);
}

// A failure: reason in English (as src/client/verify.cpp words it), and message, the same as
// a catalog key with its params (portal.*.js), for pages in other languages.
const failed = (reason, key, params = {}) => ({ ok: false, reason, message: { key, params } });

/** The /api/v1/public/log-key body checked: Ed25519, a 32-byte key, keyId its SHA-256.
 *  Returns {ok, reason, message?, raw, keyId}. */
export async function checkLogKey(logKey) {
  if (logKey?.algorithm !== 'Ed25519') return failed('log key: the algorithm is not Ed25519', 'treeHead.reason.algorithm');
  let raw;
  try {
    raw = b64urlDecode(logKey.publicKey);
  } catch {
    raw = null;
  }
  if (!raw || raw.length !== 32) {
    return failed('log key: publicKey is not a base64url Ed25519 key', 'treeHead.reason.publicKey');
  }
  const keyId = hexEncode(await sha256(raw));
  if (logKey.keyId !== keyId) {
    return failed('log key: keyId is not the SHA-256 of the published key', 'treeHead.reason.keyId');
  }
  return { ok: true, reason: '', raw, keyId };
}

/** A tree head as GET /public/elections/{id}/tree-head serves it, checked against the log
 *  key: well-formed, for this election, naming this key, and signed by it.
 *  Returns {ok, reason, message?} (reason is empty when ok; message {key, params} when not). */
export async function verifyTreeHead(electionId, sth, logKey) {
  const key = await checkLogKey(logKey);
  if (!key.ok) return key;
  if (sth?.electionId !== electionId) return failed('tree head: for another election', 'treeHead.reason.otherElection');
  if (!Number.isSafeInteger(sth.treeSize) || sth.treeSize < 0) {
    return failed('tree head: "treeSize" is not a non-negative integer', 'treeHead.reason.treeSize');
  }
  if (typeof sth.rootHash !== 'string' || !HASH_HEX.test(sth.rootHash)) {
    return failed('tree head: "rootHash" is not 64 lowercase hex digits', 'treeHead.reason.rootHash');
  }
  if (typeof sth.timestamp !== 'string' || !RFC3339.test(sth.timestamp)) {
    return failed('tree head: "timestamp" is not an RFC 3339 time', 'treeHead.reason.timestamp');
  }
  if (sth.logKeyId !== key.keyId) {
    const named = `${String(sth.logKeyId).slice(0, 16)}...`, server = `${key.keyId.slice(0, 16)}...`;
    return failed(`the tree head names log key ${named}, the server's is ${server}`, 'treeHead.reason.otherKey', { named, server });
  }
  let signature;
  try {
    signature = b64urlDecode(sth.signature);
  } catch {
    signature = null;
  }
  const signed = utf8Encode(treeHeadMessage(electionId, sth));
  if (!signature || !(await verifyEd25519(key.raw, signed, signature))) {
    return failed('the signature does not verify under the log key', 'treeHead.reason.signature');
  }
  return { ok: true, reason: '' };
}
