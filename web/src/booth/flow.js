// The booth's network steps over the persisted state machine of
// lib/booth_state.js: load and check the election, get the token (blinded
// message saved before it is sent, the same one resent after a reload),
// cast (exact body saved before the first attempt, resent identical).
// No DOM here: main.js draws, this file talks to the API and the storage.

import { createApi } from '../lib/api.js';
import { verifyAuditChain } from '../lib/audit.js';
import { importTokenKey } from '../lib/blind_rsa.js';
import * as boothState from '../lib/booth_state.js';
import { b64urlDecode, hexEncode } from '../lib/encoding.js';
import { sha256 } from '../lib/hash.js';
import { openStorage } from './idb_storage.js';


async function allAuditEvents(api, electionId) {
  const events = [];
  let from = 1;
  for (let pages = 0; from && pages < 10_000; pages++) {
    const page = await api.audit(electionId, from);
    events.push(...(page.events ?? []));
    from = page.next ?? null;
  }
  return events;
}

/**
 * Loads the election and checks its token key before anything else: keyId
 * must be the SHA-256 of the published SPKI and the key id the audit chain's
 * election.created announced (as `observernet verify` checks it).
 * Resolves to {api, election, tokenKey, problem?: 'key' | 'audit', reason?}.
 * API failures reject with the ApiError.
 */
export async function loadElection({ apiBaseUrl, electionId, fetchImpl }) {
  const api = fetchImpl ? createApi(apiBaseUrl, fetchImpl) : createApi(apiBaseUrl);
  const election = await api.publicElection(electionId);
  if (election.status !== 'open') return { api, election };
  const [keyBody, events] = await Promise.all([api.tokenKey(electionId), allAuditEvents(api, electionId)]);
  const chain = await verifyAuditChain(events);
  if (!chain.ok) return { api, election, problem: 'audit', reason: chain.reason };
  let spki;
  try {
    spki = b64urlDecode(keyBody.publicKey);
  } catch {
    return { api, election, problem: 'key' };
  }
  const keyId = hexEncode(await sha256(spki));
  if (keyBody.keyId !== keyId || chain.facts.tokenKeyId !== keyId || keyBody.electionId !== electionId) {
    return { api, election, problem: 'key' };
  }
  const tokenKey = await importTokenKey({ publicKey: keyBody.publicKey, jwk: keyBody.jwk });
  return { api, election, tokenKey };
}

const RETRY_DELAYS = [1, 2, 4, 8, 15, 30];

function sleepSeconds(seconds, onTick, signal) {
  return new Promise((resolve) => {
    let left = seconds;
    const tick = () => {
      if (signal.skip || left <= 0) {
        resolve();
        return;
      }
      onTick(left);
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });
}

/**
 * Sends until the API answers for good. A lost connection or a 5xx waits a
 * little (growing) and resends; a 429 waits Retry-After; both show a
 * countdown (onRetry / onWait with {seconds, retryNow}); anything else
 * rejects. The request is the same every time: the caller's send() resends
 * what was saved.
 */
export async function withRetries(send, { onRetry, onWait, onResume } = {}) {
  let attempt = 0;
  for (;;) {
    try {
      const answer = await send();
      onResume?.();
      return answer;
    } catch (err) {
      const kind = boothState.classifyFailure(err?.status ?? 0, err?.code);
      if (kind === 'fatal' || err?.status === undefined) {
        onResume?.();
        throw err;
      }
      const seconds = kind === 'wait' ? Math.max(1, Math.ceil(err.retryAfter ?? 1)) : RETRY_DELAYS[Math.min(attempt, RETRY_DELAYS.length - 1)];
      attempt += 1;
      const signal = { skip: false };
      const retryNow = () => {
        signal.skip = true;
      };
      const notify = kind === 'wait' ? onWait : onRetry;
      await sleepSeconds(seconds, (left) => notify?.({ seconds: left, retryNow }), signal);
    }
  }
}

const pointerKey = (electionId) => `current:${electionId}`;

/**
 * The booth's flow for one election. select(voterId) / resume() find the
 * saved state; obtainToken and cast move it on. Failures are ApiError (an
 * answer of the API) or boothState.BoothError (a check in this browser).
 */
export async function createFlow({ api, electionId, tokenKey, storage }) {
  storage ??= await openStorage();
  let voterKey = null;
  let state = null;

  async function use(key) {
    voterKey = key;
    // Which voter was here last, so a reload (the fragment is gone) resumes.
    await storage.put(pointerKey(electionId), voterKey);
    state = await boothState.loadBooth(storage, electionId, voterKey);
    return describe();
  }

  function describe() {
    return {
      step: state.step,
      receipt: state.step === 'cast' ? { receipt: state.receipt, acceptedAt: state.acceptedAt } : undefined,
    };
  }

  return {
    persistent: storage.persistent !== false,

    /** The voter from the link or the form: their saved state, if any. */
    async select(voterId) {
      return use(await boothState.boothKey(electionId, voterId));
    },

    /** After a reload (no fragment any more): the voter who was here last. */
    async resume() {
      const key = await storage.get(pointerKey(electionId));
      if (!key) return { step: 'start' };
      return use(key);
    },

    /**
     * Gets the blind signature and finalizes it. The blinded message is saved
     * before the request and reused on every retry and after a reload.
     */
    async obtainToken({ voterId, credential, ...handlers }) {
      const key = await boothState.boothKey(electionId, voterId);
      if (key !== voterKey || !state) await use(key);
      if (state.step !== 'start' && state.step !== 'token_requested') return describe();
      state = await boothState.prepareTokenRequest(storage, state, tokenKey);
      const body = boothState.tokenRequestBody(state, voterId, credential);
      const answer = await withRetries(() => api.requestToken(body), handlers);
      state = await boothState.tokenIssued(storage, state, tokenKey, answer);
      return describe();
    },

    /**
     * Casts the ballot: the exact body is saved before the first attempt;
     * once saved, it is what is sent (resent identical after a reload).
     * selectionsByContest: null to resend the saved one.
     * Resolves to {receipt, acceptedAt}.
     */
    async cast(selectionsByContest, handlers = {}) {
      if (!state) throw new boothState.BoothError('wrong_step', 'cast before sign-in');
      if (state.step === 'cast') return describe().receipt;
      if (state.step === 'token_ready') state = await boothState.prepareBallot(storage, state, selectionsByContest);
      const body = boothState.submitBody(state);
      const answer = await withRetries(() => api.submitBallot(body), handlers);
      state = await boothState.ballotAccepted(storage, state, answer);
      return describe().receipt;
    },
  };
}
