// The scaling guide's staged load test as a voter journey (docs/benchmarks.md, "The staged
// voter journey"), in Node with nothing but its standard library and the booth's own
// modules (web/src/lib): no k6, whose licence we cannot take.
//
//   node bench/loadtest.mjs --url http://127.0.0.1:8080 --election <uuid> \
//     --credentials credentials.json [--scale 1] [--think-ms 15000] [--p99-ms 500] \
//     [--max-failure-rate 0.01] [--stages 120:1000,300:10000,120:0] [--summary out.json] \
//     [--connections 1000] [--timeout-ms 30000]
//
// Each virtual user is a voter with a credential of --credentials (the voter import's
// answer, {"credentials": [{"voterId", "credential"}, ...]}), each used once. A user:
//   1. reads the public election;  2. fetches its token key;  3. gets a blind-signed token
//   (RFC 9474, blinded and finalized here as the booth does);  4. thinks for a random
//   time, uniform in [0, 2 × --think-ms];  5. submits its ballot;  6. checks the receipt:
//   the one it computes from its ballot, then GET /voting/receipts/{receipt}.
// then takes the next credential, until the stage's target says fewer users. Users keep
// journeys going at about users ÷ (think + the requests' time) a second: 10,000 users
// thinking 15 s on average ask about 650 journeys a second. Stages are
// "seconds:users" ramps (the guide's: 2 min up to 1,000, 5 min up to 10,000, 2 min down to
// 0); --scale multiplies their durations. Printed per stage: requests/s, p50, p95, p99 and
// max per route, and answers by status; the JSON summary goes to --summary. Exit status 1
// when a route's p99 over the run is above --p99-ms or more than --max-failure-rate of the
// requests failed (a status of 400 or more, or no answer), 2 for bad arguments.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { blind, finalize, importTokenKey } from '../web/src/lib/blind_rsa.js';
import { ballotLeaf, receiptOf } from '../web/src/lib/ballot.js';
import { b64urlDecode, b64urlEncode } from '../web/src/lib/encoding.js';

