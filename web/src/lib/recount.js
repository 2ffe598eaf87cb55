// The observer's recount in the browser: the checks of `observernet verify`
// (src/client/verify.cpp), with the same names, in the same order, worded the same way.
// Everything is downloaded once, then each check passes, fails or is skipped on its own.
// Fast enough for 100,000 ballots: RSA signatures are verified through WebCrypto in
// parallel batches, leaves hashed with the synchronous SHA-256, the root built once.

import { canonicalize } from './jcs.js';
import { b64urlDecode, hexDecode, hexEncode, utf8Encode } from './encoding.js';
import { importTokenKey, verifyToken } from './blind_rsa.js';
import { leafHash, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './merkle.js';
import { checkLogKey, verifyTreeHead } from './tree_head.js';
import { verifyAuditChain } from './audit.js';
import { compareCodePoints, compareResults, jsonEqual, normalizeContests, tally } from './ballot.js';

export const CHECKS = Object.freeze({
  tokenSignatures: 'token signatures',
  ballots: 'ballots',
  treeHead: 'tree head',
  consistency: 'consistency',
  auditChain: 'audit chain',
  roll: 'roll',
  issued: 'issued tokens',
  voterHash: 'voter hash',
  recount: 'recount',
  receipt: 'receipt',
});

const TOKEN_ALGORITHM = 'RSABSSA-SHA384-PSS-Deterministic';
const TOKEN_MESSAGE_BYTES = 32;
const MAX_SELECTIONS = 1000;
const MAX_JSON_INTEGER = Number.MAX_SAFE_INTEGER;
const SIGNATURE_BATCH = 256;
const HASH_HEX = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---- small things ----------------------------------------------------------------------

// A sentence said twice: in English (the text it turns into, verify.cpp's wording, kept in
// each result's `detail`) and as a catalog key with params (web/src/i18n/portal.*.js), so the
// portal can show it in the page's language. A param is a string, a number, another such
// sentence or a list of them (shown joined by "; "); `count` picks a plural form.
const say = (text, key, params = {}) => ({ key, params, toString: () => text });
const isSaid = (v) => v !== null && typeof v === 'object' && typeof v.key === 'string';
// The {key, params} of a sentence, as plain data; undefined for a bare string.
function messageOf(said) {
  if (!isSaid(said)) return undefined;
  const params = {};
  for (const [name, v] of Object.entries(said.params ?? {})) {
    params[name] = Array.isArray(v) ? v.map((x) => messageOf(x) ?? String(x)) : isSaid(v) ? messageOf(v) : v;
  }
  return { key: said.key, params };
}

class Unverifiable extends Error {
  constructor(said) {
    super(String(said));
    this.said = said;
  }
}

const result = (status) => (name, said) => {
  const r = { name, status, detail: String(said) };
  const message = messageOf(said);
  if (message) r.message = message;
  return r;
};
const pass = result('pass');
const fail = result('fail');
const skip = result('skip');
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
// "n things" as a sentence of its own: recount.n.<noun>.
const counted = (n, one, many, noun) => say(plural(n, one, many), `recount.n.${noun}`, { n, count: n });
const listed = (problems) => say(problems.join('; '), 'recount.problems', { problems });
const short = (hex) => (typeof hex === 'string' && hex.length > 16 ? hex.slice(0, 16) + '...' : String(hex));
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v) => (v === undefined ? 'null' : JSON.stringify(v));

// What a download gave ({value}) or why it gave nothing ({error}).
async function fetched(download) {
  try {
    return { value: await download() };
  } catch (e) {
    return { error: e instanceof Unverifiable ? e.said : stopped(e) };
  }
}

const stopped = (e) => say(`the check stopped: ${e?.message ?? e}`, 'recount.stopped', { reason: String(e?.message ?? e) });

// What was being read, as a sentence: "ballots from leaf 0", "token key".
const what = (text, key, params) => say(text, `recount.what.${key}`, params);
const fieldOf = (of, name) => what(`${of}: "${name}"`, 'field', { what: of, name });

// An ApiError in one line, as verify.cpp words a failed download.
function failedDownload(what, e) {
  if (e?.status === 0) {
    return new Unverifiable(e.detail
      ? say(`${what}: ${e.detail}`, 'recount.error.network', { what, reason: String(e.detail) })
      : say(`${what}: network error`, 'recount.error.networkUnknown', { what }));
  }
  if (e?.status) {
    if (e.code && !e.code.startsWith('http_')) {
      return new Unverifiable(say(`${what}: HTTP ${e.status} ${e.code}`, 'recount.error.httpCode', { what, status: String(e.status), code: e.code }));
    }
    return new Unverifiable(say(`${what}: HTTP ${e.status}`, 'recount.error.http', { what, status: String(e.status) }));
  }
  return e;
}

// A download's answer, or Unverifiable naming what and why (verify.cpp's get_json).
async function get(what, call) {
  let body;
  try {
    body = await call();
  } catch (e) {
    throw failedDownload(what, e);
  }
  if (!isObject(body)) throw new Unverifiable(say(`${what}: the answer is not a JSON object`, 'recount.error.notObject', { what }));
  return body;
}

function member(object, name, what) {
  if (!Object.hasOwn(object, name)) throw new Unverifiable(say(`${what}: no "${name}" in the answer`, 'recount.error.noMember', { what, name }));
  return object[name];
}
function stringMember(object, name, what) {
  const value = member(object, name, what);
  if (typeof value !== 'string') throw new Unverifiable(say(`${what}: "${name}" is not a string`, 'recount.error.notString', { what, name }));
  return value;
}
function countOf(value, what) {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_JSON_INTEGER) {
    throw new Unverifiable(say(`${what} is not a non-negative integer`, 'recount.error.notCount', { what }));
  }
  return value;
}
const countMember = (object, name, what) => countOf(member(object, name, what), fieldOf(what, name));
function digestMember(object, name, what) {
  const value = stringMember(object, name, what);
  if (!HASH_HEX.test(value)) throw new Unverifiable(say(`${what}: "${name}" is not 64 lowercase hex digits`, 'recount.error.notDigest', { what, name }));
  return value;
}
function arrayMember(object, name, what) {
  const value = member(object, name, what);
  if (!Array.isArray(value)) throw new Unverifiable(say(`${what}: "${name}" is not an array`, 'recount.error.notArray', { what, name }));
  return value;
}
function digestsMember(object, name, what) {
  const list = arrayMember(object, name, what);
  if (!list.every((h) => typeof h === 'string' && HASH_HEX.test(h))) {
    throw new Unverifiable(say(`${what}: "${name}" holds something other than 64 lowercase hex digits`, 'recount.error.notDigests', { what, name }));
  }
  return list;
}

// ---- the election's definition --------------------------------------------------------

function contestsOf(contests, what) {
  try {
    return normalizeContests(contests);
  } catch (e) {
    throw new Unverifiable(say(`${what}: the contests are malformed (${e.message})`, 'recount.error.contests', { what, reason: String(e.message) }));
  }
}

// ---- one ballot -------------------------------------------------------------------------

