// The server's own 429: with one ballot a client per 10 seconds (ratelimit.submit), a
// second ballot from the same address right after the first is refused with Retry-After;
// the booth counts down from it, sends the same ballot again, and gets its receipt. The
// window is that long so that a slow machine, on which the first receipt took over 5 s to
// show, still sends the second ballot within it; and that short so that the countdowns
// (the sliding window may ask for a second) fit in the receipt wait's 30 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, launchBrowser, openContext, seedElection, startServer } from './support.mjs';
import { booth } from './pages.mjs';

let server;
let browser;
let seeded;

before(async () => {
  server = await startServer({
    rateLimits: 'default',
    env: {
      OBSERVERNET_RATELIMIT_SUBMIT: '1',
      OBSERVERNET_RATELIMIT_SUBMIT_WINDOW_S: '10',
      // A Redis answer later than the default 5 ms (a sanitized server on a busy machine)
      // moves the limits in-process, where the first ballot was never counted, and the
      // second would go through: as the C++ rate limit tests, a generous deadline.
      OBSERVERNET_RATELIMIT_REDIS_TIMEOUT_MS: '250',
    },
  });
  browser = await launchBrowser();
  seeded = await seedElection(server, { voters: 2 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function upToReview(ctx, voter) {
  const page = await ctx.context.newPage();
  await page.goto(voter.link);
  await booth.waitForBallot(page);
  await booth.choose(page, { Mayor: ['Alice Martin'] });
  await booth.continueButton(page).click();
  await booth.waitForReview(page);
  return page;
}

test("the server's 429 on a ballot: a countdown from Retry-After, then the same ballot goes through", async () => {
  const ctx = await openContext(browser, server);
  ctx.allow(/status of 429/);
  const first = await upToReview(ctx, seeded.voters[0]);
  const second = await upToReview(ctx, seeded.voters[1]);

  await booth.castButton(first).click();
  await booth.receipt(first);

  const answers = [];
  second.on('response', (r) => {
    if (r.url().endsWith('/api/v1/voting/submit')) {
      answers.push({ status: r.status(), retryAfter: r.headers()['retry-after'], body: r.request().postData() });
    }
  });
  await booth.castButton(second).click();
  await second.getByText(/^The server is busy\. Trying again in \d+ seconds?\./).waitFor({ timeout: 10000 });
  const receipt = await booth.receipt(second);

  assert.equal(answers[0].status, 429);
  assert.ok(Number(answers[0].retryAfter) >= 1, `Retry-After: ${answers[0].retryAfter}`);
  assert.equal(answers.at(-1).status, 201);
  assert.ok(answers.every((a) => a.body === answers[0].body), 'the ballot sent again differs');
  await api.get(server, `/api/v1/voting/receipts/${receipt}`);
  ctx.assertClean('the booth');
  await ctx.close();
});
