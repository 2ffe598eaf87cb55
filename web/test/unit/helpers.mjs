// Shared by the unit tests and test/bench_recount.mjs: a token key with its private half,
// a log key, and a synthetic bulletin board served by a fake api object. Not a test file.

import { auditEventHash, GENESIS_HASH } from '../../src/lib/audit.js';
import { ballotLeaf, receiptOf, tally } from '../../src/lib/ballot.js';
import { bytesToInt, importTokenKey, intToBytes } from '../../src/lib/blind_rsa.js';
import { b64urlDecode, b64urlEncode, concatBytes, hexDecode, hexEncode, utf8Encode } from '../../src/lib/encoding.js';
import { sha256 } from '../../src/lib/hash.js';
import { rootFromLeafHashes } from '../../src/lib/merkle.js';
import { treeHeadMessage } from '../../src/lib/tree_head.js';

const subtle = globalThis.crypto.subtle;
const PSS_PARAMS = { name: 'RSA-PSS', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-384' };

/** A fresh 2048-bit token key, or one from a private JWK: {key (as importTokenKey gives it),
 *  jwk, signBlinded(bytes) (RSASP1, the server's side of RFC 9474 §4.3), signToken(msg)}. */
export async function makeTokenKey(privateJwk) {
  let privateKey, jwk;
  if (privateJwk) {
    jwk = privateJwk;
    privateKey = await subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['sign']);
  } else {
    const pair = await subtle.generateKey(PSS_PARAMS, true, ['sign', 'verify']);
    privateKey = pair.privateKey;
    jwk = await subtle.exportKey('jwk', privateKey);
  }
  const publicKey = await subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, ext: true }, { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
  const spki = new Uint8Array(await subtle.exportKey('spki', publicKey));
  const body = { publicKey: b64urlEncode(spki), jwk: { kty: 'RSA', n: jwk.n, e: jwk.e } };
  const key = await importTokenKey(body);
  const d = bytesToInt(b64urlDecode(jwk.d));
  const signBlinded = (blinded) => {
    let [base, exp, acc] = [bytesToInt(blinded) % key.n, d, 1n];
    for (; exp > 0n; exp >>= 1n, base = (base * base) % key.n) if (exp & 1n) acc = (acc * base) % key.n;
    return intToBytes(acc, key.modulusBytes);
  };
  const signToken = async (msg) =>
    new Uint8Array(await subtle.sign({ name: 'RSA-PSS', saltLength: 48 }, privateKey, msg));
  return { key, jwk, body, signBlinded, signToken };
}

/** A Map with the storage interface of booth_state.js, that counts its writes. */
export function mapStorage() {
  const map = new Map();
  return {
    map,
    puts: 0,
    async get(k) { return map.has(k) ? structuredClone(map.get(k)) : undefined; },
    async put(k, v) { this.puts++; map.set(k, structuredClone(v)); },
    async delete(k) { map.delete(k); },
  };
}


// ---- a synthetic bulletin board ---------------------------------------------------------


export const CONTESTS = [
  { id: 'mayor', title: 'Mayor', minSelections: 1, maxSelections: 1,
    options: [{ id: 'alice', title: 'Alice' }, { id: 'bob', title: 'Bob' }, { id: 'carol', title: 'Carol' }] },
  { id: 'council', title: 'Council', minSelections: 0, maxSelections: 2,
    options: [{ id: 'xavier', title: 'Xavier' }, { id: 'yara', title: 'Yara' }, { id: 'zoe', title: 'Zoe' }] },
];

// Ballot i's choices: every contest rule kept, the options spread around.
export function selectionsFor(i) {
  const out = [{ contestId: 'mayor', optionId: CONTESTS[0].options[i % 3].id }];
  if (i % 4 !== 0) out.push({ contestId: 'council', optionId: CONTESTS[1].options[i % 3].id });
  if (i % 5 === 1) out.push({ contestId: 'council', optionId: CONTESTS[1].options[(i + 1) % 3].id });
  return out;
}