// src/domain/ballot.cpp read_selections: the shape of a ballot's selections, or the first
// problem as "field: message" (and how many more).
function readSelections(selections) {
  if (!Array.isArray(selections)) return { problems: [say('selections: must be an array', 'recount.rule.notArray', { path: 'selections' })] };
  if (selections.length > MAX_SELECTIONS) return { problems: [say('selections: too many selections', 'recount.rule.tooMany', { path: 'selections' })] };
  const problems = [], read = [];
  selections.forEach((item, i) => {
    const path = `selections[${i}]`;
    if (!isObject(item)) return problems.push(say(`${path}: must be an object`, 'recount.rule.notObject', { path }));
    let ok = true;
    for (const [name, value] of Object.entries(item)) {
      if (name !== 'contestId' && name !== 'optionId') {
        problems.push(say(`${path}.${name}: unknown field`, 'recount.rule.unknownField', { path: `${path}.${name}` }));
        ok = false;
      } else if (typeof value !== 'string') {
        problems.push(say(`${path}.${name}: must be a string`, 'recount.rule.notString', { path: `${path}.${name}` }));
        ok = false;
      }
    }
    for (const required of ['contestId', 'optionId']) {
      if (!Object.hasOwn(item, required)) {
        problems.push(say(`${path}.${required}: is required`, 'recount.rule.required', { path: `${path}.${required}` }));
        ok = false;
      }
    }
    if (ok) read.push({ contestId: item.contestId, optionId: item.optionId });
  });
  return { read, problems };
}

// src/domain/ballot.cpp parse_selections: the election's rules.
function ruleProblems(read, contests) {
  const problems = [];
  const perContest = new Map(), seen = new Set();
  read.forEach((s, i) => {
    const path = `selections[${i}]`;
    const contest = contests.find((c) => c.id === s.contestId);
    if (!contest) {
      return problems.push(say(`${path}.contestId: no such contest in this election`, 'recount.rule.noContest', { path: `${path}.contestId` }));
    }
    if (!contest.options.some((o) => o.id === s.optionId)) {
      return problems.push(say(`${path}.optionId: no such option in contest ${s.contestId}`, 'recount.rule.noOption',
        { path: `${path}.optionId`, contest: s.contestId }));
    }
    const key = JSON.stringify([s.contestId, s.optionId]);
    if (seen.has(key)) return problems.push(say(`${path}: the same option is selected twice`, 'recount.rule.twice', { path }));
    seen.add(key);
    perContest.set(s.contestId, (perContest.get(s.contestId) ?? 0) + 1);
  });
  for (const c of contests) {
    const n = perContest.get(c.id) ?? 0;
    if (n < c.minSelections || n > c.maxSelections) {
      const path = `contests.${c.id}`;
      problems.push(c.minSelections === c.maxSelections
        ? say(`${path}: ${n} selected; this contest takes ${c.minSelections}`, 'recount.rule.exactly',
          { path, selected: n, takes: c.minSelections })
        : say(`${path}: ${n} selected; this contest takes from ${c.minSelections} to ${c.maxSelections}`, 'recount.rule.range',
          { path, selected: n, min: c.minSelections, max: c.maxSelections }));
    }
  }
  return problems;
}

const firstProblem = (problems) => (problems.length > 1
  ? say(`${problems[0]} (and ${problems.length - 1} more)`, 'recount.rule.andMore',
    { problem: problems[0], n: problems.length - 1, count: problems.length - 1 })
  : problems[0]);

// verify.cpp read_ballot and rebuild_leaf.
function readBallot(item, what, electionId) {
  if (!isObject(item)) throw new Unverifiable(say(`${what}: not a JSON object`, 'recount.error.itemNotObject', { what }));
  const b = {
    leafIndex: countMember(item, 'leafIndex', what),
    receipt: stringMember(item, 'receipt', what),
  };
  const token = member(item, 'token', what);
  if (!isObject(token)) throw new Unverifiable(say(`${what}: "token" is not an object`, 'recount.error.tokenNotObject', { what }));
  b.tokenMessage = stringMember(token, 'message', what);
  b.tokenSignature = stringMember(token, 'signature', what);
  const { read, problems } = readSelections(member(item, 'selections', what));
  if (problems.length) {
    b.unreadable = firstProblem(problems);
    return b;
  }
  const sorted = [...read].sort((x, y) =>
    compareCodePoints(x.contestId, y.contestId) || compareCodePoints(x.optionId, y.optionId));
  try {
    const leaf = canonicalize({ electionId, selections: sorted,
      token: { message: b.tokenMessage, signature: b.tokenSignature } });
    b.leafHashBytes = leafHash(utf8Encode(leaf));
    b.leafHash = hexEncode(b.leafHashBytes);
    b.read = read; // in the order listed, for the rules' messages
  } catch (e) {
    b.unreadable = say(e.message, 'recount.ballots.unencodable', { reason: String(e.message) }); // a string with no UTF-8 form
  }
  return b;
}

// ---- downloads --------------------------------------------------------------------------

// A paged list, page after page from `start` while more(cursor), each page's items to
// take(items, what), until "next" is null (verify.cpp read_pages and read_cursor_pages).
// advance(next, cursor, what) reads the next page's cursor from "next", or gives undefined
// when it does not move on.
async function readPaged(call, itemsName, label, start, more, advance, take) {
  for (let cursor = start; more(cursor);) {
    const what = label(cursor);
    const page = await get(what, () => call(cursor));
    const items = arrayMember(page, itemsName, what);
    await take(items, what);
    const next = member(page, 'next', what);
    if (next === null) return;
    const moved = advance(next, cursor, what);
    if (moved === undefined || items.length === 0) {
      throw new Unverifiable(say(`${what}: "next" does not move past the ${itemsName} given`, 'recount.error.nextStuck', { what, items: itemsName }));
    }
    cursor = moved;
  }
}

// From `from` until "next" is null or reaches `end`; "next" is the next page's from.
const readPages = (call, itemsName, label, from, end, take) => readPaged(call, itemsName, label, from, (at) => at < end,
  (next, at, what) => {
    const nextFrom = countOf(next, fieldOf(what, 'next'));
    return nextFrom > at ? nextFrom : undefined;
  }, take);

// From the start until "next" is null; "next" is the cursor after the page, and `call(after)`
// gets undefined for the first.
const readCursorPages = (call, itemsName, label, take) => readPaged(call, itemsName, label, undefined, () => true,
  (next, after) => (typeof next === 'string' && next !== after ? next : undefined), take);

// "roll", then "roll after <cursor>": a cursor list's pages as verify.cpp names them.
const cursorLabel = (list) => (after) =>
  (after === undefined ? list : what(`${list} after ${after}`, 'after', { what: list, after }));

// The public roll, [{commitment, voterHash}] as served (docs/api/README.md).
async function fetchRoll(api, id, pageSize) {
  const roll = [];
  const label = cursorLabel(what('roll', 'roll'));
  await readCursorPages((after) => api.roll(id, after, pageSize), 'voters', label, (items, page) => {
    for (const item of items) {
      const entry = what(`${page}: voter ${roll.length}`, 'rollVoter', { page, index: roll.length });
      if (!isObject(item)) throw new Unverifiable(say(`${entry}: not a JSON object`, 'recount.error.itemNotObject', { what: entry }));
      roll.push({ commitment: countMember(item, 'commitment', entry), voterHash: digestMember(item, 'voterHash', entry) });
    }
  });
  return roll;
}

