// Every message lib/recount.js and lib/tree_head.js give beside their English detail (or
// reason) is a key of the portal's English catalog with exactly the params it needs, and in
// English it reads as the detail does; in French and German it reads without placeholders.
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { recount } from '../../src/lib/recount.js';
import { checkLogKey, verifyTreeHead } from '../../src/lib/tree_head.js';
import { auditEventHash } from '../../src/lib/audit.js';
import { b64urlDecode, b64urlEncode } from '../../src/lib/encoding.js';
import { registerCatalog, resetI18n, setLanguage } from '../../src/lib/i18n.js';
import { messageText } from '../../src/portal/messages.js';
import en from '../../src/i18n/portal.en.js';
import fr from '../../src/i18n/portal.fr.js';
import de from '../../src/i18n/portal.de.js';
import { buildBoard, makeTokenKey, signTokens } from './helpers.mjs';

const signer = await makeTokenKey();
const tokens = await signTokens(signer, 12);

const placeholders = (message) => {
  const forms = typeof message === 'string' ? [message] : Object.values(message);
  return [...new Set(forms.flatMap((f) => [...f.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
};

// The key is in portal.en.js; the params are the placeholders (count only where plural),
// each param a string, a number, a message or a list of messages.
function checkMessage(message, where, keys) {
  assert.ok(message && typeof message.key === 'string', `${where}: no message`);
  assert.ok(message.key in en, `${where}: ${message.key} is not in portal.en.js`);
  keys.add(message.key);
  const catalog = en[message.key];
  const params = message.params ?? {};
  const given = Object.keys(params).filter((n) => n !== 'count').sort();
  assert.deepEqual(given, placeholders(catalog).filter((n) => n !== 'count'), `${where}: ${message.key} params`);
  if (typeof catalog === 'object') assert.equal(typeof params.count, 'number', `${where}: ${message.key} is plural, without count`);
  else assert.ok(!('count' in params), `${where}: ${message.key} is not plural, but has count`);
  for (const [name, value] of Object.entries(params)) {
    const list = Array.isArray(value) ? value : [value];
    for (const v of list) {
      if (v !== null && typeof v === 'object') checkMessage(v, `${where} > ${name}`, keys);
      else assert.ok(typeof v === 'string' || Number.isFinite(v), `${where}: ${message.key}.${name} is ${typeof v}`);
    }
  }
}

// Boards honest and altered, so that most of recount.js's messages come out.
async function scenarios() {
  const out = [];
  const run = async (label, made, options = {}) => {
    const { api, board } = made;
    out.push([label, await recount({ api, electionId: board.electionId, ...options })]);
  };
  const fresh = (opts = {}) => buildBoard({ signer, tokens, ...opts });

  let b = await fresh();
  await run('honest closed', b);
  await run('honest closed, receipt, pinned', b, { receipt: b.board.ballots[3].receipt, pinnedLogKeyId: b.board.logKey.keyId,
    earlierHeads: [{ treeSize: 12, rootHash: b.board.head.rootHash, timestamp: 't' }] });
  await run('receipt not on the board, other pin, fork', b, { receipt: 'ab'.repeat(32), pinnedLogKeyId: 'cd'.repeat(32),
    earlierHeads: [{ treeSize: 12, rootHash: '0'.repeat(64), timestamp: 't' }, { treeSize: 20, rootHash: '0'.repeat(64), timestamp: 'u' },
      { treeSize: 0, rootHash: '1'.repeat(64), timestamp: 'v' }, { treeSize: 5, rootHash: '2'.repeat(64), timestamp: 'w' }] });

  b = await fresh({ closed: false });
  await run('honest open', b);
  b.board.results = null;
  await run('open, no results', b);

  b = await fresh();
  b.board.ballots[7].selections = [{ contestId: 'mayor', optionId: 'carol' }];
  await run('altered ballot', b);

  b = await fresh();
  b.board.ballots[3].selections = [{ contestId: 'mayor', optionId: 'alice' }, { contestId: 'mayor', optionId: 'alice' },
    { contestId: 'nope', optionId: 'x' }, { contestId: 'council', optionId: 'nobody' }, { contestId: 'mayor', extra: 1 }, 7];
  b.board.ballots[4].selections = 'none';
  b.board.ballots[5].token = { message: 'not base64!', signature: 'x' };
  await run('rule breaking and malformed ballots', b);

  b = await fresh();
  const sig = b64urlDecode(b.board.ballots[5].token.signature);
  sig[10] ^= 1;
  b.board.ballots[5].token.signature = b64urlEncode(sig);
  b.board.ballots[9].token = { ...b.board.ballots[2].token };
  await run('forged and reused tokens', b);

  b = await fresh();
  const other = await makeTokenKey();
  b.board.tokenKey = { ...b.board.tokenKey, keyId: other.key.keyId, ...other.body };
  await run('another token key', b);

  b = await fresh();
  b.board.events[2].payload.votersRegistered += 1;
  await run('altered audit event', b);

  b = await fresh();
  b.board.results.contests[0].totals[1].votes += 1;
  await run('published results differ', b);

  b = await fresh();
  b.board.events[5].payload.ballotsCast = 99;
  b.board.events[5].hash = await auditEventHash(b.board.events[5]);
  await run('chained results differ', b);

  b = await fresh();
  b.board.head = { ...b.board.head, timestamp: '2026-12-04T18:00:01.000Z' };
  await run('head not signed, not final', b);

  b = await fresh();
  b.board.head = { ...b.board.head, logKeyId: 'ef'.repeat(32) };
  await run('head names another log key', b);

  b = await fresh();
  b.board.ballots.splice(4, 1);
  await run('missing leaf', b);

  b = await fresh();
  b.board.ballots.pop();
  await run('last leaf missing', b);

  b = await fresh();
  b.board.logKey = { ...b.board.logKey, keyId: '0'.repeat(64) };
  b.board.tokenKey = { ...b.board.tokenKey, algorithm: 'RSA' };
  b.board.events = [];
  await run('bad keys, empty chain', b);

  b = await fresh();
  b.api.results = () => Promise.reject(Object.assign(new Error('x'), { status: 500, code: 'internal' }));
  b.api.tokenKey = () => Promise.reject(Object.assign(new Error('x'), { status: 404, code: 'http_404' }));
  b.api.logKey = () => Promise.resolve({ algorithm: 'Ed25519' });
  b.api.publicElection = () => Promise.resolve([]);
  await run('HTTP errors and bad answers', b);

  // The roll, the issued list and a voter hash (docs/formats.md, Roll commitments).
  const rechain = async (events, from) => {
    for (let i = from; i < events.length; i++) {
      events[i].prevHash = events[i - 1].hash;
      events[i].hash = await auditEventHash(events[i]);
    }
  };
  const stranger = 'f'.repeat(64);
  const byRoll = (x, y) => x.commitment - y.commitment || (x.voterHash < y.voterHash ? -1 : 1);
  b = await fresh({ lateVoters: 3 });
  await run('late import, paged, a voter issued a token', b, { pageSize: 5, voterHash: b.board.voterHashes[1] });
  await run('a voter not issued a token', b, { voterHash: b.board.voterHashes[14] });
  await run('a voter hash not on the roll', b, { voterHash: stranger });

  b = await fresh({ closed: false });
  b.board.roll[0] = { ...b.board.roll[0], voterHash: '0'.repeat(64) };
  b.board.issued = [...b.board.issued, stranger];
  await run('roll altered, issued off the roll, open', b);

  b = await fresh();
  b.board.roll.push({ voterHash: stranger, commitment: 2 });
  b.board.issued = [...b.board.roll.map((v) => v.voterHash), 'e'.repeat(64)].sort();
  await run('a commitment the chain lacks, more issued than the roll', b);

  b = await fresh();
  b.board.roll.reverse();
  b.board.issued = b.board.issued.slice(0, 5).reverse();
  await run('roll and issued list out of order, fewer issued than ballots', b);

  b = await fresh({ lateVoters: 1 });
  b.board.roll.push({ ...b.board.roll[0], commitment: 2 });
  b.board.roll.sort(byRoll);
  await run('a voter on the roll twice', b);

  b = await fresh();
  b.board.events[2].payload.roll = { count: 1 };
  delete b.board.events[3].payload.tokensIssued;
  await rechain(b.board.events, 2);
  await run('a malformed roll commitment, no tokensIssued', b);

  b = await fresh();
  delete b.board.events[2].payload.roll;
  await rechain(b.board.events, 2);
  delete b.board.roll[7].voterHash;
  b.board.issued[2] = b.board.issued[2].toUpperCase();
  await run('no roll commitment, malformed roll and issued entries', b, { pageSize: 4, voterHash: stranger });

  b = await fresh();
  b.api.roll = () => Promise.resolve({ voters: [1] });
  await run('roll entry not an object', b, { voterHash: stranger });

  b = await fresh();
  b.api.issued = ((honest) => (id, after, limit) => (after ? Promise.resolve({ voterHashes: [], next: after }) : honest(id, after, limit)))(b.api.issued);
  await run('issued list stuck, the voter cannot read it', b, { pageSize: 4, voterHash: b.board.voterHashes[3] });

  b = await fresh();
  b.board.issued[0] = 7;
  await run('issued entry not a string', b);

  b = await fresh();
  const down = Object.fromEntries(Object.keys(b.api).map((k) => [k, () => Promise.reject(Object.assign(new Error('x'), { status: 0, detail: k === 'treeHead' ? '' : 'Failed to fetch' }))]));
  out.push(['network down', await recount({ api: down, electionId: b.board.electionId, receipt: 'ab'.repeat(32), voterHash: 'cd'.repeat(32) })]);
  return out;
}

const runs = await scenarios();

test('every recount result has a message whose keys and params are in portal.en.js', () => {
  const keys = new Set();
  for (const [label, checks] of runs) {
    for (const c of checks) checkMessage(c.message, `${label} / ${c.name} (${c.detail})`, keys);
  }
  assert.ok(keys.size >= 60, `only ${keys.size} keys seen`);
});

// The rarer failures no board above reaches: every key the sources name is in portal.en.js,
// and every recount key of the catalog is one the sources can produce.
test('every message key named in recount.js and tree_head.js is in portal.en.js', async () => {
  const code = (await Promise.all(['recount.js', 'tree_head.js'].map((f) =>
    readFile(new URL(`../../src/lib/${f}`, import.meta.url), 'utf8')))).join('\n');
  const named = new Set([...code.matchAll(/'((?:recount|treeHead)\.[A-Za-z0-9_.]+)'/g)].map((m) => m[1]));
  // Keys built at run time: say(..., `recount.n.${noun}`), what(..., key), the tree head's pass.
  for (const m of code.matchAll(/(?:counted|\.report)\([^;]*?'(\w+)'\)/g)) named.add(`recount.n.${m[1]}`);
  for (const m of code.matchAll(/what\([^;]*?, '(\w+)'(?:, \{[^}]*\})?\)/g)) named.add(`recount.what.${m[1]}`);
  for (const f of ['', 'Final']) for (const p of ['', 'Pinned']) named.add(`recount.treeHead.pass${f}${p}`);
  for (const key of named) assert.ok(key in en, `${key} is not in portal.en.js`);
  for (const key of Object.keys(en).filter((k) => /^(recount|treeHead)\./.test(k))) {
    assert.ok(named.has(key), `${key} is in portal.en.js but recount.js and tree_head.js never say it`);
  }
});

test('in English a message reads as its detail; in French and German without placeholders', async () => {
  resetI18n();
  registerCatalog('en', en);
  registerCatalog('fr', fr);
  registerCatalog('de', de);
  try {
    for (const [label, checks] of runs) {
      for (const c of checks) {
        await setLanguage('en');
        assert.equal(messageText(c.message, '?'), c.detail, `${label} / ${c.name}`);
        for (const lang of ['fr', 'de']) {
          await setLanguage(lang);
          const text = messageText(c.message, '?');
          assert.doesNotMatch(text, /\{\w+\}|^recount\.|^\?$/, `${lang}: ${label} / ${c.name}: ${text}`);
          if (c.status === 'pass') assert.notEqual(text, c.detail, `${lang}: ${label} / ${c.name} is still English`);
        }
      }
    }
    // Numbers in the page's language, hex as given; a key the catalogs lack falls back.
    await setLanguage('de');
    assert.equal(messageText({ key: 'recount.recount.pass', params: { n: 12345, count: 12345 } }),
      '12.345 Stimmzettel nachgezählt: die endgültigen Ergebnisse und die auf der Prüfkette stimmen überein');
    await setLanguage('fr');
    assert.match(messageText({ key: 'recount.tokens.pass', params: { ballots: { key: 'recount.n.ballots', params: { n: 1, count: 1 } },
      tokens: { key: 'recount.n.distinctTokens', params: { n: 1, count: 1 } }, keyId: '05b3...' } }), /^1 bulletin, 1 jeton distinct, .*05b3\.\.\./);
    assert.match(messageText({ key: 'recount.issued.pass', params: { hashes: { key: 'recount.n.voterHashes', params: { n: 2, count: 2 } },
      ballots: { key: 'recount.n.ballots', params: { n: 1, count: 1 } }, issued: 2, roll: 4 } }), /: 1 bulletin ≤ 2 jetons délivrés ≤ 4 électeurs inscrits$/);
    assert.equal(messageText({ key: 'recount.nope', params: {} }, 'the detail'), 'the detail');
    assert.equal(messageText({ key: 'recount.problems', params: { problems: [{ key: 'recount.nope' }] } }, 'the detail'), 'the detail');
    assert.equal(messageText(undefined, 'the detail'), 'the detail');
  } finally {
    resetI18n();
  }
});

test('tree head and log key failures carry a message in portal.en.js that reads as the reason', async () => {
  resetI18n();
  registerCatalog('en', en);
  try {
    const keys = new Set();
    const { board } = await buildBoard({ signer, tokens: tokens.slice(0, 2) });
    const head = board.head;
    const verdicts = [
      await checkLogKey({ ...board.logKey, algorithm: 'RSA' }),
      await checkLogKey({ ...board.logKey, publicKey: 'abc' }),
      await checkLogKey({ ...board.logKey, keyId: '0'.repeat(64) }),
      await verifyTreeHead('another', head, board.logKey),
      await verifyTreeHead(board.electionId, { ...head, treeSize: -1 }, board.logKey),
      await verifyTreeHead(board.electionId, { ...head, rootHash: 'x' }, board.logKey),
      await verifyTreeHead(board.electionId, { ...head, timestamp: 'yesterday' }, board.logKey),
      await verifyTreeHead(board.electionId, { ...head, logKeyId: 'ab'.repeat(32) }, board.logKey),
      await verifyTreeHead(board.electionId, { ...head, treeSize: 3 }, board.logKey),
    ];
    for (const v of verdicts) {
      assert.equal(v.ok, false);
      checkMessage(v.message, v.reason, keys);
      assert.equal(messageText(v.message), v.reason);
    }
    assert.equal(keys.size, verdicts.length);
  } finally {
    resetI18n();
  }
});
