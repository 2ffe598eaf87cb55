// A voter follows their link, chooses, casts, sees the receipt turn `sequenced`, and the
// inclusion check pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, seededSession } from './support.mjs';
import { booth } from './pages.mjs';

const session = seededSession({ voters: 2 });

test('the import gives each voter their link', () => {
  const [voter] = session.seeded.voters;
  assert.equal(
    voter.link,
    `${session.server.url}/vote/${session.seeded.election.id}#voter=${encodeURIComponent(voter.voterId)}&credential=${voter.credential}` +
      `&voterHash=${voter.voterHash}`,
  );
});

test('a voter follows their link, chooses, casts, and checks that the ballot is on the board', async () => {
  const [voter] = session.seeded.voters;
  const page = await session.ctx.context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(voter.link);

  // The fragment leaves the address bar and the history at once; no request carries it.
  await booth.waitForBallot(page);
  assert.equal(new URL(page.url()).hash, '');
  assert.equal(await page.evaluate(() => location.hash), '');
  for (const url of requests) assert.ok(!url.includes(voter.credential), `the credential was sent in ${url}`);

  await booth.choose(page, { Mayor: ['Bob Dupont'], Council: ['Dan Weber', 'Eve Laurent'] });
  await booth.continueButton(page).click();
  await booth.waitForReview(page);
  const review = await page.locator('main').innerText();
  for (const chosen of ['Bob Dupont', 'Dan Weber', 'Eve Laurent']) assert.match(review, new RegExp(chosen));
  assert.doesNotMatch(review, /Alice Martin|Frank Keller/);

  await booth.castButton(page).click();
  const receipt = await booth.receipt(page);
  await booth.waitForSequenced(page);
  const result = await booth.checkInclusion(page);
  assert.match(result, /entry \d+ of the \d+ on the board/);

  // The server agrees: the receipt is sequenced, and the ballot on the board is ours.
  const status = await api.get(session.server, `/api/v1/voting/receipts/${receipt}`);
  assert.equal(status.status, 'sequenced');
  const board = await api.get(session.server, `/api/v1/public/elections/${session.seeded.election.id}/ballots`);
  const ours = board.ballots.find((b) => b.receipt === receipt);
  assert.ok(ours, 'the ballot is not on the board');
  assert.deepEqual(ours.selections, [
    { contestId: 'council', optionId: 'dan' },
    { contestId: 'council', optionId: 'eve' },
    { contestId: 'mayor', optionId: 'bob' },
  ]);
  await page.close();
  session.ctx.assertClean('the booth');
});