/** n signed tokens [{message, signature}] (base64url) under signer, `concurrency` at a time. */
export async function signTokens(signer, n, onProgress = () => {}) {
  const tokens = new Array(n);
  const batch = 64;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
      const msg = globalThis.crypto.getRandomValues(new Uint8Array(32));
      tokens[i + j] = { message: b64urlEncode(msg), signature: b64urlEncode(await signer.signToken(msg)) };
    }));
    onProgress(Math.min(i + batch, n));
  }
  return tokens;
}

// RFC 9162 §2.1.3.1 PATH(m, D[n]), from the definition.
export function auditPath(m, hashes) {
  if (hashes.length <= 1) return [];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return m < k
    ? [...auditPath(m, hashes.slice(0, k)), rootFromLeafHashes(hashes.slice(k))]
    : [...auditPath(m - k, hashes.slice(k)), rootFromLeafHashes(hashes.slice(0, k))];
}

// docs/formats.md, Roll commitments, from the definition: the RFC 9162 root over the sorted
// voter hashes, each leaf SHA-256(0x00 || the hash's 32 bytes).
export async function rollCommitment(voterHashes) {
  const sorted = [...voterHashes].sort();
  const leaves = await Promise.all(sorted.map((h) => sha256(concatBytes(Uint8Array.of(0), hexDecode(h)))));
  return { count: sorted.length, root: hexEncode(rootFromLeafHashes(leaves)) };
}

class FakeApiError extends Error {
  constructor(status, code) {
    super(`${status} ${code}`);
    Object.assign(this, { status, code, title: code, detail: '', errors: [], retryAfter: null });
  }
}

/** A board of the given tokens' ballots (closed: with the final head and results on the
 *  audit chain), and a fake api serving it. Everything in `board` can be altered before
 *  recount runs. The roll holds a voter for each ballot and three more, committed at the
 *  opening; `lateVoters` more are imported into the open election (commitment 2). Every
 *  ballot's voter and one abstainer were issued a token (board.voterHashes[0..n]). */