// The voter hashes issued a token, as served (docs/security.md, Issuance transparency).
async function fetchIssued(api, id, pageSize) {
  const issued = [];
  const label = cursorLabel(what('issued voter hashes', 'issued'));
  await readCursorPages((after) => api.issued(id, after, pageSize), 'voterHashes', label, (items, page) => {
    for (const item of items) {
      const entry = what(`${page}: voter hash ${issued.length}`, 'issuedHash', { page, index: issued.length });
      if (typeof item !== 'string') throw new Unverifiable(say(`${entry}: not a string`, 'recount.error.itemNotString', { what: entry }));
      if (!HASH_HEX.test(item)) throw new Unverifiable(say(`${entry}: not 64 lowercase hex digits`, 'recount.error.itemNotDigest', { what: entry }));
      issued.push(item);
    }
  });
  return issued;
}

async function fetchElection(api, id) {
  const what = say('election', 'recount.what.election');
  const body = await get(what, () => api.publicElection(id));
  if (stringMember(body, 'id', what) !== id) throw new Unverifiable(say('election: another election', 'recount.error.otherElection'));
  const status = stringMember(body, 'status', what);
  if (status !== 'open' && status !== 'closed') {
    throw new Unverifiable(say('election: status is neither open nor closed', 'recount.error.electionStatus'));
  }
  return { closed: status === 'closed', contests: contestsOf(member(body, 'contests', what), what) };
}

// src/client/voter.cpp fetch_token_key.
async function fetchTokenKey(api, id) {
  const what = say('token key', 'recount.what.tokenKey');
  const body = await get(what, () => api.tokenKey(id));
  if (stringMember(body, 'electionId', what) !== id) {
    throw new Unverifiable(say('token key: the token key is for another election', 'recount.error.tokenKeyElection'));
  }
  const algorithm = stringMember(body, 'algorithm', what);
  if (algorithm !== TOKEN_ALGORITHM) {
    throw new Unverifiable(say(`token key: unsupported token algorithm '${algorithm}'`, 'recount.error.tokenAlgorithm', { algorithm }));
  }
  let key;
  try {
    key = await importTokenKey({ publicKey: stringMember(body, 'publicKey', what), jwk: body.jwk });
  } catch (e) {
    if (e instanceof Unverifiable) throw e;
    throw new Unverifiable(say('token key: the token key is not an RSA key of 2048 to 16384 bits in SPKI DER form', 'recount.error.tokenKeyForm'));
  }
  if (stringMember(body, 'keyId', what) !== key.keyId) {
    throw new Unverifiable(say('token key: keyId is not the SHA-256 of the published key', 'recount.error.tokenKeyId'));
  }
  return key;
}

async function fetchLogKey(api) {
  const body = await get(say('log key', 'recount.what.logKey'), () => api.logKey());
  const checked = await checkLogKey(body);
  if (!checked.ok) throw new Unverifiable(say(checked.reason, checked.message.key, checked.message.params));
  return { body, keyId: checked.keyId };
}

// The audit chain's events from seq `start` on (1: all of it).
async function fetchAudit(api, id, progress, start = 1) {
  const events = [];
  const label = (from) => what(`audit events from seq ${from}`, 'auditPage', { from });
  await readPages((from) => api.audit(id, from), 'events', label, start, MAX_JSON_INTEGER,
    (items) => {
      for (const item of items) {
        const seq = start + events.length;
        const what = say(`audit event ${seq}`, 'recount.what.auditEvent', { seq });
        if (!isObject(item)) throw new Unverifiable(say(`${what}: not a JSON object`, 'recount.error.itemNotObject', { what }));
        events.push({
          seq: countMember(item, 'seq', what), type: stringMember(item, 'type', what),
          payload: member(item, 'payload', what), at: stringMember(item, 'at', what),
          prevHash: stringMember(item, 'prevHash', what), hash: stringMember(item, 'hash', what),
        });
      }
      progress('audit', events.length, undefined);
    });
  return events;
}

// The roll and the issued list, read after the audit chain. An import into the open
// election between the chain's read and the roll's puts voters on the roll under a
// commitment the chain read does not hold yet. The chain is append-only: its events since
// are read, and if they are imports alone, they join the chain read and the roll and
// issued list are read again; a few times at most, while imports keep coming. Anything
// else since (a close) leaves the board as it was read. As verify.cpp's read_roll_and_issued.
async function readRollAndIssued(api, board, pageSize, progress) {
  for (let round = 0; ; round++) {
    board.roll = await fetched(() => fetchRoll(api, board.electionId, pageSize));
    board.issued = await fetched(() => fetchIssued(api, board.electionId, pageSize));
    if (round === 3) return;
    const events = board.audit.value;
    const held = (board.facts.rollCommitments ?? []).length;
    if (!events?.length || !board.roll.value?.some((v) => v.commitment > held)) return;
    const newer = await fetched(() => fetchAudit(api, board.electionId, progress, events.at(-1).seq + 1));
    if (!newer.value?.length || !newer.value.every((e) => e.type === 'voters.imported')) return;
    board.audit = { value: [...events, ...newer.value] };
    board.chain = await verifyAuditChain(board.audit.value);
    board.facts = board.chain.facts ?? {};
  }
}

// The members of a tree head that the browser keeps and compares.
const TREE_HEAD_FIELDS = ['auditHead', 'auditSeq', 'logKeyId', 'rootHash', 'signature', 'timestamp', 'treeSize'];

function readTreeHead(object, what) {
  if (!isObject(object)) throw new Unverifiable(say(`${what}: not a JSON object`, 'recount.error.itemNotObject', { what }));
  const head = {
    treeSize: countMember(object, 'treeSize', what),
    rootHash: digestMember(object, 'rootHash', what),
    timestamp: stringMember(object, 'timestamp', what),
    signature: stringMember(object, 'signature', what),
    logKeyId: stringMember(object, 'logKeyId', what),
  };
  // The audit chain it pins, both members or neither (docs/formats.md, Signed tree heads).
  if ('auditSeq' in object || 'auditHead' in object) {
    head.auditSeq = countMember(object, 'auditSeq', what);
    head.auditHead = digestMember(object, 'auditHead', what);
  }
  return head;
}

async function fetchTreeHead(api, id) {
  const what = say('tree head', 'recount.what.treeHead');
  const body = await get(what, () => api.treeHead(id));
  if (stringMember(body, 'electionId', what) !== id) {
    throw new Unverifiable(say('tree head: for another election', 'treeHead.reason.otherElection'));
  }
  return { ...readTreeHead(body, what), electionId: id };
}

// Token signatures are checked as pages arrive, while the next page downloads: up to
// SIGNATURE_BATCH WebCrypto verifications in flight at once, a new one as each ends.
// The decoded bytes are dropped once used: 100,000 ballots are enough to hold in memory.
async function signaturesOf(key, ballots, start, end) {
  let next = start;
  const worker = async () => {
    while (next < end) {
      const b = ballots[next++];
      if (b.tokenBytes) b.signatureOk = key ? await verifyToken(key, b.tokenBytes, b.signatureBytes) : false;
      b.signatureBytes = null;
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIGNATURE_BATCH, end - start) }, worker));
}

