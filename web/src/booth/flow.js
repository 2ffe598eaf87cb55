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
 * The election's id and contests must be the audit chain's (the booth shows them).
 * Resolves to {api, election, tokenKey, problem?: 'key' | 'audit' | 'contests', reason?}.
 * API failures reject with the ApiError.
 */
export async function loadElection({ apiBaseUrl, electionId, fetchImpl }) {
  const api = fetchImpl ? createApi(apiBaseUrl, fetchImpl) : createApi(apiBaseUrl);
  const election = await api.publicElection(electionId);
  if (election.status !== 'open') return { api, election };
  const [keyBody, events] = await Promise.all([api.tokenKey(electionId), allAuditEvents(api, electionId)]);
  const chain = await verifyAuditChain(events);
  if (!chain.ok) return { api, election, problem: 'audit', reason: chain.reason };
  // The booth shows these contests: they must be the ones the audit chain defines.
  if (election.id !== electionId || !boothState.sameContests(election.contests, chain.facts.contests)) {
    return { api, election, problem: 'contests' };
  }
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

// Which record is this tab's, in sessionStorage: a reload of the tab resumes, a new visit
// (another person on a shared browser) does not. {key} until the ballot is accepted, then
// {receipt, acceptedAt} only (the IndexedDB record is deleted).
const sessionKey = (electionId) => `observernet-booth:${electionId}`;

function memorySession() {
  const map = new Map();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, String(v)), removeItem: (k) => void map.delete(k) };
}

function defaultSession() {
  try {
    return globalThis.sessionStorage ?? memorySession();
  } catch {
    return memorySession(); // storage blocked
  }
}

/** Runs fn under the tab-crossing lock of this record (Web Locks), when there is one. */
function withLock(voterKey, fn) {
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request(`observernet-booth:${voterKey}`, fn) : fn();
}

/**
 * The booth's flow for one election. select(voterId, credential) / resume() find
 * the saved state; obtainToken and cast move it on, each step re-reading the record
 * under the lock, so two tabs never save two ballots. Failures are ApiError (an
 * answer of the API) or boothState.BoothError (a check in this browser).
 */
export async function createFlow({ api, electionId, tokenKey, storage, session }) {
  storage ??= await openStorage();
  session ??= defaultSession();
  let voterKey = null;
  let state = null;

  const remember = (value) => session.setItem(sessionKey(electionId), JSON.stringify(value));

  async function use(key) {
    voterKey = key;
    remember({ key });
    state = await boothState.loadBooth(storage, electionId, voterKey);
    return describe();
  }

  /** Re-reads the record inside the lock and runs fn(fresh state). */
  function step(fn) {
    return withLock(voterKey, async () => {
      state = await boothState.loadBooth(storage, electionId, voterKey);
      return fn(state);
    });
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
    async select(voterId, credential) {
      return use(await boothState.boothKey(electionId, voterId, credential));
    },

    /** After a reload of this tab (no fragment any more): this tab's record or receipt. */
    async resume() {
      let saved = null;
      try {
        saved = JSON.parse(session.getItem(sessionKey(electionId)) ?? 'null');
      } catch {
        saved = null;
      }
      if (saved?.receipt) {
        state = { step: 'cast', electionId, receipt: saved.receipt, acceptedAt: saved.acceptedAt };
        return describe();
      }
      if (typeof saved?.key !== 'string') return { step: 'start' };
      return use(saved.key);
    },

    /**
     * Gets the blind signature and finalizes it. The blinded message is saved
     * before the request and reused on every retry and after a reload.
     */
    async obtainToken({ voterId, credential, ...handlers }) {
      const key = await boothState.boothKey(electionId, voterId, credential);
      if (key !== voterKey || !state) await use(key);
      const prepared = await step(async (fresh) =>
        fresh.step === 'start' || fresh.step === 'token_requested' ? boothState.prepareTokenRequest(storage, fresh, tokenKey) : null);
      if (!prepared) return describe();
      state = prepared;
      let answer;
      try {
        answer = await withRetries(() => api.requestToken(boothState.tokenRequestBody(prepared, voterId, credential)), handlers);
      } catch (err) {
        // No token was issued for a wrong credential: its record leads nowhere.
        if (err?.code === 'invalid_credentials') await step((fresh) => boothState.clearBooth(storage, fresh));
        throw err;
      }
      await step(async (fresh) => {
        if (fresh.step !== 'token_requested') return; // another tab got there first
        if (fresh.blindedMessage !== prepared.blindedMessage) throw new boothState.BoothError('wrong_step', 'the saved token request changed');
        state = await boothState.tokenIssued(storage, fresh, tokenKey, answer);
      });
      return describe();
    },

    /**
     * Casts the ballot: the exact body is saved before the first attempt;
     * once saved, it is what is sent (resent identical after a reload, and by
     * any other tab, whatever its own choices). selectionsByContest: null to
     * resend the saved one. After a 422 invalid_ballot / validation_failed the
     * record goes back to token_ready, so new choices can be saved.
     * Resolves to {receipt, acceptedAt}.
     */
    async cast(selectionsByContest, handlers = {}) {
      if (!state) throw new boothState.BoothError('wrong_step', 'cast before sign-in');
      if (state.step === 'cast') return describe().receipt;
      const saved = await step(async (fresh) => {
        if (fresh.step === 'start') throw new boothState.BoothError('wrong_step', 'this booth has no token any more: the ballot may have been cast in another tab');
        return fresh.step === 'token_ready' ? boothState.prepareBallot(storage, fresh, selectionsByContest) : fresh;
      });
      state = saved;
      let answer;
      try {
        answer = await withRetries(() => api.submitBallot(boothState.submitBody(saved)), handlers);
      } catch (err) {
        if (err?.code === 'invalid_ballot' || err?.code === 'validation_failed') {
          await step(async (fresh) => {
            if (fresh.step === 'ballot_saved' && fresh.receipt === saved.receipt) state = await boothState.ballotRejected(storage, fresh);
          });
        }
        throw err;
      }
      // The receipt is checked against the ballot sent and the record deleted; only the
      // receipt is kept, in this tab, for its reloads.
      state = await withLock(voterKey, () => boothState.ballotAccepted(storage, saved, answer));
      remember({ receipt: state.receipt, acceptedAt: state.acceptedAt });
      return describe().receipt;
    },
  };
}
