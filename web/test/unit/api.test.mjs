import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApi, parseRetryAfter } from '../../src/lib/api.js';

// A fetch that records its calls and answers from a list.
function fakeFetch(...answers) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? null : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body),
      { status: answer.status ?? 200, headers: answer.headers ?? { 'Content-Type': 'application/json' } });
  };
  return { calls, fetchImpl };
}

test('GET and POST under <base>/api/v1, JSON both ways', async () => {
  const { calls, fetchImpl } = fakeFetch({ body: { a: 1 } }, { status: 201, body: { receipt: 'r' } });
  const api = createApi('https://api.example.org/', fetchImpl);
  assert.deepEqual(await api.publicElection('e 1'), { a: 1 });
  assert.equal(calls[0].url, 'https://api.example.org/api/v1/public/elections/e%201');
  assert.equal(calls[0].init.method, 'GET');
  const body = { electionId: 'e', token: { message: 'm', signature: 's' }, selections: [] };
  assert.deepEqual(await api.submitBallot(body), { receipt: 'r' });
  assert.equal(calls[1].url, 'https://api.example.org/api/v1/voting/submit');
  assert.equal(calls[1].init.body, JSON.stringify(body));
  assert.equal(calls[1].init.headers['Content-Type'], 'application/json');
});

test('every named route has its path', async () => {
  const paths = [];
  const fetchImpl = async (url) => { paths.push(url); return new Response('{}'); };
  const api = createApi('', fetchImpl);
  await api.publicElections();
  await api.publicElections('cur', 20);
  await api.results('e');
  await api.tokenKey('e');
  await api.requestToken({});
  await api.receipt('ab');
  await api.treeHead('e');
  await api.logKey();
  await api.inclusionProof('e', 'ab', 5);
  await api.consistencyProof('e', 2, 5);
  await api.ballots('e', 1000, 500);
  await api.audit('e', 3);
  await api.roll('e');
  await api.roll('e', `1.${'ab'.repeat(32)}`, 50);
  await api.issued('e', 'cd'.repeat(32));
  assert.deepEqual(paths, [
    '/api/v1/public/elections', '/api/v1/public/elections?limit=20&cursor=cur',
    '/api/v1/public/elections/e/results', '/api/v1/elections/e/token-key', '/api/v1/voting/token',
    '/api/v1/voting/receipts/ab', '/api/v1/public/elections/e/tree-head', '/api/v1/public/log-key',
    '/api/v1/public/elections/e/proofs/inclusion?receipt=ab&treeSize=5',
    '/api/v1/public/elections/e/proofs/consistency?first=2&second=5',
    '/api/v1/public/elections/e/ballots?from=1000&limit=500', '/api/v1/public/elections/e/audit?from=3&limit=1000',
    '/api/v1/public/elections/e/roll?limit=1000', `/api/v1/public/elections/e/roll?after=1.${'ab'.repeat(32)}&limit=50`,
    `/api/v1/public/elections/e/issued?after=${'cd'.repeat(32)}&limit=1000`,
  ]);
});

test('problem details become an ApiError with Retry-After in seconds', async () => {
  const { fetchImpl } = fakeFetch(
    { status: 429, body: { type: 'urn:observernet:problem:too_many_requests', title: 'Too many', status: 429, code: 'too_many_requests' },
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '7' } },
    { status: 422, body: { title: 'Invalid', code: 'invalid_ballot', detail: 'd', errors: [{ field: 'f', message: 'm' }] } },
    { status: 502, body: '<html>bad gateway</html>', headers: { 'Content-Type': 'text/html' } });
  const api = createApi('', fetchImpl);
  await assert.rejects(api.treeHead('e'), (e) => e instanceof ApiError && e.status === 429 &&
    e.code === 'too_many_requests' && e.retryAfter === 7 && e.title === 'Too many');
  await assert.rejects(api.submitBallot({}), (e) => e.status === 422 && e.code === 'invalid_ballot' &&
    e.detail === 'd' && e.errors[0].field === 'f' && e.retryAfter === null);
  await assert.rejects(api.logKey(), (e) => e.status === 502 && e.code === 'http_502');
});

test('no answer is status 0, network_error; a 200 that is not JSON is bad_response', async () => {
  const { fetchImpl } = fakeFetch(new TypeError('Failed to fetch'), { status: 200, body: 'oops', headers: {} });
  const api = createApi('', fetchImpl);
  await assert.rejects(api.logKey(), (e) => e instanceof ApiError && e.status === 0 && e.code === 'network_error');
  await assert.rejects(api.logKey(), (e) => e.status === 200 && e.code === 'bad_response');
});

test('Retry-After as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('120'), 120);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
  const now = Date.parse('Fri, 04 Dec 2026 18:00:00 GMT');
  assert.equal(parseRetryAfter('Fri, 04 Dec 2026 18:00:30 GMT', now), 30);
  assert.equal(parseRetryAfter('Fri, 04 Dec 2026 17:00:00 GMT', now), 0);
});