function usage(message) {
  process.stderr.write(`loadtest: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    scale: 1,
    thinkMs: 15000,
    p99Ms: 500,
    maxFailureRate: 0.01,
    stages: '120:1000,300:10000,120:0',
    summary: '',
    timeoutMs: 30000,
    connections: 1000,
  };
  const names = {
    '--url': 'url', '--election': 'election', '--credentials': 'credentials',
    '--scale': 'scale', '--think-ms': 'thinkMs', '--p99-ms': 'p99Ms',
    '--max-failure-rate': 'maxFailureRate', '--stages': 'stages', '--summary': 'summary',
    '--timeout-ms': 'timeoutMs', '--connections': 'connections',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (!name || i + 1 >= argv.length) usage(`unknown or incomplete argument ${argv[i]}`);
    options[name] = argv[i + 1];
  }
  for (const required of ['url', 'election', 'credentials']) {
    if (!options[required]) usage(`--${required} is required`);
  }
  for (const number of ['scale', 'thinkMs', 'p99Ms', 'maxFailureRate', 'timeoutMs',
    'connections']) {
    options[number] = Number(options[number]);
    if (!(options[number] >= 0)) usage(`${number} must be a number, 0 or more`);
  }
  options.stages = options.stages.split(',').map((stage) => {
    const [seconds, users] = stage.split(':').map(Number);
    if (!(seconds > 0) || !(users >= 0) || !Number.isInteger(users)) {
      usage(`a stage is seconds:users, got "${stage}"`);
    }
    return { ms: seconds * 1000 * options.scale, target: users };
  });
  options.url = options.url.replace(/\/+$/, '');
  return options;
}

const options = parseArgs(process.argv.slice(2));
const credentials = JSON.parse(readFileSync(options.credentials, 'utf8')).credentials;
if (!Array.isArray(credentials) || credentials.length === 0) usage('no credentials in the file');
const SELECTIONS = [{ contestId: 'mayor', optionId: 'alice' }];
const ROUTES = ['election', 'token-key', 'token', 'submit', 'receipt'];

// ---- measurements, per stage and route ---------------------------------------------------

function newStage(index) {
  const routes = {};
  for (const route of ROUTES) routes[route] = { latencies: [], statuses: {} };
  return { index, startedAt: performance.now(), endedAt: 0, routes, journeys: 0, peakUsers: 0 };
}
let stage = newStage(0);
const stages = [stage];
const overall = {};
for (const route of ROUTES) overall[route] = { latencies: [], statuses: {} };

function record(route, status, ms) {
  for (const into of [stage.routes[route], overall[route]]) {
    into.latencies.push(ms);
    into.statuses[status] = (into.statuses[status] ?? 0) + 1;
  }
}

// Keep-alive connections, at most --connections at once: a user's request waits for a
// free one (that wait is in its latency). node:http rather than fetch: a third of the CPU
// per request, and the generator shares the machine with the server.
const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
const base = new URL(options.url);

function send(method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: base.hostname, port: base.port, method, path: base.pathname.replace(/\/$/, '') + path,
      agent, timeout: options.timeoutMs,
      headers: payload === undefined ? {} :
        { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode,
        text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { timeout: true })));
    req.on('error', reject);
    req.end(payload);
  });
}

async function request(route, method, path, body) {
  const started = performance.now();
  let status = 'network';
  try {
    const response = await send(method, path, body);
    status = response.status;
    return { status, body: response.text ? JSON.parse(response.text) : null };
  } catch (error) {
    if (error.timeout) status = 'timeout';
    return { status, body: null };
  } finally {
    record(route, status, performance.now() - started);
  }
}

// ---- one voter's journey -----------------------------------------------------------------

class JourneyError extends Error {}

function expect(answer, status, what) {
  if (answer.status !== status) throw new JourneyError(`${what}: ${answer.status}`);
  return answer.body;
}

// The key as the booth imports it, parsed once per distinct key (the fetch is still made).
const importedKeys = new Map();
function tokenKey(body) {
  if (!importedKeys.has(body.publicKey)) importedKeys.set(body.publicKey, importTokenKey(body));
  return importedKeys.get(body.publicKey);
}

async function journey(voter) {
  const id = options.election;
  expect(await request('election', 'GET', `/api/v1/public/elections/${id}`), 200, 'election');
  const keyBody = expect(
    await request('token-key', 'GET', `/api/v1/elections/${id}/token-key`), 200, 'token key');
  const key = await tokenKey(keyBody);
  const message = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const { blindedMessage, inverse } = await blind(key, message);
  const signed = expect(await request('token', 'POST', '/api/v1/voting/token', {
    electionId: id,
    voterId: voter.voterId,
    credential: voter.credential,
    blindedMessage: b64urlEncode(blindedMessage),
  }), 200, 'token');
  const signature = await finalize(key, message, b64urlDecode(signed.blindSignature), inverse);
  await sleep(Math.random() * 2 * options.thinkMs);
  const token = { message: b64urlEncode(message), signature: b64urlEncode(signature) };
  const cast = expect(await request('submit', 'POST', '/api/v1/voting/submit', {
    electionId: id, token, selections: SELECTIONS,
  }), 201, 'submit');
  if (cast.receipt !== receiptOf(ballotLeaf(id, SELECTIONS, token))) {
    throw new JourneyError('the receipt is not the ballot\'s');
  }
  expect(await request('receipt', 'GET', `/api/v1/voting/receipts/${cast.receipt}`), 200,
    'receipt');
}

// ---- users, ramped by stage --------------------------------------------------------------

let nextCredential = 0;
let activeUsers = 0;
let target = 0;
let failedJourneys = 0;
const journeyErrors = {};
let outOfCredentials = false;

async function user() {
  activeUsers++;
  stage.peakUsers = Math.max(stage.peakUsers, activeUsers);
  try {
    while (activeUsers <= target) {
      if (nextCredential >= credentials.length) {
        outOfCredentials = true;
        return;
      }
      try {
        await journey(credentials[nextCredential++]);
        stage.journeys++;
      } catch (error) {
        // A refused request (JourneyError), or a token that does not verify.
        failedJourneys++;
        journeyErrors[error.message] = (journeyErrors[error.message] ?? 0) + 1;
      }
    }
  } finally {
    activeUsers--;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(routes, seconds) {
  const out = {};
  for (const route of ROUTES) {
    const { latencies, statuses } = routes[route];
    const sorted = Float64Array.from(latencies).sort();
    out[route] = {
      requests: sorted.length,
      perSecond: sorted.length / seconds,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1] : 0,
      statuses,
    };
  }
  return out;
}

function print(title, summary) {
  const lines = [title, '  route      req/s      p50 ms   p95 ms   p99 ms   max ms  statuses'];
  for (const route of ROUTES) {
    const r = summary[route];
    const statuses = Object.entries(r.statuses).map(([s, n]) => `${s}:${n}`).join(' ');
    lines.push(`  ${route.padEnd(9)} ${r.perSecond.toFixed(1).padStart(7)} ${r.p50.toFixed(1)
      .padStart(10)} ${r.p95.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.max
      .toFixed(1).padStart(8)}  ${statuses}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const startedAt = performance.now();
const report = { options: { ...options, credentials: credentials.length }, stages: [] };
let from = 0;
for (let i = 0; i < options.stages.length; i++) {
  if (i > 0) {
    stage = newStage(i);
    stages.push(stage);
  }
  const { ms, target: to } = options.stages[i];
  const stageStart = performance.now();
  for (;;) {
    const elapsed = performance.now() - stageStart;
    if (elapsed >= ms) break;
    target = Math.round(from + ((to - from) * elapsed) / ms);
    while (activeUsers < target && !outOfCredentials) user();
    await sleep(100);
  }
  target = to;
  from = to;
  stage.endedAt = performance.now();
  const seconds = (stage.endedAt - stage.startedAt) / 1000;
  const summary = summarize(stage.routes, seconds);
  print(`stage ${i + 1}: ${(ms / 1000).toFixed(0)} s to ${to} users (peak ${stage.peakUsers}` +
    `), ${stage.journeys} journeys done`, summary);
  report.stages.push({ seconds, target: to, peakUsers: stage.peakUsers, journeys: stage.journeys,
    routes: summary });
}
// The last users finish their journeys.
const drainUntil = performance.now() + options.timeoutMs + 2 * options.thinkMs;
while (activeUsers > 0 && performance.now() < drainUntil) await sleep(100);

const seconds = (performance.now() - startedAt) / 1000;
const total = summarize(overall, seconds);
const cpu = process.cpuUsage();
process.stdout.write(`load generator: ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s of CPU ` +
  `in ${seconds.toFixed(0)} s\n`);
print(`all stages, ${seconds.toFixed(0)} s`, total);
let requests = 0;
let failures = 0;
const failed = [];
for (const route of ROUTES) {
  for (const [status, n] of Object.entries(total[route].statuses)) {
    requests += n;
    if (!(Number(status) < 400)) failures += n;
  }
  if (total[route].requests > 0 && total[route].p99 > options.p99Ms) {
    failed.push(`${route} p99 ${total[route].p99.toFixed(1)} ms > ${options.p99Ms} ms`);
  }
}
const failureRate = requests ? failures / requests : 0;
if (failureRate > options.maxFailureRate) {
  failed.push(`failures ${(100 * failureRate).toFixed(2)} % > ${100 * options.maxFailureRate} %`);
}
const journeys = stages.reduce((n, s) => n + s.journeys, 0);
process.stdout.write(`journeys: ${journeys} done, ${failedJourneys} failed; users still active ` +
  `${activeUsers}; credentials used ${nextCredential} of ${credentials.length}` +
  `${outOfCredentials ? ' (RAN OUT)' : ''}\n`);
if (failedJourneys) process.stdout.write(`journey failures: ${JSON.stringify(journeyErrors)}\n`);
process.stdout.write(failed.length ? `THRESHOLDS FAILED: ${failed.join('; ')}\n` :
  'thresholds met\n');
Object.assign(report, { seconds, generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  routes: total, requests, failures, failureRate, journeys,
  failedJourneys, journeyErrors, outOfCredentials, thresholdsFailed: failed });
if (options.summary) writeFileSync(options.summary, `${JSON.stringify(report, null, 2)}\n`);
process.exit(failed.length ? 1 : 0);