function decodeToken(b) {
  try {
    const message = b64urlDecode(b.tokenMessage);
    const signature = b64urlDecode(b.tokenSignature);
    if (message.length === TOKEN_MESSAGE_BYTES) {
      b.tokenBytes = message;
      b.signatureBytes = signature;
    }
  } catch {
    // Malformed: the token check says so.
  }
  b.tokenSignature = undefined; // in the leaf hash and the bytes now
}

async function fetchBallots(api, id, treeSize, pageSize, tokenKey, progress) {
  const ballots = [];
  let verifying = Promise.resolve();
  const label = (from) => what(`ballots from leaf ${from}`, 'ballotsPage', { from });
  await readPages((from) => api.ballots(id, from, pageSize), 'ballots', label, 0, treeSize,
    async (items, page) => {
      const start = ballots.length;
      items.forEach((item, i) => {
        const b = readBallot(item, what(`${page}, item ${i}`, 'ballotItem', { page, item: i }), id);
        if (b.leafIndex < treeSize) {
          decodeToken(b);
          ballots.push(b);
        }
      });
      progress('ballots', ballots.length, treeSize);
      // One page's signatures at a time, overlapping the next page's download.
      await verifying;
      const end = ballots.length;
      verifying = signaturesOf(tokenKey, ballots, start, end).then(() => progress('signatures', end, treeSize));
    });
  await verifying;
  return ballots;
}

// ---- the checks (verify.cpp) ------------------------------------------------------------

function firstOf() {
  return {
    count: 0, first: '',
    add(describe) { if (this.count++ === 0) this.first = describe(); },
    report(problems, one, many, noun) {
      if (!this.count) return;
      const total = counted(this.count, one, many, noun);
      problems.push(say(`${this.first} (${total})`, 'recount.problem.first', { problem: this.first, total }));
    },
  };
}
const leafName = (b) => `leaf ${b.leafIndex}`;

function checkTokens(board) {
  const name = CHECKS.tokenSignatures;
  if (board.tokenKey.error) return fail(name, board.tokenKey.error);
  if (board.audit.error) {
    return fail(name, say(`cannot compare the token key with the audit chain: ${board.audit.error}`, 'recount.tokens.auditError',
      { reason: board.audit.error }));
  }
  const keyId = board.tokenKey.value.keyId;
  if (board.facts.tokenKeyId === undefined) {
    return fail(name, say('the audit chain announces no token key (election.created tokenKey.keyId)', 'recount.tokens.notAnnounced'));
  }
  if (board.facts.tokenKeyId !== keyId) {
    return fail(name, say(`the election's token key ${short(keyId)} is not the one announced on the audit chain, ${short(board.facts.tokenKeyId)}`,
      'recount.tokens.otherKey', { keyId: short(keyId), announced: short(board.facts.tokenKeyId) }));
  }
  if (board.ballots.error) return fail(name, board.ballots.error);
  const malformed = firstOf(), forged = firstOf(), reused = firstOf();
  const firstUse = new Map();
  for (const b of board.ballots.value) {
    if (!b.tokenBytes) {
      malformed.add(() => say(`${leafName(b)}: the token is not a base64url 32-byte message and a signature`, 'recount.tokens.malformed',
        { leaf: b.leafIndex }));
      continue;
    }
    if (!b.signatureOk) forged.add(() => say(`${leafName(b)}: the token's signature does not verify`, 'recount.tokens.forged', { leaf: b.leafIndex }));
    // The strict decoder gives each byte string one spelling: the text is the key.
    if (firstUse.has(b.tokenMessage)) {
      reused.add(() => say(`${leafName(b)} reuses the token of leaf ${firstUse.get(b.tokenMessage)}`, 'recount.tokens.reused',
        { leaf: b.leafIndex, first: firstUse.get(b.tokenMessage) }));
    } else {
      firstUse.set(b.tokenMessage, b.leafIndex);
    }
  }
  const problems = [];
  malformed.report(problems, 'malformed token', 'malformed tokens', 'malformedTokens');
  forged.report(problems, 'bad signature', 'bad signatures', 'badSignatures');
  reused.report(problems, 'token used twice', 'tokens used twice', 'reusedTokens');
  if (problems.length) return fail(name, listed(problems));
  const ballots = counted(board.ballots.value.length, 'ballot', 'ballots', 'ballots');
  const distinct = counted(firstUse.size, 'distinct token', 'distinct tokens', 'distinctTokens');
  return pass(name, say(`${ballots}, ${distinct}, signed with token key ${short(keyId)} as announced on the audit chain`,
    'recount.tokens.pass', { ballots, tokens: distinct, keyId: short(keyId) }));
}

function checkBallots(board) {
  const name = CHECKS.ballots;
  if (board.election.error) return fail(name, board.election.error);
  const contests = board.election.value.contests;
  if (board.audit.error) {
    return fail(name, say(`cannot compare the contests with the audit chain: ${board.audit.error}`, 'recount.ballots.auditError',
      { reason: board.audit.error }));
  }
  if (board.facts.contests === undefined) {
    return fail(name, say('the audit chain holds no definition of the election', 'recount.ballots.noDefinition'));
  }
  let audited;
  try {
    audited = contestsOf(board.facts.contests, what("the audit chain's definition", 'auditDefinition'));
  } catch (e) {
    return fail(name, e.said ?? e.message);
  }
  if (!jsonEqual(audited, contests)) {
    return fail(name, say("the election's contests are not the ones defined on its audit chain", 'recount.ballots.otherContests'));
  }
  if (board.ballots.error) return fail(name, board.ballots.error);
  const invalid = firstOf(), mismatched = firstOf();
  for (const b of board.ballots.value) {
    if (!b.read) {
      invalid.add(() => say(`${leafName(b)}: ${b.unreadable}`, 'recount.ballots.invalid', { leaf: b.leafIndex, problem: b.unreadable }));
    } else {
      const problems = ruleProblems(b.read, contests);
      if (problems.length) {
        invalid.add(() => {
          const problem = firstProblem(problems);
          return say(`${leafName(b)}: ${problem}`, 'recount.ballots.invalid', { leaf: b.leafIndex, problem });
        });
      }
    }
    if (b.leafHash && b.receipt !== b.leafHash) {
      mismatched.add(() => say(`${leafName(b)}: the receipt ${short(b.receipt)} is not the hash of the ballot's leaf, ${short(b.leafHash)}`,
        'recount.ballots.wrongReceipt', { leaf: b.leafIndex, receipt: short(b.receipt), leafHash: short(b.leafHash) }));
    }
  }
  const problems = [];
  invalid.report(problems, 'invalid ballot', 'invalid ballots', 'invalidBallots');
  mismatched.report(problems, 'wrong receipt', 'wrong receipts', 'wrongReceipts');
  if (problems.length) return fail(name, listed(problems));
  const ballots = counted(board.ballots.value.length, 'ballot', 'ballots', 'ballots');
  const kinds = counted(contests.length, 'contest', 'contests', 'contests');
  return pass(name, say(`${ballots} valid for ${kinds}, every receipt the hash of its leaf`, 'recount.ballots.pass',
    { ballots, contests: kinds }));
}

