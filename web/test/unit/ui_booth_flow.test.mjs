// The booth's flow (src/booth/flow.js) over a Map storage and a fake API with a
// real RSA key: the token request and the ballot are saved before they are sent,
// and every retry (5xx, lost connection, a "reload" = a new flow over the same
// storage) sends the identical request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFlow, withRetries } from '../../src/booth/flow.js';
import { memoryStorage } from '../../src/booth/idb_storage.js';
import { ApiError } from '../../src/lib/api.js';
import { importTokenKey } from '../../src/lib/blind_rsa.js';
import { ballotLeaf, receiptOf } from '../../src/lib/ballot.js';
import { b64urlDecode, b64urlEncode } from '../../src/lib/encoding.js';

const ELECTION = '0b6f2f3e-1111-4222-8333-944445555666';

const toInt = (bytes) => BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
function toBytes(x, length) {
  const hex = x.toString(16).padStart(length * 2, '0');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
function modPow(b, e, m) {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

async function makeKey() {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
    true,
    ['sign', 'verify'],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const key = await importTokenKey({ publicKey: b64urlEncode(spki) });
  const d = toInt(b64urlDecode(jwk.d));
  // The server's blind signature: blindedMessage^d mod n (RFC 9474 §4.3).
  const signBlinded = (blinded) => b64urlEncode(toBytes(modPow(toInt(b64urlDecode(blinded)), d, key.n), key.modulusBytes));
  return { key, signBlinded };
}

const keyPromise = makeKey();

// A fake API: each route answers from a script of failures, then for real.
function fakeApi({ signBlinded, keyId }, script = {}) {
  const seen = { token: [], submit: [] };
  const fail = (route) => {
    const next = script[route]?.shift();
    if (next) throw next;
  };
  return {
    seen,
    async requestToken(body) {
      seen.token.push(structuredClone(body));
      fail('token');
      return { blindSignature: signBlinded(body.blindedMessage), keyId };
    },
    async submitBallot(body) {
      seen.submit.push(JSON.stringify(body));
      fail('submit');
      const receipt = receiptOf(ballotLeaf(body.electionId, body.selections, body.token));
      return { receipt, electionId: body.electionId, acceptedAt: '2026-12-04T18:00:00Z' };
    },
  };
}

const serverError = () => new ApiError({ status: 503, code: 'service_unavailable' });
const lost = () => new ApiError({ status: 0, code: 'network_error' });
const quick = { onRetry: ({ retryNow }) => retryNow(), onWait: ({ retryNow }) => retryNow() };

// A tab's sessionStorage: a reload keeps it, a new visit (a new tab) starts empty.
function tabSession() {
  const map = new Map();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, String(v)), removeItem: (k) => void map.delete(k) };
}

async function signedIn({ storage, session = tabSession(), voter = 'carol', script } = {}) {
  const { key, signBlinded } = await keyPromise;
  const api = fakeApi({ signBlinded, keyId: key.keyId }, script);
  const flow = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session });
  await flow.select(voter, 'C');
  await flow.obtainToken({ voterId: voter, credential: 'C', ...quick });
  return { api, flow, session };
}

test('token: a 503 then a lost connection resend the same blinded message', async () => {
  const { key, signBlinded } = await keyPromise;
  const storage = memoryStorage();
  const session = tabSession();
  const api = fakeApi({ signBlinded, keyId: key.keyId }, { token: [serverError(), lost()] });
  const flow = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session });
  assert.equal((await flow.select('alice', 'C1')).step, 'start');
  const after = await flow.obtainToken({ voterId: 'alice', credential: 'C1', ...quick });
  assert.equal(after.step, 'token_ready');
  assert.equal(api.seen.token.length, 3);
  assert.ok(api.seen.token.every((b) => b.blindedMessage === api.seen.token[0].blindedMessage));
  // This tab's record is named by a hash only, and in this tab's session only.
  assert.match(JSON.parse(session.getItem(`observernet-booth:${ELECTION}`)).key, /^[0-9a-f]{64}$/);
  assert.equal(await storage.get(`current:${ELECTION}`), undefined);
});

test('token: a reload after the request was saved resends the same blinded message', async () => {
  const { key, signBlinded } = await keyPromise;
  const storage = memoryStorage();
  const session = tabSession();
  const never = { requestToken: async (body) => { never.body = body; throw new Error('the page reloads'); } };
  const first = await createFlow({ api: never, electionId: ELECTION, tokenKey: key, storage, session });
  await first.select('bob', 'right');
  await assert.rejects(first.obtainToken({ voterId: 'bob', credential: 'right', ...quick }));
  // The page reloads: a new flow over the same storage and tab finds the saved request.
  const api = fakeApi({ signBlinded, keyId: key.keyId });
  const second = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session });
  assert.equal((await second.resume()).step, 'token_requested');
  await second.obtainToken({ voterId: 'bob', credential: 'right', ...quick });
  assert.equal(api.seen.token[0].blindedMessage, never.body.blindedMessage);
});

test('token: a wrong credential leaves no record behind', async () => {
  const { key, signBlinded } = await keyPromise;
  const storage = memoryStorage();
  const api = fakeApi({ signBlinded, keyId: key.keyId }, { token: [new ApiError({ status: 401, code: 'invalid_credentials' })] });
  const flow = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session: tabSession() });
  await flow.select('bob', 'typo');
  await assert.rejects(flow.obtainToken({ voterId: 'bob', credential: 'typo', ...quick }), { code: 'invalid_credentials' });
  assert.equal((await flow.select('bob', 'typo')).step, 'start');
  assert.equal((await flow.obtainToken({ voterId: 'bob', credential: 'right', ...quick })).step, 'token_ready');
});

