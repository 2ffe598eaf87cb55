// The recount in the browser (/verify/{id}) on a closed election with 1,000 ballots: every
// check passes; then one stored ballot, and then one audit event, is altered in PostgreSQL
// as the schema's owner, and the recount fails naming the check.
//
// Neither change needs a restart: the ballots page reads each leaf from PostgreSQL at every
// request (only the leaf hashes are held in memory, from log_chunks), and the audit chain
// is read from audit_events at every request (src/api/board_routes.cpp,
// src/api/public_election_routes.cpp). What the server keeps in memory or in Redis (the
// Merkle tree, the published results) is what the recount compares the altered data with.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  api,
  castBallots,
  closeElection,
  launchBrowser,
  sampleSelections,
  openContext,
  psqlOwner,
  sampleDefinition,
  seedElection,
  sqlText,
  startServer,
  waitForTreeSize,
} from './support.mjs';
import { runRecount } from './pages.mjs';

const BALLOTS = 1000;
const MAYORS = ['alice', 'bob', 'carol'];

let server;
let browser;
let ctx;
let electionId;
let voterHash; // of a voter who cast a ballot

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const seeded = await seedElection(server, { definition: sampleDefinition('Recount, 1,000 ballots'), voters: BALLOTS });
  electionId = seeded.election.id;
  voterHash = seeded.voters[0].voterHash;
  const started = Date.now();
  await castBallots(server, electionId, seeded.voters, sampleSelections);
  await waitForTreeSize(server, electionId, BALLOTS);
  await closeElection(server, electionId);
  console.log(`${BALLOTS} ballots cast and the election closed in ${Date.now() - started} ms`);
  ctx = await openContext(browser, server);
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  await server?.stop();
});

function byName(checks) {
  return Object.fromEntries(checks.map((c) => [c.name, c]));
}

test('the recount passes on the closed election with 1,000 ballots', async () => {
  const page = await ctx.context.newPage();
  const started = Date.now();
  const { checks, verdict } = await runRecount(page, server, electionId);
  console.log(`recount of ${BALLOTS} ballots in the browser: ${Date.now() - started} ms (page load included)`);
  const failed = checks.filter((c) => c.status === 'FAIL');
  assert.deepEqual(failed, [], `checks failed: ${JSON.stringify(failed)}`);
  for (const name of ['token signatures', 'ballots', 'tree head', 'audit chain', 'roll', 'issued tokens', 'recount']) {
    assert.equal(byName(checks)[name]?.status, 'PASS', `${name}: ${JSON.stringify(checks)}`);
  }
  assert.match(verdict, /pass/i);
  await page.close();
  ctx.assertClean('the recount page');
});

test('a voter hash in the address: the page says a token was issued in that name', async () => {
  assert.match(voterHash ?? '', /^[0-9a-f]{64}$/, 'the import answers each voter hash');
  const page = await ctx.context.newPage();
  const { checks } = await runRecount(page, server, electionId, { search: `?voterHash=${voterHash.toUpperCase()}` });
  const check = byName(checks)['voter hash'];
  assert.equal(check?.status, 'PASS', JSON.stringify(checks));
  assert.match(check.detail, new RegExp(`^voter hash ${voterHash.slice(0, 16)}\\.\\.\\. is on the roll \\(commitment 1\\); a token WAS issued`));
  assert.ok(await page.getByText(voterHash).isVisible(), 'the page names the voter hash it looks for');
  await page.close();
  ctx.assertClean('the recount page');
});

test('an altered ballot fails the recount, naming the ballots check', async () => {
  const page = await api.get(server, `/api/v1/public/elections/${electionId}/ballots?from=0&limit=1`);
  const receipt = page.ballots[0].receipt;
  const where = `receipt = decode(${sqlText(receipt)}, 'hex')`;
  const leaf = await psqlOwner(`SELECT leaf FROM ballots WHERE ${where}`);
  const mayor = JSON.parse(leaf).selections.find((s) => s.contestId === 'mayor').optionId;
  const other = MAYORS.find((m) => m !== mayor);
  const altered = leaf.replace(`"optionId":"${mayor}"`, `"optionId":"${other}"`);
  assert.notEqual(altered, leaf);
  assert.equal(await psqlOwner(`UPDATE ballots SET leaf = ${sqlText(altered)} WHERE ${where} RETURNING 1`), '1');
  try {
    const tab = await ctx.context.newPage();
    const { checks, verdict } = await runRecount(tab, server, electionId);
    assert.equal(byName(checks).ballots?.status, 'FAIL', JSON.stringify(checks));
    assert.match(byName(checks).ballots.detail, new RegExp(receipt.slice(0, 8)), 'the failure names the ballot');
    assert.equal(byName(checks)['audit chain']?.status, 'PASS', JSON.stringify(checks));
    assert.match(verdict, /fail/i);
    await tab.close();
  } finally {
    await psqlOwner(`UPDATE ballots SET leaf = ${sqlText(leaf)} WHERE ${where}`);
  }
  ctx.assertClean('the recount page');
});

test('an altered audit event fails the recount, naming the audit chain check', async () => {
  // The voters.imported event: counts only, used by no other check.
  const where = `election_id = ${sqlText(electionId)}::uuid AND type = 'voters.imported'`;
  const payload = await psqlOwner(`SELECT payload FROM audit_events WHERE ${where}`);
  const altered = payload.replace(`"registered":${BALLOTS}`, `"registered":${BALLOTS + 1}`);
  assert.notEqual(altered, payload);
  assert.equal(await psqlOwner(`UPDATE audit_events SET payload = ${sqlText(altered)} WHERE ${where} RETURNING 1`), '1');
  try {
    const tab = await ctx.context.newPage();
    const { checks, verdict } = await runRecount(tab, server, electionId);
    assert.equal(byName(checks)['audit chain']?.status, 'FAIL', JSON.stringify(checks));
    assert.equal(byName(checks).ballots?.status, 'PASS', JSON.stringify(checks));
    assert.match(verdict, /fail/i);
    await tab.close();
  } finally {
    await psqlOwner(`UPDATE audit_events SET payload = ${sqlText(payload)} WHERE ${where}`);
  }
  ctx.assertClean('the recount page');
});
