// A whole vote with the keyboard alone: Tab to move, Space to tick, Enter to press. The
// mouse is never used; the test only reads where the focus is.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, seededSession } from './support.mjs';
import { booth } from './pages.mjs';

const session = seededSession({ voters: 1 });

// Presses Tab until `locator` has the focus; fails after `max` presses.
async function tabTo(page, locator, what, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await locator.evaluate((el) => el === document.activeElement).catch(() => false)) return;
  }
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  assert.fail(`${max} presses of Tab never reached ${what}; the focus is on ${focused}`);
}

// Each new step moves the focus to its heading, so that the next Tab starts there and a
// screen reader reads the step's title.
async function focusIsOnHeading(page, what) {
  await page
    .waitForFunction(() => /^H[1-6]$/.test(document.activeElement?.tagName ?? ''), null, { timeout: 15000 })
    .catch(async () => {
      const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
      assert.fail(`after ${what} the focus is not on the new step's heading but on ${focused}`);
    });
}

test('a whole vote with the keyboard alone', async () => {
  const [voter] = session.seeded.voters;
  const page = await session.ctx.context.newPage();
  await page.goto(voter.link);
  await booth.waitForBallot(page);

  // The radio group is one Tab stop: its first option takes the focus, Space ticks it.
  const alice = booth.option(page, 'Mayor', 'Alice Martin');
  await tabTo(page, alice, 'the first option for Mayor');
  await page.keyboard.press('Space');
  assert.equal(await alice.isChecked(), true);
  const frank = booth.option(page, 'Council', 'Frank Keller');
  await tabTo(page, frank, 'Frank Keller');
  await page.keyboard.press('Space');
  assert.equal(await frank.isChecked(), true);

  await tabTo(page, booth.continueButton(page), 'Continue');
  await page.keyboard.press('Enter');
  await booth.waitForReview(page);
  await focusIsOnHeading(page, 'Continue');
  await tabTo(page, booth.castButton(page), 'Cast my ballot');
  await page.keyboard.press('Enter');

  const receipt = await booth.receipt(page);
  await focusIsOnHeading(page, 'Cast my ballot');
  await booth.waitForSequenced(page);
  await tabTo(page, booth.checkButton(page), 'the inclusion check');
  await page.keyboard.press('Enter');
  await page.getByText(/^Checked in this browser/).waitFor({ timeout: 30000 });

  const board = await api.get(session.server, `/api/v1/public/elections/${session.seeded.election.id}/ballots`);
  const ours = board.ballots.find((b) => b.receipt === receipt);
  assert.deepEqual(ours?.selections, [
    { contestId: 'council', optionId: 'frank' },
    { contestId: 'mayor', optionId: 'alice' },
  ]);
  await page.close();
  session.ctx.assertClean('the booth');
});
