// The booth's steps, persisted so that a reload, a lost connection or a 5xx never costs
// the voter their token or lets a second, different ballot be sent:
//
//   start -> token_requested -> token_ready -> ballot_saved -> cast
//
// Each step is saved BEFORE the request it leads to, and a saved request is only ever
// resent byte for byte: the server answers a repeated token request (same voter, same
// blindedMessage) and a repeated submission (same token, same ballot) as it did the first
// time (docs/api/openapi.yaml, /voting/token and /voting/submit), so a retry is always
// safe and token_already_used cannot come from us.
//
// `storage` is {get(key), put(key, value), delete(key)}, each returning a promise:
// IndexedDB in the browser, a Map in the tests. Records hold strings only. The voter's
// id and credential are never stored (the record's key is a hash of both, so nobody
// without the credential can find it); the choices are stored only once the voter
// confirms the review (prepareBallot), and the record is deleted once the ballot is
// accepted (ballotAccepted). A save never replaces a later step by an earlier one
// (mayReplace), except ballotRejected's explicit way back.

import { blind, finalize } from './blind_rsa.js';
import { b64urlDecode, b64urlEncode, hexEncode, utf8Encode } from './encoding.js';
import { sha256 } from './hash.js';
import { ballotLeaf, jsonEqual, normalizeContests, receiptOf, toSelections } from './ballot.js';

export const STEPS = Object.freeze(['start', 'token_requested', 'token_ready', 'ballot_saved', 'cast']);
const TOKEN_MESSAGE_BYTES = 32; // the token nonce: 32 random bytes, as src/client/voter.cpp

/** A failure the booth cannot retry its way out of. code: 'untrusted_key' (the token key
 *  changed, or the server signed with another), 'invalid_blind_signature', 'receipt_mismatch',
 *  'ballot_locked' (a different ballot after one was sent), 'wrong_step'. */
export class BoothError extends Error {
  constructor(code, message) {
    super(message ?? code);
    this.name = 'BoothError';
    this.code = code;
  }
}

/** The record's key for this voter in this election: hex SHA-256 of the JSON array
 *  [electionId, voterId, credential] (JSON quoting makes the fields unambiguous). The
 *  credential (>= 128 bits) makes it unguessable: a key of the voter id alone could be
 *  recomputed by anyone who knows it. */
export async function boothKey(electionId, voterId, credential) {
  return hexEncode(await sha256(utf8Encode(JSON.stringify([electionId, voterId, credential]))));
}

const recordKey = (voterKey) => `booth:${voterKey}`;

/** Whether a saved record at step `from` (undefined: none) may be overwritten by one at
 *  step `to`: only by a later step, so a stale tab cannot undo another's progress. */
export function mayReplace(from, to) {
  if (from === undefined) return true;
  const i = STEPS.indexOf(from), j = STEPS.indexOf(to);
  return i >= 0 && j > i;
}

async function save(storage, state, record, { back = false } = {}) {
  const current = await storage.get(recordKey(state.voterKey));
  if (!back && !mayReplace(current?.step, record.step)) {
    throw new BoothError('wrong_step', `the saved step ${current.step} is not replaced by ${record.step}`);
  }
  await storage.put(recordKey(state.voterKey), record);
  return { ...record, voterKey: state.voterKey };
}

function expectStep(state, step) {
  if (state.step !== step) throw new BoothError('wrong_step', `expected step ${step}, at ${state.step}`);
}

/** The saved state of this voter's booth, or a fresh one at 'start'. */
export async function loadBooth(storage, electionId, voterKey) {
  const saved = await storage.get(recordKey(voterKey));
  if (!saved || saved.electionId !== electionId || !STEPS.includes(saved.step)) {
    return { step: 'start', electionId, voterKey };
  }
  return { ...saved, voterKey };
}

/** start -> token_requested: draws the token nonce and blinds it (RFC 9474 §4.2), and saves
 *  msg, inverse and blindedMessage before any request. At token_requested already, returns
 *  the saved request unchanged (a retry after a reload), provided the key is the same one.
 *  announcedKeyId (audit.js announcedTokenKeyId), when given, must be the key's id: a key
 *  served to this voter alone could tell their token apart. */
export async function prepareTokenRequest(storage, state, key, announcedKeyId) {
  if (announcedKeyId !== undefined && announcedKeyId !== key.keyId) {
    throw new BoothError('untrusted_key', 'the token key is not the one announced on the audit chain');
  }
  if (state.step === 'token_requested') {
    if (state.keyId !== key.keyId) throw new BoothError('untrusted_key', 'the token key changed since the request was prepared');
    return state;
  }
  expectStep(state, 'start');
  const msg = globalThis.crypto.getRandomValues(new Uint8Array(TOKEN_MESSAGE_BYTES));
  const { blindedMessage, inverse } = await blind(key, msg);
  return save(storage, state, {
    step: 'token_requested',
    electionId: state.electionId,
    keyId: key.keyId,
    msg: b64urlEncode(msg),
    inverse: b64urlEncode(inverse),
    blindedMessage: b64urlEncode(blindedMessage),
  });
}

/** The body of POST /voting/token: always the saved blindedMessage. */
export function tokenRequestBody(state, voterId, credential) {
  expectStep(state, 'token_requested');
  return { electionId: state.electionId, voterId, credential, blindedMessage: state.blindedMessage };
}

