// A reload right after casting, before the answer arrives: the booth resends the ballot it
// saved, gets the same receipt, and the board holds exactly one ballot.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, seededSession, waitForTreeSize } from './support.mjs';
import { booth } from './pages.mjs';

const session = seededSession({ voters: 1 });

test('a reload before the answer to the ballot gets the same receipt and one ballot on the board', async () => {
  const [voter] = session.seeded.voters;
  const page = await session.ctx.context.newPage();
  await page.goto(voter.link);
  await booth.waitForBallot(page);
  await booth.choose(page, { Mayor: ['Carol Schmidt'] });
  await booth.continueButton(page).click();
  await booth.waitForReview(page);

  // The ballot reaches the server, which commits it, but its answer never reaches the page.
  let firstAnswer;
  const sent = new Promise((resolve) => {
    page.route('**/api/v1/voting/submit', async (route) => {
      const response = await route.fetch();
      firstAnswer = { status: response.status(), body: await response.json(), request: route.request().postData() };
      resolve();
      // Held: neither fulfilled nor aborted; the reload below abandons it.
    });
  });
  await booth.castButton(page).click();
  await sent;
  assert.equal(firstAnswer.status, 201, JSON.stringify(firstAnswer.body));
  await page.unrouteAll({ behavior: 'ignoreErrors' });

  // The resend after the reload is the identical request, answered 200 (already accepted).
  const resent = page.waitForResponse((r) => r.url().endsWith('/api/v1/voting/submit'), { timeout: 30000 });
  await page.reload();
  const again = await resent;
  assert.equal(again.status(), 200);
  assert.equal(again.request().postData(), firstAnswer.request, 'the booth sent a different ballot');
  assert.equal(await booth.receipt(page), firstAnswer.body.receipt);

  const head = await waitForTreeSize(session.server, session.seeded.election.id, 1);
  assert.equal(head.treeSize, 1);
  const board = await api.get(session.server, `/api/v1/public/elections/${session.seeded.election.id}/ballots`);
  assert.deepEqual(board.ballots.map((b) => b.receipt), [firstAnswer.body.receipt]);
  await page.close();
  session.ctx.assertClean('the booth');
});
