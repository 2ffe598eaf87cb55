import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BoothError, STEPS, ballotAccepted, ballotRejected, boothKey, classifyFailure, clearBooth, failureAdvice, loadBooth,
  mayReplace, prepareBallot, prepareTokenRequest, sameContests, submitBody, tokenIssued, tokenRequestBody,
} from '../../src/lib/booth_state.js';
import { verifyToken } from '../../src/lib/blind_rsa.js';
import { b64urlDecode, b64urlEncode, hexEncode, utf8Encode } from '../../src/lib/encoding.js';
import { sha256 } from '../../src/lib/hash.js';
import { ballotLeaf, receiptOf } from '../../src/lib/ballot.js';
import { makeTokenKey, mapStorage } from './helpers.mjs';

const ELECTION = '6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const VOTER = 'voter-17@example.org';
const CREDENTIAL = 'ABCD-EFGH-JKMN-PQRS';
const CHOICES = { mayor: ['bob'], board: ['carol', 'alice'] };
const signer = await makeTokenKey();
const otherSigner = await makeTokenKey();

// The server's answer to a token request.
const issue = (state, s = signer) => ({
  blindSignature: b64urlEncode(s.signBlinded(b64urlDecode(state.blindedMessage))), keyId: s.key.keyId,
});

async function booth(storage = mapStorage()) {
  const voterKey = await boothKey(ELECTION, VOTER, CREDENTIAL);
  return { storage, voterKey, state: await loadBooth(storage, ELECTION, voterKey) };
}

test('boothKey is hex SHA-256 of [electionId, voterId, credential]; a fresh booth starts', async () => {
  const { voterKey, state, storage } = await booth();
  assert.equal(voterKey, hexEncode(await sha256(utf8Encode(JSON.stringify([ELECTION, VOTER, CREDENTIAL])))));
  // Without the credential the key cannot be found, and the fields cannot slide into each other.
  assert.notEqual(voterKey, await boothKey(ELECTION, VOTER, 'ABCD-EFGH-JKMN-PQRT'));
  assert.notEqual(voterKey, hexEncode(await sha256(utf8Encode(ELECTION + VOTER))));
  assert.notEqual(await boothKey(ELECTION, 'ab', 'c'), await boothKey(ELECTION, 'a', 'bc'));
  assert.deepEqual(state, { step: 'start', electionId: ELECTION, voterKey });
  assert.equal(storage.puts, 0);
  assert.deepEqual(STEPS, ['start', 'token_requested', 'token_ready', 'ballot_saved', 'cast']);
});

test('the whole flow, each step saved before its request', async () => {
  const { storage, voterKey } = await booth();
  let state = await loadBooth(storage, ELECTION, voterKey);

  state = await prepareTokenRequest(storage, state, signer.key);
  assert.equal(state.step, 'token_requested');
  assert.equal(storage.puts, 1, 'saved before the token request');
  const saved = await loadBooth(storage, ELECTION, voterKey);
  assert.equal(saved.blindedMessage, state.blindedMessage);
  assert.equal(b64urlDecode(saved.msg).length, 32);
  assert.deepEqual(tokenRequestBody(state, VOTER, CREDENTIAL),
    { electionId: ELECTION, voterId: VOTER, credential: CREDENTIAL, blindedMessage: state.blindedMessage });

  state = await tokenIssued(storage, state, signer.key, issue(state));
  assert.equal(state.step, 'token_ready');
  assert.ok(await verifyToken(signer.key, b64urlDecode(state.msg), b64urlDecode(state.signature)));
  assert.equal(state.inverse, undefined, 'the inverse is dropped once used');

  const ready = state;
  state = await prepareBallot(storage, state, CHOICES);
  assert.equal(state.step, 'ballot_saved');
  const body = submitBody(state);
  assert.deepEqual(body.selections, [{ contestId: 'board', optionId: 'alice' },
    { contestId: 'board', optionId: 'carol' }, { contestId: 'mayor', optionId: 'bob' }]);
  assert.deepEqual(body.token, { message: ready.msg, signature: ready.signature });
  assert.deepEqual((await loadBooth(storage, ELECTION, voterKey)).body, body, 'saved before the first submit');
  const receipt = receiptOf(ballotLeaf(ELECTION, body.selections, body.token));
  assert.equal(state.receipt, receipt);

  state = await ballotAccepted(storage, state, { receipt, electionId: ELECTION, acceptedAt: '2026-12-04T18:00Z' });
  assert.deepEqual(state, { step: 'cast', electionId: ELECTION, receipt, acceptedAt: '2026-12-04T18:00Z', voterKey });
  assert.equal(storage.map.size, 0, 'the record is deleted once the ballot is accepted');
  assert.equal((await loadBooth(storage, ELECTION, voterKey)).step, 'start');
});