/** token_requested -> token_ready, from the 200 answer {blindSignature, keyId}: unblinds and
 *  verifies the signature (RFC 9474 §4.4) before saving the token. */
export async function tokenIssued(storage, state, key, answer) {
  expectStep(state, 'token_requested');
  if (answer?.keyId !== state.keyId || key.keyId !== state.keyId) {
    throw new BoothError('untrusted_key', 'the token was signed with another key');
  }
  const msg = b64urlDecode(state.msg);
  let signature;
  try {
    signature = await finalize(key, msg, b64urlDecode(answer.blindSignature), b64urlDecode(state.inverse));
  } catch (e) {
    throw new BoothError('invalid_blind_signature', `the blind signature does not finalize: ${e.message}`);
  }
  return save(storage, state, {
    step: 'token_ready',
    electionId: state.electionId,
    keyId: state.keyId,
    msg: state.msg,
    signature: b64urlEncode(signature),
  });
}

/** token_ready -> ballot_saved, when the voter confirms the review: saves the exact body of
 *  POST /voting/submit and its expected receipt before the first submission. At
 *  ballot_saved, the same choices return the saved state (a resend); other choices throw
 *  'ballot_locked'. selections: [{contestId, optionId}] or {contestId: [optionId]}. */
export async function prepareBallot(storage, state, selections) {
  const list = Array.isArray(selections)
    ? toSelections(groupByContest(selections))
    : toSelections(selections);
  if (state.step === 'ballot_saved') {
    if (!jsonEqual(state.body.selections, list)) {
      throw new BoothError('ballot_locked', 'a ballot was already sent with this token');
    }
    return state;
  }
  expectStep(state, 'token_ready');
  const token = { message: state.msg, signature: state.signature };
  const body = { electionId: state.electionId, token, selections: list };
  return save(storage, state, {
    step: 'ballot_saved',
    electionId: state.electionId,
    keyId: state.keyId,
    body,
    receipt: receiptOf(ballotLeaf(state.electionId, list, token)),
  });
}

function groupByContest(selections) {
  const grouped = {};
  for (const { contestId, optionId } of selections) (grouped[contestId] ??= []).push(optionId);
  return grouped;
}

/** The body of POST /voting/submit: always the saved one. */
export function submitBody(state) {
  expectStep(state, 'ballot_saved');
  return state.body;
}

/** ballot_saved -> token_ready, after a 422 invalid_ballot / validation_failed: the token
 *  was not spent, so the saved body is dropped and the token kept for new choices. */
export async function ballotRejected(storage, state) {
  expectStep(state, 'ballot_saved');
  return save(storage, state, {
    step: 'token_ready',
    electionId: state.electionId,
    keyId: state.keyId,
    msg: state.body.token.message,
    signature: state.body.token.signature,
  }, { back: true });
}

/** ballot_saved -> cast, from the 201 or 200 answer {receipt, electionId, acceptedAt}: the
 *  receipt must be the hash of the ballot sent. The record is then deleted: the caller
 *  keeps the receipt (in the browser, in this tab's sessionStorage only). */
export async function ballotAccepted(storage, state, answer) {
  expectStep(state, 'ballot_saved');
  if (answer?.receipt !== state.receipt || answer?.electionId !== state.electionId) {
    throw new BoothError('receipt_mismatch', `the server's receipt ${answer?.receipt} is not the hash of the ballot sent, ${state.receipt}`);
  }
  await storage.delete(recordKey(state.voterKey));
  return { step: 'cast', electionId: state.electionId, voterKey: state.voterKey, receipt: state.receipt, acceptedAt: answer.acceptedAt };
}

/** Forgets this voter's booth on this device. */
export async function clearBooth(storage, state) {
  await storage.delete(recordKey(state.voterKey));
  return { step: 'start', electionId: state.electionId, voterKey: state.voterKey };
}

/** What to do after a failed request (status 0 for no answer at all):
 *  'retry_same' resend the identical saved request (network, 408, 5xx);
 *  'wait' resend it after Retry-After (429); 'fatal' anything else. */
export function classifyFailure(status, code) {
  if (status === 429) return 'wait';
  if (status === 0 || code === 'network_error' || status === 408 || status >= 500) return 'retry_same';
  return 'fatal';
}

/** A code for the UI to word, for a failed request. 'use_first_device': this voter already
 *  has a token, requested from another device or browser, whose request only that one holds.
 *  'check_credentials': no token was issued; the record (keyed by the wrong credential) is
 *  deleted by the caller, and the corrected credential starts a new request. */
export function failureAdvice(status, code) {
  const advice = {
    token_already_issued: 'use_first_device',
    token_already_used: 'ballot_already_cast',
    invalid_credentials: 'check_credentials',
    election_not_open: 'election_not_open',
    election_closed: 'election_closed',
    invalid_ballot: 'invalid_ballot',
    invalid_token: 'invalid_token',
  }[code];
  if (advice) return advice;
  const kind = classifyFailure(status, code);
  return kind === 'retry_same' ? 'retry' : kind === 'wait' ? 'wait' : 'error';
}

/** Whether the contests the booth shows (GET /public/elections/{id}) are the ones the
 *  audit chain defines (audit.js facts.contests), both normalised. */
export function sameContests(shown, audited) {
  try {
    return jsonEqual(normalizeContests(shown), normalizeContests(audited));
  } catch {
    return false;  // malformed on either side
  }
}
