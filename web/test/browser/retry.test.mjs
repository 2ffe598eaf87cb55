// The booth's retry rules against the real server: a lost connection and a 503 resend
// the identical ballot; a second device gets token_already_issued and is told where to go
// back to. The failures are injected in front of the server with page.route; every
// request that gets through reaches the real server. (The server's own 429:
// ratelimit.test.mjs.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import commonEn from '../../src/i18n/common.en.js';
import { api, launchBrowser, openContext, seedElection, startServer, waitForTreeSize } from './support.mjs';
import { booth } from './pages.mjs';

let server;
let browser;
let seeded;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  seeded = await seedElection(server, { voters: 2 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const problem = (status, code, retryAfter) => ({
  status,
  headers: { 'Content-Type': 'application/problem+json', 'Retry-After': String(retryAfter) },
  body: JSON.stringify({ type: `urn:observernet:problem:${code}`, title: code, status, detail: code, code }),
});

// Votes with voter n up to the review, then casts with `answers` injected in turn in front
// of the submit requests ('pass' lets one through). Returns {page, ctx, bodies, receipt}.
async function castThrough(n, answers, onPage = async () => {}) {
  const ctx = await openContext(browser, server);
  const page = await ctx.context.newPage();
  await page.goto(seeded.voters[n].link);
  await booth.waitForBallot(page);
  await booth.choose(page, { Mayor: ['Alice Martin'] });
  await booth.continueButton(page).click();
  await booth.waitForReview(page);
  const bodies = [];
  const queue = [...answers];
  await page.route('**/api/v1/voting/submit', async (route) => {
    bodies.push(route.request().postData());
    const next = queue.shift() ?? 'pass';
    if (next === 'pass') await route.continue();
    else if (next === 'abort') await route.abort('connectionreset');
    else await route.fulfill(next);
  });
  await booth.castButton(page).click();
  await onPage(page);
  const receipt = await booth.receipt(page);
  return { ctx, page, bodies, receipt };
}

async function assertSequenced(receipt) {
  await waitForTreeSize(server, seeded.election.id, 1);
  const status = await api.get(server, `/api/v1/voting/receipts/${receipt}`);
  assert.equal(status.status, 'sequenced');
}

test('a lost connection and a 503 resend the identical ballot', async () => {
  const { ctx, bodies, receipt } = await castThrough(0, ['abort', problem(503, 'service_unavailable', 1)]);
  assert.equal(bodies.length, 3);
  assert.ok(bodies.every((b) => b === bodies[0]), 'the ballot sent again differs');
  await assertSequenced(receipt);
  ctx.allow(/status of 503/);
  ctx.allow(/net::ERR_CONNECTION_RESET/);
  ctx.assertClean('the booth');
  await ctx.close();
});

test('a second device gets token_already_issued and is told to go back to the first one', async () => {
  const link = seeded.voters[1].link;
  const first = await openContext(browser, server);
  const firstPage = await first.context.newPage();
  await firstPage.goto(link);
  await booth.waitForBallot(firstPage); // the token is issued to this browser

  const second = await openContext(browser, server);
  second.allow(/status of 409/);
  const secondPage = await second.context.newPage();
  await secondPage.goto(link);
  await secondPage.getByText(commonEn['problem.token_already_issued']).waitFor({ timeout: 30000 });
  assert.equal(await booth.contest(secondPage, 'Mayor').count(), 0, 'the second device offers a ballot');

  // The first device can still vote.
  await booth.choose(firstPage, { Mayor: ['Bob Dupont'] });
  await booth.continueButton(firstPage).click();
  await booth.castButton(firstPage).click();
  await api.get(server, `/api/v1/voting/receipts/${await booth.receipt(firstPage)}`);
  first.assertClean('the first device');
  second.assertClean('the second device');
  await first.close();
  await second.close();
});
