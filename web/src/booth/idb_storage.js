// The storage the booth's persisted flow (lib/booth_state.js) runs over:
// one IndexedDB object store of key -> structured-clone value, behind
// {get, put, delete} returning promises. When IndexedDB is not available
// (some private modes), a Map stands in and `persistent` is false, so the
// booth can warn the voter not to reload.

const DB_NAME = 'observernet-booth';
const STORE = 'state';

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDb() {
  const request = indexedDB.open(DB_NAME, 1);
  request.onupgradeneeded = () => request.result.createObjectStore(STORE);
  return promisify(request);
}

/** A storage over a Map (tests, and browsers without IndexedDB). */
export function memoryStorage() {
  const map = new Map();
  return {
    persistent: false,
    get: async (key) => (map.has(key) ? structuredClone(map.get(key)) : undefined),
    put: async (key, value) => void map.set(key, structuredClone(value)),
    delete: async (key) => void map.delete(key),
  };
}

/** Resolves to the IndexedDB storage, or the memory one when IndexedDB fails. */
export async function openStorage() {
  let db;
  try {
    db = await openDb();
  } catch {
    return memoryStorage();
  }
  // Each call is its own transaction; a put resolves once it is committed.
  const run = (mode, fn) =>
    new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode, { durability: 'strict' });
      const result = promisify(fn(tx.objectStore(STORE)));
      tx.oncomplete = () => result.then(resolve, reject);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  return {
    persistent: true,
    get: (key) => run('readonly', (s) => s.get(key)),
    put: (key, value) => run('readwrite', (s) => s.put(value, key)).then(() => undefined),
    delete: (key) => run('readwrite', (s) => s.delete(key)).then(() => undefined),
  };
}