test('nothing stored names the voter, the credential, or (before the review) the choices', async () => {
  const { storage, state: start } = await booth();
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  let dump = JSON.stringify([...storage.map]);
  for (const secret of [VOTER, CREDENTIAL, 'mayor', 'board', 'alice']) assert.ok(!dump.includes(secret), secret);
  state = await prepareBallot(storage, state, CHOICES);
  await ballotAccepted(storage, state, { receipt: state.receipt, electionId: ELECTION });
  dump = JSON.stringify([...storage.map]);
  for (const secret of [VOTER, CREDENTIAL, 'mayor', 'alice', state.body.token.message]) assert.ok(!dump.includes(secret), secret);
});

test('a reload before the token answer resends the identical request', async () => {
  const { storage, voterKey, state: start } = await booth();
  const first = await prepareTokenRequest(storage, start, signer.key);
  const reloaded = await loadBooth(storage, ELECTION, voterKey);
  const again = await prepareTokenRequest(storage, reloaded, signer.key);
  assert.deepEqual(tokenRequestBody(again, VOTER, CREDENTIAL), tokenRequestBody(first, VOTER, CREDENTIAL));
  assert.equal(storage.puts, 1, 'no new blinding');
  // And the answer, which the server repeats, finalizes from the reloaded state.
  const ready = await tokenIssued(storage, again, signer.key, issue(first));
  assert.equal(ready.step, 'token_ready');
});

test('a reload after saving the ballot resends the identical body; another ballot is refused', async () => {
  const { storage, voterKey, state: start } = await booth();
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  const sent = await prepareBallot(storage, state, CHOICES);
  const reloaded = await loadBooth(storage, ELECTION, voterKey);
  assert.deepEqual(submitBody(reloaded), submitBody(sent));
  const same = await prepareBallot(storage, reloaded, [{ contestId: 'mayor', optionId: 'bob' },
    { contestId: 'board', optionId: 'alice' }, { contestId: 'board', optionId: 'carol' }]);
  assert.deepEqual(submitBody(same), submitBody(sent));
  await assert.rejects(prepareBallot(storage, reloaded, { mayor: ['dan'], board: ['alice'] }),
    (e) => e instanceof BoothError && e.code === 'ballot_locked');
  assert.deepEqual(submitBody(await loadBooth(storage, ELECTION, voterKey)), submitBody(sent));
});

test('a blind signature from another key, or a bad one, is refused and the request kept', async () => {
  const { storage, voterKey, state: start } = await booth();
  const state = await prepareTokenRequest(storage, start, signer.key);
  await assert.rejects(tokenIssued(storage, state, signer.key, issue(state, otherSigner)),
    (e) => e.code === 'untrusted_key');
  await assert.rejects(tokenIssued(storage, state, signer.key,
    { blindSignature: issue(state, otherSigner).blindSignature, keyId: signer.key.keyId }),
    (e) => e.code === 'invalid_blind_signature');
  await assert.rejects(tokenIssued(storage, state, signer.key, { blindSignature: 'AAAA', keyId: signer.key.keyId }),
    (e) => e.code === 'invalid_blind_signature');
  assert.equal((await loadBooth(storage, ELECTION, voterKey)).step, 'token_requested');
  // A token key that changed under a saved request is not trusted either.
  await assert.rejects(prepareTokenRequest(storage, state, otherSigner.key), (e) => e.code === 'untrusted_key');
});

test('a receipt that is not the hash of the ballot sent is refused and the ballot kept', async () => {
  const { storage, voterKey, state: start } = await booth();
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  state = await prepareBallot(storage, state, CHOICES);
  await assert.rejects(ballotAccepted(storage, state, { receipt: '0'.repeat(64), electionId: ELECTION }),
    (e) => e.code === 'receipt_mismatch');
  await assert.rejects(ballotAccepted(storage, state, { receipt: state.receipt, electionId: 'other' }),
    (e) => e.code === 'receipt_mismatch');
  assert.equal((await loadBooth(storage, ELECTION, voterKey)).step, 'ballot_saved');
});

test('a token key other than the one announced on the audit chain is refused before blinding', async () => {
  const { storage, state: start } = await booth();
  await assert.rejects(prepareTokenRequest(storage, start, signer.key, otherSigner.key.keyId),
    (e) => e.code === 'untrusted_key');
  assert.equal(storage.puts, 0);
  assert.equal((await prepareTokenRequest(storage, start, signer.key, signer.key.keyId)).step, 'token_requested');
});

test('steps cannot be skipped or replayed', async () => {
  const { storage, state: start } = await booth();
  await assert.rejects(tokenIssued(storage, start, signer.key, {}), (e) => e.code === 'wrong_step');
  await assert.rejects(prepareBallot(storage, start, CHOICES), (e) => e.code === 'wrong_step');
  assert.throws(() => submitBody(start), (e) => e.code === 'wrong_step');
  assert.throws(() => tokenRequestBody(start, VOTER, CREDENTIAL), (e) => e.code === 'wrong_step');
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  await assert.rejects(prepareTokenRequest(storage, state, signer.key), (e) => e.code === 'wrong_step');
  await assert.rejects(ballotAccepted(storage, state, {}), (e) => e.code === 'wrong_step');
});

