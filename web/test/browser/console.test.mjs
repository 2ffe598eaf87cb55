// Every page and booth step loads with no CSP violation, no console error, no uncaught
// error and no request to another origin; only what a step causes on purpose (the 404
// page's own status) is allowed, and it is declared by that step (tour.mjs).
import { after, before, test } from 'node:test';

import { launchBrowser, openContext, startServer } from './support.mjs';
import { TOUR, seedTour } from './tour.mjs';

let server;
let browser;
let env;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const seed = await seedTour(server);
  const ctx = await openContext(browser, server);
  page = await ctx.context.newPage();
  env = { server, seed, ctx, voter: seed.voters[0] };
});

after(async () => {
  await env?.ctx.close();
  await browser?.close();
  await server?.stop();
});

for (const step of TOUR) {
  test(`no CSP violation or console error on ${step.name}`, async () => {
    await step.run(page, env);
    // Late messages (a failed chunk, a worker's error) get a moment to arrive.
    await page.waitForTimeout(300);
    env.ctx.assertClean(step.name);
    env.ctx.problems.length = 0;
  });
}