test('a new visit on the same browser does not resume the last voter', async () => {
  const storage = memoryStorage();
  await signedIn({ storage });
  const { key } = await keyPromise;
  const next = await createFlow({ api: {}, electionId: ELECTION, tokenKey: key, storage, session: tabSession() });
  assert.equal((await next.resume()).step, 'start');
});

test('cast: failures and a reload resend the identical ballot; one receipt, then no record', async () => {
  const storage = memoryStorage();
  const { api, flow, session } = await signedIn({ storage, script: { submit: [lost(), serverError()] } });
  const choice = new Map([['president', ['grace']], ['reps', []]]);
  const receipt = await flow.cast(choice, quick);
  assert.equal(api.seen.submit.length, 3);
  assert.ok(api.seen.submit.every((b) => b === api.seen.submit[0]));
  assert.match(receipt.receipt, /^[0-9a-f]{64}$/);

  // A reload of the tab after the cast: the receipt, without sending anything.
  const { key } = await keyPromise;
  const again = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session });
  const resumed = await again.resume();
  assert.equal(resumed.step, 'cast');
  assert.equal(resumed.receipt.receipt, receipt.receipt);
  assert.equal(api.seen.submit.length, 3);
  // The record is gone; the tab keeps only the receipt.
  assert.deepEqual(JSON.parse(session.getItem(`observernet-booth:${ELECTION}`)), receipt);
  assert.deepEqual(Object.keys(receipt), ['receipt', 'acceptedAt']);
  assert.equal((await again.select('carol', 'C')).step, 'start');
});

test('cast: a reload before the answer resends the saved ballot, never another', async () => {
  const storage = memoryStorage();
  const { api, flow, session } = await signedIn({ storage, voter: 'dan', script: { submit: [new ApiError({ status: 400, code: 'bad_request' })] } });
  await assert.rejects(flow.cast(new Map([['president', ['ada']]]), quick), { code: 'bad_request' });
  const reloaded = await createFlow({ api, electionId: ELECTION, tokenKey: (await keyPromise).key, storage, session });
  assert.equal((await reloaded.resume()).step, 'ballot_saved');
  await reloaded.cast(null, quick); // the page passes nothing: the saved body goes
  assert.equal(api.seen.submit.length, 2);
  assert.equal(api.seen.submit[1], api.seen.submit[0]);
  assert.match(api.seen.submit[1], /"optionId":"ada"/);
});

test('cast: after invalid_ballot, new choices are saved and sent with the same token', async () => {
  const storage = memoryStorage();
  const { api, flow } = await signedIn({ storage, script: { submit: [new ApiError({ status: 422, code: 'invalid_ballot' })] } });
  await assert.rejects(flow.cast(new Map([['president', ['ada']]]), quick), { code: 'invalid_ballot' });
  await flow.cast(new Map([['president', ['grace']]]), quick);
  const [first, second] = api.seen.submit.map((b) => JSON.parse(b));
  assert.deepEqual(second.token, first.token);
  assert.deepEqual(second.selections, [{ contestId: 'president', optionId: 'grace' }]);
});

test('two tabs: one token request, and the second tab sends the ballot the first saved', async () => {
  const { key, signBlinded } = await keyPromise;
  const storage = memoryStorage();
  const api = fakeApi({ signBlinded, keyId: key.keyId }, { submit: [new ApiError({ status: 400, code: 'bad_request' })] });
  const tabA = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session: tabSession() });
  const tabB = await createFlow({ api, electionId: ELECTION, tokenKey: key, storage, session: tabSession() });
  await tabA.select('erin', 'C');
  await tabB.select('erin', 'C'); // B is at 'start' in memory
  await tabA.obtainToken({ voterId: 'erin', credential: 'C', ...quick });
  assert.equal((await tabB.obtainToken({ voterId: 'erin', credential: 'C', ...quick })).step, 'token_ready');
  assert.equal(api.seen.token.length, 1, 'the stale tab re-reads the record and asks for nothing');
  await assert.rejects(tabA.cast(new Map([['president', ['ada']]]), quick), { code: 'bad_request' });
  await tabB.cast(new Map([['president', ['grace']]]), quick);
  assert.equal(api.seen.submit.length, 2);
  assert.equal(api.seen.submit[1], api.seen.submit[0], 'the saved ballot, not the second tab\u2019s');
});

test('withRetries: 429 waits Retry-After with a countdown; 4xx is final', async () => {
  const ticks = [];
  let calls = 0;
  const answer = await withRetries(
    async () => {
      calls++;
      if (calls === 1) throw new ApiError({ status: 429, code: 'too_many_requests', retryAfter: 2 });
      return 'ok';
    },
    {
      onWait: ({ seconds, retryNow }) => {
        ticks.push(seconds);
        if (seconds === 1) retryNow();
      },
    },
  );
  assert.equal(answer, 'ok');
  assert.deepEqual(ticks, [2, 1]);
  await assert.rejects(
    withRetries(async () => {
      throw new ApiError({ status: 409, code: 'token_already_issued' });
    }),
    { code: 'token_already_issued' },
  );
});
