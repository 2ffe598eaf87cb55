// The receipt step's work: copy, download, poll the status, and check in the
// browser that the ballot is on the board (RFC 9162 inclusion proof against a
// tree head signed with the log key, lib/merkle.js and lib/tree_head.js).

import { verifyInclusion } from '../lib/merkle.js';
import { verifyTreeHead } from '../lib/tree_head.js';

/** Copies text; resolves to false when the clipboard is not available. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The JSON file the portal's /receipts page reads back. */
export function receiptFile({ electionId, receipt, acceptedAt }, origin = location.origin) {
  return {
    name: `observernet-receipt-${receipt.slice(0, 8)}.json`,
    body: JSON.stringify(
      { electionId, receipt, acceptedAt, checkUrl: `${origin}/receipts?receipt=${encodeURIComponent(receipt)}` },
      null,
      2,
    ) + '\n',
  };
}

export function downloadReceipt(data) {
  const file = receiptFile(data);
  const url = URL.createObjectURL(new Blob([file.body], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Polls GET /voting/receipts/{r} until it says sequenced, calling
 * onStatus(body) after each answer: every second at first, then slower,
 * giving up after about ten minutes. Errors are retried quietly.
 */
export function pollReceipt(api, receipt, onStatus, { sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = {}) {
  let stopped = false;
  (async () => {
    let delay = 1000;
    const deadline = Date.now() + 10 * 60 * 1000;
    while (!stopped && Date.now() < deadline) {
      try {
        const status = await api.receipt(receipt);
        onStatus(status);
        if (status.status === 'sequenced') return;
      } catch (err) {
        if (err?.retryAfter) delay = Math.max(delay, err.retryAfter * 1000);
      }
      await sleep(delay);
      delay = Math.min(Math.round(delay * 1.5), 15_000);
    }
  })();
  return () => {
    stopped = true;
  };
}

/**
 * Checks the receipt is on the board: the newest signed tree head, verified
 * with the log key; the inclusion proof for that tree size; the Merkle path
 * from the receipt (the leaf hash) to the signed root.
 * Resolves to {ok: true, leafIndex, treeSize, timestamp}, {notYet: true},
 * or {ok: false, reasonKey | error}.
 */
export async function checkOnBoard(api, electionId, receipt, { attempts = 5, delayMs = 1000 } = {}) {
  // Just after sequencing, the newest head and the proof index can lag a
  // moment behind each other: a missing proof is asked again a few times.
  for (let i = 1; ; i++) {
    const result = await checkOnce(api, electionId, receipt);
    if (!result.notYet || i >= attempts) return result;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

async function checkOnce(api, electionId, receipt) {
  try {
    const [sth, logKey] = await Promise.all([api.treeHead(electionId), api.logKey()]);
    const head = await verifyTreeHead(electionId, sth, logKey);
    if (!head.ok) return { ok: false, reasonKey: 'receipt.reasonSignature', detail: head.reason };
    let proof;
    try {
      proof = await api.inclusionProof(electionId, receipt, sth.treeSize);
    } catch (err) {
      if (err?.status === 404 || err?.status === 400) return { ok: false, notYet: true };
      throw err;
    }
    const ok =
      proof.treeSize === sth.treeSize &&
      verifyInclusion({
        leafHash: receipt,
        leafIndex: proof.leafIndex,
        treeSize: sth.treeSize,
        auditPath: proof.auditPath,
        rootHash: sth.rootHash,
      });
    if (!ok) return { ok: false, reasonKey: 'receipt.reasonProof' };
    return { ok: true, leafIndex: proof.leafIndex, treeSize: sth.treeSize, timestamp: sth.timestamp };
  } catch (err) {
    return { ok: false, error: err };
  }
}