export async function buildBoard({ signer, tokens, closed = true, lateVoters = 0,
                                   electionId = '6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b' }) {
  const logPair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const logRaw = new Uint8Array(await subtle.exportKey('raw', logPair.publicKey));
  const logKey = { algorithm: 'Ed25519', keyId: hexEncode(await sha256(logRaw)), publicKey: b64urlEncode(logRaw) };

  const ballots = tokens.map((token, i) => {
    const selections = selectionsFor(i);
    return { leafIndex: i, receipt: receiptOf(ballotLeaf(electionId, selections, token)), token: { ...token }, selections };
  });
  const rootHash = hexEncode(rootFromLeafHashes(ballots.map((b) => hexDecode(b.receipt))));
  const head = { electionId, treeSize: ballots.length, rootHash, timestamp: '2026-12-04T18:00:00.000Z', logKeyId: logKey.keyId };
  const signature = await subtle.sign({ name: 'Ed25519' }, logPair.privateKey, utf8Encode(treeHeadMessage(electionId, head)));
  head.signature = b64urlEncode(new Uint8Array(signature));
  const status = closed ? 'closed' : 'open';
  const results = tally(CONTESTS, ballots, { electionId, status });

  // Voter i cast ballot i; voter n abstained with a token; the rest never asked for one.
  const early = ballots.length + 3;
  const voterHashes = await Promise.all(Array.from({ length: early + lateVoters }, async (_, i) =>
    hexEncode(await sha256(utf8Encode(`voter ${i}`)))));
  const byHash = (list) => [...list].sort();
  const roll = [
    ...byHash(voterHashes.slice(0, early)).map((voterHash) => ({ voterHash, commitment: 1 })),
    ...byHash(voterHashes.slice(early)).map((voterHash) => ({ voterHash, commitment: 2 })),
  ];
  const issued = byHash(voterHashes.slice(0, ballots.length + 1));

  const specs = [
    ['election.created', { title: 'Test election', resultsVisibility: 'live', contests: CONTESTS,
      tokenKey: { keyId: signer.key.keyId, modulusBits: signer.key.modulusBits } }],
    ['voters.imported', { registered: early, duplicates: 0, votersRegistered: early }],
    ['election.opened', { trigger: 'admin', votersRegistered: early, roll: await rollCommitment(voterHashes.slice(0, early)) }],
  ];
  if (lateVoters) {
    specs.push(['voters.imported', { registered: lateVoters, duplicates: 0, votersRegistered: voterHashes.length,
      roll: await rollCommitment(voterHashes) }]);
  }
  if (closed) {
    specs.push(['election.closed', { trigger: 'admin', votersRegistered: voterHashes.length, tokensIssued: issued.length }],
      ['tree_head.published', { ...head }], ['results.published', structuredClone(results)]);
  }
  const events = [];
  let prevHash = GENESIS_HASH;
  for (const [i, [type, payload]] of specs.entries()) {
    const event = { seq: i + 1, type, payload, at: `2026-12-04T17:0${i}:00.000Z`, prevHash };
    event.hash = await auditEventHash(event);
    events.push(event);
    prevHash = event.hash;
  }

  const board = {
    electionId, status, contests: CONTESTS, ballots, head, events, results, logKey, voterHashes, roll, issued,
    tokenKey: { electionId, keyId: signer.key.keyId, algorithm: 'RSABSSA-SHA384-PSS-Deterministic',
      modulusBits: signer.key.modulusBits, ...signer.body },
    calls: 0,
  };
  const answer = (value) => { board.calls++; return Promise.resolve(structuredClone(value)); };
  const page = (list, from, limit, name, first) => {
    const start = from - first;
    const items = list.slice(start, start + limit);
    const next = start + limit < list.length ? from + limit : null;
    return answer({ [name]: items, next });
  };
  // Paged by cursor: the items after the one whose key is `after` (docs/api/README.md).
  const cursorPage = (list, after, limit, name, keyOf) => {
    const start = after === undefined ? 0 : list.findIndex((x) => keyOf(x) === after) + 1;
    const items = list.slice(start, start + limit);
    const next = start + limit < list.length ? keyOf(items.at(-1)) : null;
    return answer({ [name]: items, next });
  };
  const api = {
    publicElection: () => answer({ id: electionId, title: 'Test election', status: board.status, contests: board.contests }),
    tokenKey: () => answer(board.tokenKey),
    logKey: () => answer(board.logKey),
    audit: (id, from = 1, limit = 1000) => page(board.events, from, limit, 'events', 1),
    treeHead: () => answer(board.head),
    ballots: (id, from = 0, limit = 1000) => page(board.ballots, from, limit, 'ballots', 0),
    roll: (id, after, limit = 1000) => cursorPage(board.roll, after, limit, 'voters', (v) => `${v.commitment}.${v.voterHash}`),
    issued: (id, after, limit = 1000) => cursorPage(board.issued, after, limit, 'voterHashes', (h) => h),
    results: () => (board.results ? answer(board.results) : Promise.reject(new FakeApiError(409, 'results_not_available'))),
    inclusionProof: (id, receipt, treeSize) => {
      const leafIndex = board.ballots.findIndex((b) => b.receipt === receipt);
      if (leafIndex < 0) return Promise.reject(new FakeApiError(404, 'not_found'));
      const hashes = board.ballots.slice(0, treeSize).map((b) => hexDecode(b.receipt));
      return answer({ leafIndex, treeSize, auditPath: auditPath(leafIndex, hashes).map(hexEncode) });
    },
    consistencyProof: () => Promise.reject(new FakeApiError(404, 'not_found')),
  };
  return { board, api };
}


