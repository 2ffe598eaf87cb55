// The end-to-end tests' harness: a real `observernet serve` on the test PostgreSQL and
// Redis, elections seeded through the admin API, ballots cast from Node with the booth's
// own RFC 9474 code, and Debian's Chromium driven by playwright-core.
//
// Environment (scripts/test exports the first three; ctest adds the rest):
//   OBSERVERNET_TEST_DATABASE_URL, OBSERVERNET_TEST_REDIS_URL   required: a missing one
//                                   fails the test (these tests never pass by skipping)
//   OBSERVERNET_TEST_OWNER_DATABASE_URL   the schema owner's URL (tamper test); defaults to
//                                   OBSERVERNET_TEST_DATABASE_URL
//   OBSERVERNET_BINARY              default: build/asan/observernet
//   OBSERVERNET_WEB_ROOT            default: web/dist (must hold the built pages)
//   OBSERVERNET_CHROMIUM            default: /usr/bin/chromium
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

import { b64urlDecode, b64urlEncode } from '../../src/lib/encoding.js';
import { blind, finalize, importTokenKey } from '../../src/lib/blind_rsa.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(here, '../..');
export const REPO_ROOT = path.resolve(WEB_DIR, '..');

// The same secrets as the C++ integration tests (tests/integration/support.hpp).
export const ADMIN_KEY = 'integration-test-admin-key';
const ADMIN_KEY_HASH = 'feb8c3ea5a99f106f508bfd27655ebde5780b2007f5e41df4c723c3fdea8eb17';
const VOTER_PEPPER = 'integration-test-pepper-0123456789abcdef';
const MASTER_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const LOG_KEY = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