// Leaves 0..n-1 from the rebuilt leaves; an unreadable ballot counts with its receipt.
function leafHashes(ballots, problems) {
  const hashes = new Array(ballots.length);
  for (let i = 0; i < ballots.length; i++) {
    const b = ballots[i];
    if (b.leafIndex !== i) {
      problems.push(say(`leaf ${i} is missing: the board lists leaf ${b.leafIndex} in its place`, 'recount.treeHead.leafMissing',
        { leaf: i, listed: b.leafIndex }));
      return [];
    }
    if (b.leafHashBytes) {
      hashes[i] = b.leafHashBytes;
    } else if (HASH_HEX.test(b.receipt)) {
      hashes[i] = hexDecode(b.receipt);
    } else {
      problems.push(say(`${leafName(b)} has neither a well-formed ballot nor a receipt`, 'recount.treeHead.noLeaf', { leaf: b.leafIndex }));
      return [];
    }
  }
  return hashes;
}

function checkTreeHead(board) {
  const name = CHECKS.treeHead;
  if (board.head.error) return fail(name, board.head.error);
  if (board.logKey.error) return fail(name, board.logKey.error);
  const head = board.head.value;
  const logKeyId = board.logKey.value.keyId;
  const problems = [];
  if (board.pinnedLogKeyId && board.pinnedLogKeyId !== logKeyId) {
    problems.push(say(`the log key ${short(logKeyId)} is not the pinned one, ${short(board.pinnedLogKeyId)}`, 'recount.treeHead.notPinned',
      { keyId: short(logKeyId), pinned: short(board.pinnedLogKeyId) }));
  }
  if (head.logKeyId !== logKeyId) {
    problems.push(say(`the tree head names log key ${short(head.logKeyId)}, the server's is ${short(logKeyId)}`, 'treeHead.reason.otherKey',
      { named: short(head.logKeyId), server: short(logKeyId) }));
  } else if (!board.headSignatureOk) {
    problems.push(say('the signature does not verify under the log key', 'treeHead.reason.signature'));
  }
  if (board.ballots.error) {
    problems.push(board.ballots.error);
  } else if (board.ballots.value.length > head.treeSize) {
    const n = board.ballots.value.length;
    problems.push(say(`the board lists ${n} ballots below leaf ${head.treeSize}`, 'recount.treeHead.tooMany', { n, count: n, size: head.treeSize }));
  } else {
    const hashes = leafHashes(board.ballots.value, problems);
    if (!problems.length && hashes.length < head.treeSize) {
      const n = hashes.length;
      problems.push(say(`leaf ${n} is missing: the board lists ${plural(n, 'leaf', 'leaves')} of ${head.treeSize}`, 'recount.treeHead.short',
        { leaf: n, n, count: n, size: head.treeSize }));
    } else if (!problems.length) {
      board.progress('root', 0, 1);
      const root = hexEncode(rootFromLeafHashes(hashes));
      board.progress('root', 1, 1);
      if (root !== head.rootHash) {
        const n = hashes.length;
        problems.push(say(`the root of the ${plural(n, 'leaf', 'leaves')} is ${short(root)}, the tree head says ${short(head.rootHash)}`,
          'recount.treeHead.root', { n, count: n, root: short(root), expected: short(head.rootHash) }));
      }
    }
  }
  let finalNote = '';
  if (board.closed) {
    const published = board.facts.finalTreeHead;
    if (board.audit.error) {
      problems.push(say(`cannot compare with the final tree head on the audit chain: ${board.audit.error}`, 'recount.treeHead.auditError',
        { reason: board.audit.error }));
    } else if (published === undefined) {
      problems.push(say('the election is closed, but its audit chain has no tree_head.published', 'recount.treeHead.noFinal'));
    } else {
      for (const field of TREE_HEAD_FIELDS) {
        if (!isObject(published) || published[field] !== head[field]) {
          problems.push(say(`it is not the final tree head on the audit chain (${field} differs)`, 'recount.treeHead.notFinal', { field }));
          break;
        }
      }
      finalNote = ', the final one on the audit chain';
    }
  }
  if (problems.length) return fail(name, listed(problems));
  const key = `recount.treeHead.pass${finalNote ? 'Final' : ''}${board.pinnedLogKeyId ? 'Pinned' : ''}`;
  return pass(name, say(`size ${head.treeSize}, root ${short(head.rootHash)} recomputed from the ballots${finalNote}, ` +
    `signed with log key ${logKeyId}${board.pinnedLogKeyId ? ' (pinned)' : ' (not pinned)'}`, key,
  { size: head.treeSize, root: short(head.rootHash), keyId: logKeyId }));
}

// The browser keeps no state file: the earlier heads are the caller's (say, localStorage).
async function checkConsistency(api, board, earlierHeads) {
  const name = CHECKS.consistency;
  if (board.head.error) return fail(name, board.head.error);
  const newest = board.head.value;
  if (!earlierHeads?.length) return skip(name, say('no tree head seen before on this device', 'recount.consistency.none'));
  const problems = [];
  let proofs = 0;
  for (const earlier of earlierHeads) {
    const seen = say(`the tree head of size ${earlier.treeSize} from ${earlier.timestamp}`, 'recount.consistency.seen',
      { size: earlier.treeSize, time: String(earlier.timestamp) });
    if (earlier.treeSize > newest.treeSize) {
      problems.push(say(`the log shrank: ${seen}, now size ${newest.treeSize}`, 'recount.consistency.shrank', { seen, size: newest.treeSize }));
    } else if (earlier.treeSize === newest.treeSize) {
      if (earlier.rootHash !== newest.rootHash) {
        problems.push(say(`fork: ${seen} had root ${short(earlier.rootHash)}, now ${short(newest.rootHash)}`, 'recount.consistency.fork',
          { seen, root: short(earlier.rootHash), now: short(newest.rootHash) }));
      }
    } else if (earlier.treeSize === 0) {
      if (earlier.rootHash !== hexEncode(rootFromLeafHashes([]))) {
        problems.push(say(`${seen} has a root other than the empty tree's`, 'recount.consistency.notEmpty', { seen }));
      }
    } else {
      const what = say(`consistency proof from size ${earlier.treeSize} to ${newest.treeSize}`, 'recount.what.consistencyProof',
        { first: earlier.treeSize, second: newest.treeSize });
      proofs++;
      const proof = await fetched(async () => {
        const body = await get(what, () => api.consistencyProof(board.electionId, earlier.treeSize, newest.treeSize));
        if (countMember(body, 'first', what) !== earlier.treeSize || countMember(body, 'second', what) !== newest.treeSize) {
          throw new Unverifiable(say(`${what}: for other sizes`, 'recount.error.otherSizes', { what }));
        }
        return digestsMember(body, 'proof', what);
      });
      if (proof.error) {
        problems.push(proof.error);
      } else if (!verifyConsistency({ first: earlier.treeSize, second: newest.treeSize, firstRoot: earlier.rootHash,
        secondRoot: newest.rootHash, proof: proof.value })) {
        problems.push(say(`fork: ${seen} is not a prefix of the newest (size ${newest.treeSize}): its consistency proof fails`,
          'recount.consistency.proofFails', { seen, size: newest.treeSize }));
      }
    }
  }
  if (problems.length) return fail(name, listed(problems));
  const n = earlierHeads.length;
  const checked = counted(proofs, 'proof', 'proofs', 'proofs');
  return pass(name, say(`consistent with ${plural(n, 'tree head', 'tree heads')} seen before (${checked})`, 'recount.consistency.pass',
    { n, count: n, proofs: checked }));
}

