// axe-core (WCAG 2.1 A and AA rules) on every page and every booth step: 0 violations,
// at desktop width and at a 360 px wide phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { axeViolations, formatViolations, launchBrowser, openContext, startServer } from './support.mjs';
import { TOUR, seedTour } from './tour.mjs';

let server;
let browser;
let seed;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  seed = await seedTour(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 360, height: 740 },
];

VIEWPORTS.forEach((viewport, n) => {
  describe(`at ${viewport.width} px`, () => {
    let env;
    let page;
    before(async () => {
      const ctx = await openContext(browser, server, { viewport });
      page = await ctx.context.newPage();
      env = { server, seed, ctx, voter: seed.voters[n] };
    });
    after(() => env?.ctx.close());

    for (const step of TOUR) {
      test(`axe finds no violation on ${step.name}`, async () => {
        await step.run(page, env);
        const violations = await axeViolations(page);
        assert.equal(violations.length, 0, `${step.name} (${page.url()}):\n${formatViolations(violations)}`);
      });
    }
  });
});
