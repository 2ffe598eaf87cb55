// The recount Worker (/verify/{id}): runs lib/recount.js off the page's thread, so the page
// stays responsive while it downloads and checks every ballot.
//
// In:  {type: 'start', electionId, apiBaseUrl, earlierHeads?, receipt?, voterHash?, pinnedLogKeyId?}
// Out: {type: 'progress', phase, phases: {<phase>: {done, total}}}   at most every PROGRESS_MS
//        (and at once when the phase changes); phases are lib/recount.js's: download, audit,
//        ballots, signatures, root
//      {type: 'done', checks: [{name, status, detail, message?}], keep?, seconds}
//        message: {key, params}, the detail as a catalog key (portal/messages.js shows it)
//        keep: the newest signed tree head, for the next run's consistency check
//      {type: 'error', code, status, detail}   when the recount itself could not run

import { createApi } from '../lib/api.js';
import { recount } from '../lib/recount.js';

const PROGRESS_MS = 100;

let running = false;

self.addEventListener('message', async (event) => {
  const msg = event.data ?? {};
  if (msg.type !== 'start' || running) return;
  running = true;
  const started = performance.now();
  const phases = {};
  let last = 0;
  let lastPhase = '';
  const onProgress = ({ phase, done, total }) => {
    phases[phase] = { done: done ?? 0, total: total ?? null };
    const now = performance.now();
    if (phase === lastPhase && now - last < PROGRESS_MS) return;
    // The ballot download and the signature checks interleave: a switch between them is
    // not news, only the time is.
    const interleaved = (phase === 'ballots' || phase === 'signatures') && (lastPhase === 'ballots' || lastPhase === 'signatures');
    if (interleaved && now - last < PROGRESS_MS) return;
    last = now;
    lastPhase = phase;
    self.postMessage({ type: 'progress', phase, phases: structuredClone(phases) });
  };
  try {
    const api = createApi(msg.apiBaseUrl ?? '');
    const checks = await recount({
      api,
      electionId: msg.electionId,
      onProgress,
      earlierHeads: Array.isArray(msg.earlierHeads) ? msg.earlierHeads : undefined,
      receipt: msg.receipt || undefined,
      voterHash: msg.voterHash || undefined,
      pinnedLogKeyId: msg.pinnedLogKeyId || undefined,
    });
    const keep = checks.find((c) => c.keep)?.keep;
    const seconds = (performance.now() - started) / 1000;
    self.postMessage({ type: 'done', checks: checks.map(plainCheck), keep, seconds });
  } catch (err) {
    const detail = String(err?.detail || err?.message || err);
    self.postMessage({ type: 'error', code: err?.code ?? 'recount_failed', status: err?.status ?? 0, detail });
  } finally {
    running = false;
  }
});

// Only plain data crosses to the page.
function plainCheck(c) {
  const out = { name: String(c.name), status: String(c.status), detail: c.detail == null ? '' : String(c.detail) };
  if (c.message && typeof c.message.key === 'string') out.message = JSON.parse(JSON.stringify(c.message));
  return out;
}