// Each signed tree head pins the audit chain up to the event it names: the chain served
// now must still hold it (docs/formats.md, Signed tree heads). The newest head was read
// after the chain, which may have grown in between; an earlier one names an event the
// chain must have.
function auditPinProblem(events, head, newest) {
  const seen = say(`the tree head of size ${head.treeSize} from ${head.timestamp}`, 'recount.consistency.seen',
    { size: head.treeSize, time: String(head.timestamp) });
  if (head.auditSeq === 0) {
    return head.auditHead === '0'.repeat(64) ? undefined
      : say(`${seen} pins an empty audit chain with a hash other than zeros`, 'recount.audit.emptyPin', { seen });
  }
  if (head.auditSeq > events.length) {
    if (newest) return undefined;
    return say(`the audit chain lost events: ${seen} pins seq ${head.auditSeq}, the chain now ends at seq ${events.length}`,
      'recount.audit.lost', { seen, seq: head.auditSeq, last: events.length });
  }
  const found = events[head.auditSeq - 1].hash;
  if (found === head.auditHead) return undefined;
  return say(`the audit history was rewritten after ${seen}: it pins seq ${head.auditSeq} with hash ${short(head.auditHead)}, ` +
    `the chain has ${short(found)}`, 'recount.audit.rewritten',
  { seen, seq: head.auditSeq, pinned: short(head.auditHead), found: short(found) });
}

function checkAuditChain(board, earlierHeads) {
  const name = CHECKS.auditChain;
  if (board.audit.error) return fail(name, board.audit.error);
  const events = board.audit.value;
  if (!events.length) return fail(name, say('the audit chain is empty', 'recount.audit.empty'));
  const n = events.length;
  if (!board.chain.ok) {
    return fail(name, say(`the chain breaks at seq ${board.chain.failedSeq} (of ${plural(n, 'event', 'events')})`, 'recount.audit.breaks',
      { seq: board.chain.failedSeq, n, count: n }));
  }
  if (board.election.value?.closed && !board.facts.closed) {
    return fail(name, say('the election is closed, but its audit chain has no election.closed', 'recount.audit.notClosed'));
  }
  // Only signed heads pin anything: the earlier ones were kept because they were.
  const heads = (earlierHeads ?? []).map((head) => [head, false]);
  if (board.headSigned) heads.push([board.head.value, true]);
  const pinning = heads.filter(([head]) => head.auditSeq !== undefined);
  const problems = pinning.map(([head, newest]) => auditPinProblem(events, head, newest)).filter(Boolean);
  if (problems.length) return fail(name, listed(problems));
  const pins = pinning.length;
  return pass(name, say(`${plural(n, 'event', 'events')}, seq 1 to ${events.at(-1).seq}, unbroken; head ${short(events.at(-1).hash)}; ` +
    `signed tree heads pinning it: ${pins}`,
  'recount.audit.pass', { n, count: n, last: events.at(-1).seq, head: short(events.at(-1).hash), pins }));
}

// {count, root} as the audit chain writes a roll commitment, exactly those two members
// (src/domain/roll.cpp roll_commitment_from_json); undefined for anything else.
function rollCommitmentOf(j) {
  if (!isObject(j) || Object.keys(j).length !== 2) return undefined;
  const { count, root } = j;
  if (!Number.isSafeInteger(count) || count < 0 || typeof root !== 'string' || !HASH_HEX.test(root)) return undefined;
  return { count, root };
}

// Lowercase hex compares as the bytes it spells.
const compareHex = (x, y) => (x < y ? -1 : x > y ? 1 : 0);

// The roll served is the one the audit chain committed to, commitment by commitment: the
// k-th covers the voters whose commitment is at most k, so each extends the one before
// (docs/formats.md, Roll commitments).
function checkRoll(board) {
  const name = CHECKS.roll;
  if (board.audit.error) {
    return fail(name, say(`cannot compare with the audit chain: ${board.audit.error}`, 'recount.roll.auditError', { reason: board.audit.error }));
  }
  const chain = board.facts.rollCommitments ?? [];
  if (!chain.length) return fail(name, say('the audit chain holds no roll commitment (election.opened roll)', 'recount.roll.none'));
  const commitments = [];
  for (const j of chain) {
    const commitment = rollCommitmentOf(j);
    if (!commitment) {
      const k = commitments.length + 1;
      return fail(name, say(`roll commitment ${k} on the audit chain is not {"count", "root"}`, 'recount.roll.malformed', { k }));
    }
    commitments.push(commitment);
  }
  if (board.roll.error) return fail(name, board.roll.error);
  const roll = board.roll.value;
  const seen = new Set();
  for (const [i, v] of roll.entries()) {
    const which = say(`roll entry ${i} (${short(v.voterHash)})`, 'recount.roll.entry', { index: i, hash: short(v.voterHash) });
    if (v.commitment < 1 || v.commitment > commitments.length) {
      return fail(name, say(`${which} names commitment ${v.commitment}, the audit chain holds ${commitments.length}`, 'recount.roll.noCommitment',
        { entry: which, commitment: v.commitment, held: commitments.length }));
    }
    const before = roll[i - 1];
    if (before && (before.commitment > v.commitment || (before.commitment === v.commitment && before.voterHash >= v.voterHash))) {
      return fail(name, say(`${which} is out of order`, 'recount.roll.order', { entry: which }));
    }
    if (seen.has(v.voterHash)) return fail(name, say(`${which} is on the roll twice`, 'recount.roll.twice', { entry: which }));
    seen.add(v.voterHash);
  }
  // Each voter's leaf hashed once, in ascending hash order: commitment k's leaves are those
  // covered, in the same order (src/domain/roll.cpp commit_roll).
  const sorted = [...roll].sort((x, y) => compareHex(x.voterHash, y.voterHash))
    .map((v) => ({ commitment: v.commitment, leaf: leafHash(hexDecode(v.voterHash)) }));
  for (const [index, committed] of commitments.entries()) {
    const k = index + 1;
    const leaves = sorted.filter((v) => v.commitment <= k).map((v) => v.leaf);
    const root = hexEncode(rootFromLeafHashes(leaves));
    if (leaves.length !== committed.count || root !== committed.root) {
      return fail(name, say(`roll commitment ${k} on the audit chain is ${committed.count} voters, root ${short(committed.root)}; ` +
        `the roll served gives ${leaves.length}, root ${short(root)}`, 'recount.roll.differs',
      { k, committed: committed.count, root: short(committed.root), served: leaves.length, servedRoot: short(root) }));
    }
  }
  const voters = counted(roll.length, 'voter', 'voters', 'voters');
  const held = counted(commitments.length, 'commitment', 'commitments', 'commitments');
  const root = short(commitments.at(-1).root);
  return pass(name, say(`${voters}, as committed on the audit chain (${held}, root ${root})`, 'recount.roll.pass',
    { voters, commitments: held, root }));
}