test('another election, or a cleared booth, starts afresh', async () => {
  const { storage, voterKey, state: start } = await booth();
  const state = await prepareTokenRequest(storage, start, signer.key);
  assert.equal((await loadBooth(storage, 'another-election', voterKey)).step, 'start');
  const cleared = await clearBooth(storage, state);
  assert.equal(cleared.step, 'start');
  assert.equal((await loadBooth(storage, ELECTION, voterKey)).step, 'start');
});

test('retry rules', () => {
  assert.equal(classifyFailure(0, 'network_error'), 'retry_same');
  for (const status of [500, 502, 503, 504, 408]) assert.equal(classifyFailure(status, 'x'), 'retry_same', String(status));
  assert.equal(classifyFailure(429, 'too_many_requests'), 'wait');
  for (const [status, code] of [[409, 'token_already_issued'], [409, 'token_already_used'], [401, 'invalid_credentials'],
    [400, 'bad_request'], [403, 'invalid_token'], [404, 'not_found'], [422, 'invalid_ballot']]) {
    assert.equal(classifyFailure(status, code), 'fatal', code);
  }
  assert.equal(failureAdvice(409, 'token_already_issued'), 'use_first_device');
  assert.equal(failureAdvice(409, 'token_already_used'), 'ballot_already_cast');
  assert.equal(failureAdvice(401, 'invalid_credentials'), 'check_credentials');
  assert.equal(failureAdvice(503, 'service_unavailable'), 'retry');
  assert.equal(failureAdvice(0, 'network_error'), 'retry');
  assert.equal(failureAdvice(429, 'too_many_requests'), 'wait');
  assert.equal(failureAdvice(418, 'teapot'), 'error');
});

test('mayReplace: only a later step replaces a saved one', () => {
  assert.equal(mayReplace(undefined, 'token_requested'), true);
  assert.equal(mayReplace('token_requested', 'token_ready'), true);
  assert.equal(mayReplace('token_ready', 'ballot_saved'), true);
  assert.equal(mayReplace('token_ready', 'token_requested'), false);
  assert.equal(mayReplace('ballot_saved', 'ballot_saved'), false);
  assert.equal(mayReplace('ballot_saved', 'token_ready'), false);
  assert.equal(mayReplace('bogus', 'cast'), false);
});

test('a stale copy cannot replace a later saved step', async () => {
  const { storage, voterKey, state: start } = await booth();
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  // Another tab, still holding 'start', tries to request a new token.
  await assert.rejects(prepareTokenRequest(storage, start, signer.key), (e) => e.code === 'wrong_step');
  const ready = state;
  await prepareBallot(storage, ready, CHOICES);
  // And one holding 'token_ready' cannot save a second ballot over the first.
  await assert.rejects(prepareBallot(storage, ready, { mayor: ['dan'], board: [] }), (e) => e.code === 'wrong_step');
  assert.deepEqual((await loadBooth(storage, ELECTION, voterKey)).body.selections.at(-1), { contestId: 'mayor', optionId: 'bob' });
});

test('after an invalid ballot the token is kept and new choices can be saved', async () => {
  const { storage, voterKey, state: start } = await booth();
  let state = await prepareTokenRequest(storage, start, signer.key);
  state = await tokenIssued(storage, state, signer.key, issue(state));
  const ready = state;
  state = await prepareBallot(storage, state, CHOICES);
  state = await ballotRejected(storage, state);
  assert.equal(state.step, 'token_ready');
  assert.equal(state.msg, ready.msg);
  assert.equal(state.signature, ready.signature);
  assert.equal((await loadBooth(storage, ELECTION, voterKey)).body, undefined, 'the old body is dropped');
  state = await prepareBallot(storage, state, { mayor: ['dan'], board: [] });
  assert.deepEqual(submitBody(state).selections, [{ contestId: 'mayor', optionId: 'dan' }]);
  assert.deepEqual(submitBody(state).token, { message: ready.msg, signature: ready.signature });
});

test('sameContests compares the shown contests with the audit chain, normalised', () => {
  const audited = [{ id: 'mayor', title: 'Mayor', options: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }] }];
  const shown = [{ id: 'mayor', title: 'Mayor', minSelections: 1, maxSelections: 1, options: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }] }];
  assert.equal(sameContests(shown, audited), true);
  assert.equal(sameContests(shown, [{ ...audited[0], title: 'Mayor!' }]), false);
  assert.equal(sameContests([{ ...shown[0], maxSelections: 2 }], audited), false);
  assert.equal(sameContests([{ ...shown[0], options: [...shown[0].options].reverse() }], audited), false);
  assert.equal(sameContests(shown, undefined), false);
  assert.equal(sameContests([], []), false);
});
