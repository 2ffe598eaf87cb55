// A page from another origin may call POST /api/v1/voting/token only when its origin is in
// http.cors_origins (docs/api/errors.md: origin_not_allowed). Two tiny static servers on
// other ports play the other sites; the same page and script are served by both.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { b64urlEncode } from '../../src/lib/encoding.js';
import { blind } from '../../src/lib/blind_rsa.js';
import {
  api,
  freePort,
  launchBrowser,
  openContext,
  seedElection,
  startServer,
  tokenKey,
} from './support.mjs';

// The other site's page: a script file (no inline script) that calls the API with fetch
// and reports what it could see.
const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title>' +
  '<script src="/caller.js"></script></head><body><h1>Another site</h1></body></html>';
const CALLER = `
globalThis.callToken = async (apiUrl, body) => {
  try {
    const r = await fetch(apiUrl + '/api/v1/voting/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { ok: true, status: r.status, body: await r.json(), rateLimit: r.headers.get('RateLimit') };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
};
`;

function startSite(port) {
  const site = http.createServer((req, res) => {
    if (req.url === '/caller.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(CALLER);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve) => site.listen(port, '127.0.0.1', () => resolve(site)));
}

let server;
let browser;
let allowedSite;
let otherSite;
let allowedOrigin;
let otherOrigin;
let seeded;
let key;

before(async () => {
  const allowedPort = await freePort();
  const otherPort = await freePort();
  allowedOrigin = `http://127.0.0.1:${allowedPort}`;
  otherOrigin = `http://127.0.0.1:${otherPort}`;
  allowedSite = await startSite(allowedPort);
  otherSite = await startSite(otherPort);
  server = await startServer({ env: { OBSERVERNET_HTTP_CORS_ORIGINS: allowedOrigin } });
  browser = await launchBrowser();
  seeded = await seedElection(server, { voters: 2 });
  key = await tokenKey(server, seeded.election.id);
});

after(async () => {
  await browser?.close();
  allowedSite?.close();
  otherSite?.close();
  await server?.stop();
});

async function tokenBody(voter) {
  const { blindedMessage } = await blind(key, crypto.getRandomValues(new Uint8Array(32)));
  return {
    electionId: seeded.election.id,
    voterId: voter.voterId,
    credential: voter.credential,
    blindedMessage: b64urlEncode(blindedMessage),
  };
}

async function tokensIssued() {
  const stats = await api.admin(server, 'GET', `/api/v1/elections/${seeded.election.id}/stats`);
  return stats.tokensIssued;
}

async function callFrom(origin, body, { allowCorsErrors = false } = {}) {
  const ctx = await openContext(browser, server, { allowedOrigins: [allowedOrigin, otherOrigin] });
  if (allowCorsErrors) {
    ctx.allow(/blocked by CORS policy/);
    ctx.allow(/Failed to load resource: net::ERR_FAILED/);
  }
  try {
    const page = await ctx.context.newPage();
    await page.goto(`${origin}/`);
    const result = await page.evaluate(([url, b]) => globalThis.callToken(url, b), [server.url, body]);
    ctx.assertClean(`the page from ${origin}`);
    return result;
  } finally {
    await ctx.close();
  }
}

test('a page from an origin that is not allowed cannot get a token', async () => {
  const before = await tokensIssued();
  const result = await callFrom(otherOrigin, await tokenBody(seeded.voters[0]), { allowCorsErrors: true });
  assert.equal(result.ok, false, `the call went through: ${JSON.stringify(result)}`);
  assert.match(result.error, /Failed to fetch|TypeError/);
  assert.equal(await tokensIssued(), before, 'the server issued a token to the other origin');

  // A "simple" cross-site POST (no preflight) is refused before the handler: the token
  // is not issued even though the browser sends the request.
  const simple = await api.call(server, 'POST', '/api/v1/voting/token', {
    headers: { Origin: otherOrigin, 'Content-Type': 'text/plain' },
    body: await tokenBody(seeded.voters[0]),
  });
  assert.equal(simple.status, 403, simple.text);
  assert.equal(simple.json?.code, 'origin_not_allowed', simple.text);
  assert.equal(await tokensIssued(), before);
});

test('a page from an allowed origin gets a token, and sees the exposed headers', async () => {
  const before = await tokensIssued();
  const result = await callFrom(allowedOrigin, await tokenBody(seeded.voters[1]));
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.match(result.body.blindSignature, /^[A-Za-z0-9_-]+$/);
  assert.ok(result.rateLimit, 'the RateLimit header is not exposed to the page');
  assert.equal(await tokensIssued(), before + 1);
});

test('the preflight answers the allowed origin and refuses the other one', async () => {
  const ask = (origin) =>
    fetch(`${server.url}/api/v1/voting/token`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
  const yes = await ask(allowedOrigin);
  assert.equal(yes.status, 204);
  assert.equal(yes.headers.get('access-control-allow-origin'), allowedOrigin);
  assert.match(yes.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(yes.headers.get('access-control-allow-headers') ?? '', /content-type/i);
  const no = await ask(otherOrigin);
  assert.equal(no.status, 403);
  assert.equal(no.headers.get('access-control-allow-origin'), null);
});
