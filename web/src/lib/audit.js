// The election's audit log: a hash chain (docs/api/audit-log.md), checked as
// domain::find_chain_break in src/domain/audit.cpp does, and the facts it announces, as
// src/client/verify.cpp reads them.

import { canonicalize } from './jcs.js';
import { concatBytes, hexDecode, hexEncode, utf8Encode } from './encoding.js';
import { sha256 } from './hash.js';

export const GENESIS_HASH = '0'.repeat(64);
const HASH_HEX = /^[0-9a-f]{64}$/;

/** hash = lowercase hex(SHA-256(prevHash as 32 raw bytes || JCS({seq, type, payload, at,
 *  prevHash}))). Throws TypeError if prevHash is not 64 hex digits or the body has no JCS. */
export async function auditEventHash(event) {
  if (typeof event.prevHash !== 'string' || !HASH_HEX.test(event.prevHash)) {
    throw new TypeError('audit event prevHash is not 64 hex digits');
  }
  const body = canonicalize({
    seq: event.seq,
    type: event.type,
    payload: event.payload,
    at: event.at,
    prevHash: event.prevHash,
  });
  return hexEncode(await sha256(concatBytes(hexDecode(event.prevHash), utf8Encode(body))));
}

const member = (object, name) =>
  object !== null && typeof object === 'object' && !Array.isArray(object) && Object.hasOwn(object, name)
    ? object[name]
    : undefined;

/** What the chain announces, event by event (verify.cpp's AuditFacts): the token key's id
 *  (the first election.created), the contests (the last election.created or .updated),
 *  whether it opened and closed, the tokens the close counted (tokensIssued), the roll
 *  commitments (the "roll" members of election.opened and voters.imported, in chain
 *  order: docs/formats.md, Roll commitments), the last tree_head.published and
 *  results.published. */
export function auditFacts(events) {
  const facts = { tokenKeyId: undefined, contests: undefined, opened: false, closed: false, rollCommitments: [] };
  for (const event of events) {
    if (event.type === 'election.created' && facts.tokenKeyId === undefined) {
      const keyId = member(member(event.payload, 'tokenKey'), 'keyId');
      if (typeof keyId === 'string') facts.tokenKeyId = keyId;
    }
    if (event.type === 'election.created' || event.type === 'election.updated') {
      facts.contests = member(event.payload, 'contests');
    }
    if (event.type === 'election.opened') facts.opened = true;
    if (event.type === 'election.closed') {
      facts.closed = true;
      facts.tokensIssued = member(event.payload, 'tokensIssued');
    }
    if ((event.type === 'election.opened' || event.type === 'voters.imported') && member(event.payload, 'roll') !== undefined) {
      facts.rollCommitments.push(event.payload.roll);
    }
    if (event.type === 'tree_head.published') facts.finalTreeHead = event.payload;
    if (event.type === 'results.published') facts.publishedResults = event.payload;
  }
  return facts;
}

/** Walks the events from seq 1: each seq one more than the last, each prevHash the last
 *  hash (64 zeros first), each hash recomputed. failedSeq is the seq the chain expected
 *  where it broke, so a tampered seq does not point at another, intact event.
 *  Returns {ok, checked, failedSeq?, reason?, facts} (facts of the whole list). */
export async function verifyAuditChain(events) {
  const facts = auditFacts(events);
  let expectedSeq = 1;
  let expectedPrev = GENESIS_HASH;
  for (const event of events) {
    const broken = (reason) => ({ ok: false, checked: expectedSeq - 1, failedSeq: expectedSeq, reason, facts });
    if (event?.seq !== expectedSeq) return broken(`seq ${expectedSeq} expected, found ${event?.seq}`);
    if (event.prevHash !== expectedPrev) return broken(`seq ${expectedSeq}: prevHash is not the previous hash`);
    let recomputed;
    try {
      recomputed = await auditEventHash(event);
    } catch {
      // A body JCS cannot represent cannot have produced the stored hash.
      return broken(`seq ${expectedSeq}: the event has no canonical form`);
    }
    if (recomputed !== event.hash) return broken(`seq ${expectedSeq}: the hash does not match the event`);
    expectedSeq++;
    expectedPrev = event.hash;
  }
  return { ok: true, checked: events.length, facts };
}

/** All the election's audit events, page by page from seq 1 (GET /public/elections/{id}/audit
 *  through createApi()'s `audit`). Throws on a page that does not move on. */
export async function readAuditEvents(api, electionId, pageSize = 1000) {
  const events = [];
  for (let from = 1; ;) {
    const page = await api.audit(electionId, from, pageSize);
    if (!Array.isArray(page?.events)) throw new TypeError(`audit events from seq ${from}: no "events" list`);
    events.push(...page.events);
    if (page.next === null || page.next === undefined) return events;
    if (!Number.isSafeInteger(page.next) || page.next <= from || page.events.length === 0) {
      throw new TypeError(`audit events from seq ${from}: "next" does not move past the events given`);
    }
    from = page.next;
  }
}

/** The token key id the election's audit chain announces (election.created's
 *  payload.tokenKey.keyId), which the booth compares with the token key it is served
 *  before any token request, as src/client/voter.cpp does. The chain must be unbroken.
 *  Throws Error with a one-line reason. */
export async function announcedTokenKeyId(api, electionId) {
  const chain = await verifyAuditChain(await readAuditEvents(api, electionId));
  if (!chain.ok) throw new Error(`the audit chain breaks at seq ${chain.failedSeq}`);
  if (chain.facts.tokenKeyId === undefined) {
    throw new Error('the audit chain announces no token key (election.created tokenKey.keyId)');
  }
  return chain.facts.tokenKeyId;
}
