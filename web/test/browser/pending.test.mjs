// Ballots reach the board in sets (docs/security.md): with the production sizes, a lone
// ballot waits, and the booth and the receipts page say why and by when, here at the
// close since the election has no scheduled one. The booth shows the voter hash of the
// link, whose token goes public with the set too.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, seededSession } from './support.mjs';
import { booth } from './pages.mjs';

const session = seededSession({
  voters: 1,
  server: { env: { OBSERVERNET_BOARD_MIN_BATCH: '100', OBSERVERNET_BOARD_MIN_ANONYMITY: '10' } },
});

test('a lone ballot waits for its set, and the voter is told why and by when', async () => {
  const [voter] = session.seeded.voters;
  const page = await session.ctx.context.newPage();
  await page.goto(voter.link);
  await booth.waitForBallot(page);
  await booth.choose(page, { Mayor: ['Alice Martin'] });
  await booth.continueButton(page).click();
  await booth.waitForReview(page);
  await booth.castButton(page).click();
  const receipt = await booth.receipt(page);
  await page
    .getByText(/Ballots are added to the board in groups, so that no one can tell which is yours\. Yours will be there when the election closes at the latest\./)
    .waitFor({ timeout: 10000 });

  const status = await api.get(session.server, `/api/v1/voting/receipts/${receipt}`);
  assert.equal(status.status, 'pending');
  assert.equal(status.dueBy, null);

  // The voter hash from the link, shown with the receipt; the voter's token waits, like
  // the ballot, for its set: the issued list does not show it one issuance at a time.
  const shown = (await page.locator('#voter-hash').innerText()).replace(/\s/g, '');
  assert.equal(shown, voter.voterHash);
  const lookUp = await page.getByRole('link', { name: 'Look for it among the issued tokens' }).getAttribute('href');
  assert.equal(lookUp, `/verify/${session.seeded.election.id}?voterHash=${voter.voterHash}`);
  const issued = await api.get(session.server, `/api/v1/public/elections/${session.seeded.election.id}/issued`);
  assert.deepEqual(issued.voterHashes, []);

  await page.goto(`${session.server.url}/receipts?receipt=${receipt}`);
  await page.getByText(/It will be on the board when the election closes at the latest\./).waitFor({ timeout: 10000 });
  await page.close();
  session.ctx.assertClean('the booth and the receipts page');
});
