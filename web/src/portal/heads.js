// The signed tree heads this browser has seen for an election, kept in localStorage so the
// next recount can check that the log only grew (the consistency check of lib/recount.js;
// `observernet verify` keeps the same list in its state file). Pure apart from the storage
// passed in; unit-tested in test/unit/portal_heads.test.mjs.

const MAX_HEADS = 20;
const HEX64 = /^[0-9a-f]{64}$/;

// window.localStorage, or null where storage is disabled (reading it can throw).
export function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function storageKey(electionId) {
  return `observernet.treeHeads.${electionId}`;
}

function wellFormed(h) {
  return h && Number.isSafeInteger(h.treeSize) && h.treeSize >= 0 && typeof h.rootHash === 'string' &&
    HEX64.test(h.rootHash) && typeof h.timestamp === 'string';
}

// The list with `head` added: one entry per (treeSize, rootHash), the newest MAX_HEADS by size.
export function rememberHead(list, head, max = MAX_HEADS) {
  const out = (Array.isArray(list) ? list : []).filter(wellFormed);
  if (wellFormed(head) && !out.some((h) => h.treeSize === head.treeSize && h.rootHash === head.rootHash)) {
    out.push({ treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp });
  }
  out.sort((a, b) => a.treeSize - b.treeSize);
  return out.slice(-max);
}

export function loadHeads(storage, electionId) {
  try {
    return rememberHead(JSON.parse(storage?.getItem(storageKey(electionId)) ?? '[]'), null);
  } catch {
    return [];
  }
}

export function saveHead(storage, electionId, head) {
  try {
    storage?.setItem(storageKey(electionId), JSON.stringify(rememberHead(loadHeads(storage, electionId), head)));
  } catch {
    // storage full or disabled: the next run skips the consistency check
  }
}