// Every voter hash issued a token is on the roll, and ballots <= issued <= roll; once
// closed, the list holds every token the close counted (docs/security.md, Issuance
// transparency).
function checkIssued(board) {
  const name = CHECKS.issued;
  if (board.issued.error) return fail(name, board.issued.error);
  if (board.roll.error) return fail(name, say(`cannot compare with the roll: ${board.roll.error}`, 'recount.issued.rollError', { reason: board.roll.error }));
  const issued = board.issued.value;
  const roll = new Set(board.roll.value.map((v) => v.voterHash));
  const problems = [];
  const unlisted = firstOf();
  for (const [i, hash] of issued.entries()) {
    if (i > 0 && issued[i - 1] >= hash) {
      problems.push(say(`voter hash ${i} of the list is out of order`, 'recount.issued.order', { index: i }));
      break;
    }
    if (!roll.has(hash)) {
      unlisted.add(() => say(`voter hash ${short(hash)} was issued a token but is not on the roll`, 'recount.issued.notOnRoll', { hash: short(hash) }));
    }
  }
  unlisted.report(problems, 'voter hash', 'voter hashes', 'voterHashes');
  if (issued.length > roll.size) {
    problems.push(say(`${plural(issued.length, 'token', 'tokens')} issued for a roll of ${plural(roll.size, 'voter', 'voters')}`,
      'recount.issued.moreThanRoll',
      { tokens: counted(issued.length, 'token', 'tokens', 'tokens'), voters: counted(roll.size, 'voter', 'voters', 'voters') }));
  }
  const ballots = board.head.value?.treeSize ?? 0;
  if (ballots > issued.length) {
    problems.push(say(`${plural(ballots, 'ballot', 'ballots')} on the board, but only ${issued.length} voter hashes issued a token`,
      'recount.issued.fewerThanBallots', { ballots: counted(ballots, 'ballot', 'ballots', 'ballots'), issued: issued.length }));
  }
  let closedNote = '';
  if (board.facts.closed) {
    const tokens = board.facts.tokensIssued;
    if (!Number.isSafeInteger(tokens) || tokens < 0) {
      problems.push(say("the audit chain's election.closed holds no tokensIssued", 'recount.issued.noCount'));
    } else if (tokens !== issued.length) {
      problems.push(say(`the close counted ${tokens} tokens issued, the list holds ${issued.length}`, 'recount.issued.closeDiffers',
        { counted: tokens, listed: issued.length }));
    } else {
      closedNote = ', every token the close counted';
    }
  }
  if (problems.length) return fail(name, listed(problems));
  const hashes = counted(issued.length, 'voter hash', 'voter hashes', 'voterHashes');
  const cast = counted(ballots, 'ballot', 'ballots', 'ballots');
  return pass(name, say(`${hashes} issued a token, all on the roll${closedNote}: ` +
    `${cast} <= ${issued.length} issued <= ${roll.size} on the roll`,
  closedNote ? 'recount.issued.passClosed' : 'recount.issued.pass', { hashes, ballots: cast, issued: issued.length, roll: roll.size }));
}

// A voter's own question: was a token issued in my name? (docs/security.md, Issuance
// transparency). Only the voter knows whether they asked for one. The skip is worded as
// verify.cpp's, flag and all, so that the two read the same; the catalogs say it for a page.
function checkVoter(board, voterHash) {
  const name = CHECKS.voterHash;
  if (!voterHash) return skip(name, say('no --voter-hash given', 'recount.voter.none'));
  if (board.roll.error) {
    return fail(name, say(`cannot look for it on the roll: ${board.roll.error}`, 'recount.voter.rollError', { reason: board.roll.error }));
  }
  const hash = short(voterHash);
  const onRoll = board.roll.value.find((v) => v.voterHash === voterHash);
  if (!onRoll) return fail(name, say(`voter hash ${hash} is not on the roll`, 'recount.voter.notOnRoll', { hash }));
  const where = say(`voter hash ${hash} is on the roll (commitment ${onRoll.commitment})`, 'recount.voter.onRoll',
    { hash, commitment: onRoll.commitment });
  if (board.issued.error) {
    return fail(name, say(`${where}; cannot read the issued list: ${board.issued.error}`, 'recount.voter.issuedError',
      { where, reason: board.issued.error }));
  }
  if (board.issued.value.includes(voterHash)) {
    return pass(name, say(`${where}; a token WAS issued in this name: if you did not ask for one, someone else did`,
      'recount.voter.issued', { where }));
  }
  return pass(name, say(`${where}; no token was issued in this name (as of the last published set)`, 'recount.voter.notIssued', { where }));
}

async function checkRecount(api, board) {
  const name = CHECKS.recount;
  if (board.election.error) return fail(name, board.election.error);
  if (board.ballots.error) return fail(name, board.ballots.error);
  let published;
  try {
    published = await api.results(board.electionId);
  } catch (e) {
    if (e?.status === 409 && e.code === 'results_not_available' && !board.closed) {
      return skip(name, say('the results are not published before the election closes', 'recount.recount.notYet'));
    }
    const failed = failedDownload(say('results', 'recount.what.results'), e);
    return fail(name, failed.said ?? failed.message);
  }
  const ballots = board.ballots.value;
  const recounted = tally(board.election.value.contests, ballots.map((b) => ({ selections: b.read ?? null })),
    { electionId: board.electionId, status: board.closed ? 'closed' : 'open' });
  const n = ballots.length;
  const counted = `recounted ${plural(n, 'ballot', 'ballots')}`;
  if (!board.closed) {
    // Live results count ballots not yet sequenced: only a count of the same ballots compares.
    const cast = isObject(published) ? published.ballotsCast : undefined;
    if (!jsonEqual(cast, recounted.ballotsCast)) {
      return skip(name, say(`the live results count ${show(cast)} ballots, the tree head ${n}: run again once the election is closed`,
        'recount.recount.liveCount', { cast: show(cast), n }));
    }
  }
  const live = compareResults(recounted, published);
  if (!live.ok) {
    return fail(name, say(`the published results differ from the ${counted}: ${live.difference}`, 'recount.recount.differs',
      { n, count: n, difference: String(live.difference) }));
  }
  if (!board.closed) return pass(name, say(`${counted}: the live results match`, 'recount.recount.livePass', { n, count: n }));
  if (board.audit.error) {
    return fail(name, say(`cannot compare with the results on the audit chain: ${board.audit.error}`, 'recount.recount.auditError',
      { reason: board.audit.error }));
  }
  if (board.facts.publishedResults === undefined) {
    return fail(name, say('the election is closed, but its audit chain has no results.published', 'recount.recount.noResults'));
  }
  const chained = compareResults(recounted, board.facts.publishedResults);
  if (!chained.ok) {
    return fail(name, say(`the results on the audit chain differ from the ${counted}: ${chained.difference}`, 'recount.recount.chainDiffers',
      { n, count: n, difference: String(chained.difference) }));
  }
  return pass(name, say(`${counted}: the final results and those on the audit chain match`, 'recount.recount.pass', { n, count: n }));
}