// Every limit admits 1,000,000 requests a second (scripts/lib.sh BENCH_RATE_LIMITS_LIFTED):
// the limiter still runs as in production, so its headers are there, but the seeding's
// thousand voters from one address are never refused.
const RATE_LIMITS_LIFTED = Object.fromEntries(
  [
    'SUBMIT',
    'TOKEN',
    'ELECTIONS',
    'PUBLIC',
    'GLOBAL',
    'TOKEN_PER_VOTER',
    'SUBMIT_PER_TOKEN',
  ].flatMap((group) => [
    [`OBSERVERNET_RATELIMIT_${group}`, '1000000'],
    [`OBSERVERNET_RATELIMIT_${group}_WINDOW_S`, '1'],
  ]),
);

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through scripts/test (or export it)`);
  }
  return value;
}

export function paths() {
  const binary = process.env.OBSERVERNET_BINARY || path.join(REPO_ROOT, 'build/asan/observernet');
  const webRoot = process.env.OBSERVERNET_WEB_ROOT || path.join(WEB_DIR, 'dist');
  const chromiumPath = process.env.OBSERVERNET_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(binary)) throw new Error(`no server binary at ${binary}`);
  if (!existsSync(path.join(webRoot, 'booth.html'))) {
    throw new Error(`${webRoot} holds no built pages: run \`node build.mjs\` in web/`);
  }
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (Debian package chromium)`);
  return { binary, webRoot, chromiumPath };
}

// ---------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn until it returns a truthy value; throws with `what` after timeoutMs.
export async function eventually(fn, what, timeoutMs = 15000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

// Servers still running when this process exits (a crash, a test runner's timeout) go
// with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

// startServer({env, rateLimits: 'lifted' | 'default'}) -> {url, port, origin, output(), stop()}
// A fresh `observernet serve` with migrations applied; resolves once /readyz answers 200.
export async function startServer({ env = {}, rateLimits = 'lifted' } = {}) {
  const { binary, webRoot } = paths();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const childEnv = {
    ...process.env,
    OBSERVERNET_DATABASE_URL: requiredEnv('OBSERVERNET_TEST_DATABASE_URL'),
    OBSERVERNET_REDIS_URL: requiredEnv('OBSERVERNET_TEST_REDIS_URL'),
    OBSERVERNET_AUTH_VOTER_PEPPER: VOTER_PEPPER,
    OBSERVERNET_AUTH_MASTER_KEY: MASTER_KEY,
    OBSERVERNET_AUTH_LOG_KEY: LOG_KEY,
    OBSERVERNET_AUTH_ADMIN_KEY_HASHES: ADMIN_KEY_HASH,
    OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS: '0',
    OBSERVERNET_WEB_ROOT: webRoot,
    OBSERVERNET_WEB_PUBLIC_URL: url,
    // Receipts turn `sequenced` within a tenth of a second: each ballot is published on
    // the next pass, a set of one (production waits for a set of board.min_batch).
    OBSERVERNET_BOARD_SEQUENCE_INTERVAL_MS: '100',
    OBSERVERNET_BOARD_MIN_BATCH: '1',
    OBSERVERNET_BOARD_FRESHNESS_MS: '100',
    OBSERVERNET_LOG_LEVEL: process.env.OBSERVERNET_LOG_LEVEL ?? 'warn',
    ...(rateLimits === 'lifted' ? RATE_LIMITS_LIFTED : {}),
    ...env,
  };
  const child = spawn(binary, ['serve', '--port', String(port), '--migrate'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let output = '';
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 200000) output = output.slice(-100000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((status) => {
    gone = status;
  });

  try {
    await eventually(async () => {
      if (gone) throw new Error(`the server exited (${JSON.stringify(gone)}):\n${output.slice(-4000)}`);
      const r = await fetch(`${url}/readyz`);
      return r.status === 200;
    }, 'the server to become ready', 60000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${output.slice(-4000)}`);
  }

  return {
    url,
    port,
    origin: url,
    output: () => output,
    // Stops the server; rejects when it had died or does not exit cleanly (a sanitizer report).
    async stop() {
      if (gone) throw new Error(`the server had exited (${JSON.stringify(gone)}):\n${output.slice(-4000)}`);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      const status = await exited;
      clearTimeout(timer);
      if (status.code !== 0) {
        throw new Error(`the server exited with ${JSON.stringify(status)}:\n${output.slice(-4000)}`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// The API from Node
// ---------------------------------------------------------------------------------------

async function call(server, method, route, { body, admin = false, headers = {} } = {}) {
  const h = { ...headers };
  if (admin) h.Authorization = `Bearer ${ADMIN_KEY}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(server.url + route, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message below
  }
  return { status: r.status, json, text, headers: r.headers };
}

async function expectStatus(promise, statuses, what) {
  const r = await promise;
  if (!statuses.includes(r.status)) {
    throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  }
  return r.json;
}

// A test file's server, browser, seeded election and browser context: made before its
// tests and closed after them. Read the fields inside the tests, once `before` has run.
export function seededSession({ voters = 1, server: serverOptions } = {}) {
  const session = {};
  before(async () => {
    session.server = await startServer(serverOptions);
    session.browser = await launchBrowser();
    session.seeded = await seedElection(session.server, { voters });
    session.ctx = await openContext(session.browser, session.server);
  });
  after(async () => {
    await session.ctx?.close();
    await session.browser?.close();
    await session.server?.stop();
  });
  return session;
}

export const api = {
  get: (server, route) => expectStatus(call(server, 'GET', route), [200], `GET ${route}`),
  call,
  admin: (server, method, route, body) =>
    expectStatus(call(server, method, route, { body, admin: true }), [200, 201, 204], `${method} ${route}`),
};

// A small but realistic election: a choose-1, a choose-up-to-2 and a choose-0-to-1 contest.
export function sampleDefinition(title = 'Town council 2026') {
  return {
    title,
    description: 'Elect the mayor, and up to two members of the town council.',
    resultsVisibility: 'after_close',
    contests: [
      {
        id: 'mayor',
        title: 'Mayor',
        minSelections: 1,
        maxSelections: 1,
        options: [
          { id: 'alice', title: 'Alice Martin' },
          { id: 'bob', title: 'Bob Dupont' },
          { id: 'carol', title: 'Carol Schmidt' },
        ],
      },
      {
        id: 'council',
        title: 'Council',
        minSelections: 0,
        maxSelections: 2,
        options: [
          { id: 'dan', title: 'Dan Weber' },
          { id: 'eve', title: 'Eve Laurent' },
          { id: 'frank', title: 'Frank Keller' },
        ],
      },
    ],
  };
}

// seedElection(server, {definition, voters, open}) -> {election, voters: [{voterId, credential, link}]}
// Ballot i of sampleDefinition: a mayor in turn and 0, 1 or 2 councillors, sorted as the
// ballot's leaf sorts them.
export function sampleSelections(i) {
  const mayors = ['alice', 'bob', 'carol'];
  const council = ['dan', 'eve', 'frank'];
  const s = [{ contestId: 'mayor', optionId: mayors[i % 3] }];
  if (i % 4 >= 1) s.push({ contestId: 'council', optionId: council[i % 3] });
  if (i % 4 === 3) s.push({ contestId: 'council', optionId: council[(i + 1) % 3] });
  return s.sort((a, b) => (a.contestId + a.optionId < b.contestId + b.optionId ? -1 : 1));
}

export async function seedElection(server, { definition = sampleDefinition(), voters = 3, open = true } = {}) {
  const election = await api.admin(server, 'POST', '/api/v1/elections', definition);
  const ids = Array.from({ length: voters }, (_, i) => ({ voterId: `voter-${String(i + 1).padStart(6, '0')}` }));
  const imported = await api.admin(server, 'POST', `/api/v1/elections/${election.id}/voters`, { voters: ids });
  if (open) await api.admin(server, 'POST', `/api/v1/elections/${election.id}/open`);
  const credentials = imported.credentials.map((c) => ({
    ...c,
    link: c.link ?? voterLink(server, election.id, c),
  }));
  return { election, voters: credentials };
}

// As the server writes it when web.public_url is set (src/api/admin_election_routes.cpp).
export function voterLink(server, electionId, { voterId, credential, voterHash }) {
  const hash = voterHash ? `&voterHash=${voterHash}` : '';
  return `${server.url}/vote/${electionId}#voter=${encodeURIComponent(voterId)}&credential=${credential}${hash}`;
}

export async function closeElection(server, electionId) {
  return api.admin(server, 'POST', `/api/v1/elections/${electionId}/close`);
}

// A token for one voter, made as the booth makes it (web/src/lib/blind_rsa.js).
export async function fetchToken(server, electionId, voter, key) {
  const message = crypto.getRandomValues(new Uint8Array(32));
  const { blindedMessage, inverse } = await blind(key, message);
  const body = {
    electionId,
    voterId: voter.voterId,
    credential: voter.credential,
    blindedMessage: b64urlEncode(blindedMessage),
  };
  const signed = await expectStatus(call(server, 'POST', '/api/v1/voting/token', { body }), [200], 'token');
  const signature = await finalize(key, message, b64urlDecode(signed.blindSignature), inverse);
  return { message: b64urlEncode(message), signature: b64urlEncode(signature) };
}

export async function tokenKey(server, electionId) {
  return importTokenKey(await api.get(server, `/api/v1/elections/${electionId}/token-key`));
}

// castBallots(server, electionId, voters, selectionsOf(i) -> [{contestId, optionId}])
// -> receipts, in the voters' order. Concurrent batches: 1,000 ballots in seconds.
export async function castBallots(server, electionId, voters, selectionsOf, { batch = 50 } = {}) {
  const key = await tokenKey(server, electionId);
  const receipts = new Array(voters.length);
  for (let start = 0; start < voters.length; start += batch) {
    await Promise.all(
      voters.slice(start, start + batch).map(async (voter, j) => {
        const i = start + j;
        const token = await fetchToken(server, electionId, voter, key);
        const body = { electionId, token, selections: selectionsOf(i) };
        const r = await expectStatus(call(server, 'POST', '/api/v1/voting/submit', { body }), [200, 201], 'submit');
        receipts[i] = r.receipt;
      }),
    );
  }
  return receipts;
}

// Waits until the election's signed tree head covers `size` ballots.
export async function waitForTreeSize(server, electionId, size, timeoutMs = 30000) {
  return eventually(async () => {
    const head = await api.get(server, `/api/v1/public/elections/${electionId}/tree-head`);
    return head.treeSize >= size ? head : null;
  }, `a tree head of ${size} ballots`, timeoutMs);
}

// ---------------------------------------------------------------------------------------
// PostgreSQL as the schema's owner (the tamper test)
// ---------------------------------------------------------------------------------------

const run = promisify(execFile);

export async function psqlOwner(sql) {
  const url = process.env.OBSERVERNET_TEST_OWNER_DATABASE_URL || requiredEnv('OBSERVERNET_TEST_DATABASE_URL');
  const { stdout } = await run('psql', [url, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  return stdout.trim();
}

// SQL string literal.
export const sqlText = (s) => `'${String(s).replaceAll("'", "''")}'`;

// ---------------------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  const { chromiumPath } = paths();
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

// openContext(browser, server, options) -> {context, problems, allow(regex), assertClean()}
// Every page of the context reports its console errors and warnings, uncaught errors,
// CSP violations (the `securitypolicyviolation` event, seen by an init script) and
// requests to any other origin than the server's. A test declares the messages it causes on purpose with
// allow(regex); assertClean() throws listing all the others.
export async function openContext(browser, server, options = {}) {
  const { allowedOrigins = [], ...contextOptions } = options;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    ...contextOptions,
  });
  const problems = [];
  const allowed = [];
  await context.exposeBinding('__observernetCspViolation', ({ page }, v) => {
    problems.push(`CSP violation on ${page.url()}: ${v.directive} blocked ${v.blockedURI} (${v.source})`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      globalThis.__observernetCspViolation({
        directive: e.violatedDirective,
        blockedURI: e.blockedURI,
        source: `${e.sourceFile}:${e.lineNumber}`,
      });
    });
  });
  const origins = new Set([server.origin, ...allowedOrigins]);
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        problems.push(`console ${m.type()} on ${page.url()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => problems.push(`uncaught error on ${page.url()}: ${e.stack || e.message}`));
    page.on('request', (r) => {
      const u = new URL(r.url());
      if ((u.protocol === 'http:' || u.protocol === 'https:') && !origins.has(u.origin)) {
        problems.push(`request to another origin from ${page.url()}: ${r.url()}`);
      }
    });
    page.on('worker', (w) => {
      w.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`worker console ${m.type()}: ${m.text()}`);
      });
    });
  };
  context.on('page', watch);
  return {
    context,
    problems,
    allow(regex) {
      allowed.push(regex);
    },
    unexpected() {
      return problems.filter((p) => !allowed.some((re) => re.test(p)));
    },
    assertClean(what = 'the pages') {
      const left = this.unexpected();
      if (left.length) throw new Error(`${what} reported ${left.length} problem(s):\n  ${left.join('\n  ')}`);
    },
    async close() {
      await context.close();
    },
  };
}

// ---------------------------------------------------------------------------------------
// axe-core
// ---------------------------------------------------------------------------------------

const AXE_SOURCE = readFileSync(path.join(WEB_DIR, 'node_modules/axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Runs axe-core (WCAG 2.1 AA) on the page as it is now; returns the violations. The
// source is evaluated through the DevTools protocol, which the page's CSP does not govern.
export async function axeViolations(page) {
  const present = await page.evaluate(() => typeof globalThis.axe === 'object');
  if (!present) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const result = await globalThis.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary, html: n.html })),
    }));
  }, WCAG_TAGS);
}

export function formatViolations(violations) {
  return violations
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n` +
        v.nodes.map((n) => `    at ${n.target}\n      ${n.html}\n      ${n.summary?.replaceAll('\n', '\n      ')}`).join('\n'),
    )
    .join('\n');
}