async function checkReceipt(api, board, receipt) {
  const name = CHECKS.receipt;
  if (!receipt) return skip(name, say('no receipt given', 'recount.receipt.none'));
  if (board.head.error) return fail(name, board.head.error);
  const head = board.head.value;
  const what = say('inclusion proof', 'recount.what.inclusionProof');
  const proof = await fetched(async () => {
    const body = await get(what, () => api.inclusionProof(board.electionId, receipt, head.treeSize));
    if (countMember(body, 'treeSize', what) !== head.treeSize) {
      throw new Unverifiable(say(`${what}: for another tree size`, 'recount.error.otherTreeSize', { what }));
    }
    return { leafIndex: countMember(body, 'leafIndex', what), auditPath: digestsMember(body, 'auditPath', what) };
  });
  if (proof.error) {
    return fail(name, say(`${proof.error} (a ballot cast in the last seconds may not be in the log yet)`, 'recount.receipt.noProof',
      { reason: proof.error }));
  }
  const { leafIndex, auditPath } = proof.value;
  if (!verifyInclusion({ leafHash: receipt, leafIndex, treeSize: head.treeSize, auditPath, rootHash: head.rootHash })) {
    return fail(name, say(`the inclusion proof for leaf ${leafIndex} of ${head.treeSize} does not lead to the tree head's root`,
      'recount.receipt.proofFails', { leaf: leafIndex, size: head.treeSize }));
  }
  if (board.ballots.error) return fail(name, board.ballots.error);
  if (!board.ballots.value.some((b) => b.leafIndex === leafIndex && b.leafHash === receipt)) {
    return fail(name, say(`leaf ${leafIndex} is in the log, but the board lists no ballot with this receipt there`, 'recount.receipt.notListed',
      { leaf: leafIndex }));
  }
  const n = auditPath.length;
  return pass(name, say(`${short(receipt)} is leaf ${leafIndex} of ${head.treeSize}: listed, and its inclusion proof ` +
    `(${plural(n, 'hash', 'hashes')}) leads to the signed root`, 'recount.receipt.pass',
  { receipt: short(receipt), leaf: leafIndex, size: head.treeSize, n, count: n }));
}

// A check that throws (it should not) fails instead of taking the others with it.
async function guarded(name, check) {
  try {
    return await check();
  } catch (e) {
    return fail(name, stopped(e));
  }
}

/** The whole recount of one election: [{name, status: 'pass'|'fail'|'skip', detail, message?}] in
 *  the order of `observernet verify`. detail is in English, worded as verify.cpp words it;
 *  message ({key, params}: a catalog key of web/src/i18n/portal.*.js, its params either
 *  strings, numbers, such messages or lists of them) says the same in the page's language. api: createApi()'s object. onProgress({phase, done, total})
 *  with phase 'download', 'audit', 'ballots', 'signatures', 'root'. receipt (hex) adds the
 *  receipt check; voterHash (hex, a voter's own, from the import or the booth link) the
 *  voter hash one; earlierHeads ([{treeSize, rootHash, timestamp}]) the consistency one;
 *  pinnedLogKeyId the pin. The consistency result carries `keep`, the newest signed head. */
export async function recount({ api, electionId, onProgress = () => {}, pageSize = 1000, receipt,
                                 voterHash, earlierHeads, pinnedLogKeyId } = {}) {
  const progress = (phase, done, total) => onProgress({ phase, done, total });
  // The server writes UUIDs in lowercase, and leaves and tree heads hold the id as written.
  const id = String(electionId).toLowerCase();
  if (!UUID.test(id)) throw new TypeError('the election id is not a UUID');
  const wantedReceipt = receipt ? String(receipt).toLowerCase() : undefined;
  if (wantedReceipt !== undefined && !HASH_HEX.test(wantedReceipt)) throw new TypeError('the receipt is not 64 hex digits');
  const wantedVoter = voterHash ? String(voterHash).toLowerCase() : undefined;
  if (wantedVoter !== undefined && !HASH_HEX.test(wantedVoter)) throw new TypeError('the voter hash is not 64 hex digits');
  const board = { electionId: id, progress, pinnedLogKeyId: pinnedLogKeyId?.toLowerCase() };

  progress('download', 0, undefined);
  [board.election, board.tokenKey, board.logKey] = await Promise.all([
    fetched(() => fetchElection(api, id)), fetched(() => fetchTokenKey(api, id)), fetched(() => fetchLogKey(api)),
  ]);
  // After the election: a status of closed seen there must be on the chain by now.
  board.audit = await fetched(() => fetchAudit(api, id, progress));
  board.chain = board.audit.value ? await verifyAuditChain(board.audit.value) : { ok: false, facts: {} };
  board.facts = board.chain.facts ?? {};
  board.closed = Boolean(board.facts.closed || board.election.value?.closed);
  // After the audit chain: once it records the close, the tree head is the final one.
  board.head = await fetched(() => fetchTreeHead(api, id));
  if (board.head.value) {
    board.ballots = await fetched(() =>
      fetchBallots(api, id, board.head.value.treeSize, pageSize, board.tokenKey.value, progress));
    if (board.logKey.value) {
      board.headSignatureOk = (await verifyTreeHead(id, { ...board.head.value, electionId: id }, board.logKey.value.body)).ok;
    }
  } else {
    board.ballots = { error: say(`no ballots read without a tree head (${board.head.error})`, 'recount.ballots.noHead', { reason: board.head.error }) };
  }
  // After the tree head: the issued list only grows, and holds every ballot's token by then.
  await readRollAndIssued(api, board, pageSize, progress);
  board.headSigned = Boolean(board.headSignatureOk && (!board.pinnedLogKeyId || board.pinnedLogKeyId === board.logKey.value?.keyId));

  const consistency = await guarded(CHECKS.consistency, () => checkConsistency(api, board, earlierHeads));
  if (board.headSigned && consistency.status !== 'fail') {
    consistency.keep = Object.fromEntries(TREE_HEAD_FIELDS.filter((f) => f in board.head.value).map((f) => [f, board.head.value[f]]));
  }
  return [
    await guarded(CHECKS.tokenSignatures, () => checkTokens(board)),
    await guarded(CHECKS.ballots, () => checkBallots(board)),
    await guarded(CHECKS.treeHead, () => checkTreeHead(board)),
    consistency,
    await guarded(CHECKS.auditChain, () => checkAuditChain(board, earlierHeads)),
    await guarded(CHECKS.roll, () => checkRoll(board)),
    await guarded(CHECKS.issued, () => checkIssued(board)),
    await guarded(CHECKS.voterHash, () => checkVoter(board, wantedVoter)),
    await guarded(CHECKS.recount, () => checkRecount(api, board)),
    await guarded(CHECKS.receipt, () => checkReceipt(api, board, wantedReceipt)),
  ];
}
