// A tour of every page and every booth step, on a small realistic seed: the accessibility
// scan, the console and CSP check and the screenshots all walk it, so that a page added
// here is covered by all three.
import {
  castBallots,
  closeElection,
  sampleDefinition,
  seedElection,
  waitForTreeSize,
} from './support.mjs';
import boothEn from '../../src/i18n/booth.en.js';
import { booth, errorSummary, runRecount, settled } from './pages.mjs';

const MAYORS = ['alice', 'bob', 'carol'];
const COUNCIL = ['dan', 'eve', 'frank'];

function townBallot(i) {
  // Uneven, so the bar charts differ.
  const s = [{ contestId: 'mayor', optionId: MAYORS[[0, 0, 1, 0, 2, 1][i % 6]] }];
  if (i % 5 !== 0) s.push({ contestId: 'council', optionId: COUNCIL[i % 3] });
  if (i % 3 === 0 && i % 5 !== 0) s.push({ contestId: 'council', optionId: COUNCIL[(i + 1) % 3] });
  return s.sort((a, b) => (a.contestId + a.optionId < b.contestId + b.optionId ? -1 : 1));
}

const LIBRARY = {
  title: 'Library opening hours',
  description: 'Choose the new opening hours of the town library, and the evenings it stays open late.',
  resultsVisibility: 'live',
  contests: [
    {
      id: 'hours',
      title: 'Opening hours',
      minSelections: 1,
      maxSelections: 1,
      options: [
        { id: 'early', title: '8:00 to 16:00' },
        { id: 'late', title: '10:00 to 18:00' },
      ],
    },
    {
      id: 'evenings',
      title: 'Late evenings',
      minSelections: 0,
      maxSelections: 2,
      options: [
        { id: 'tue', title: 'Tuesday' },
        { id: 'thu', title: 'Thursday' },
        { id: 'sat', title: 'Saturday' },
      ],
    },
  ],
};

// Two elections: the town council's, closed with 30 ballots and final results; the
// library's, open with live results, 2 ballots and 4 voters still to vote.
export async function seedTour(server) {
  const town = await seedElection(server, { definition: sampleDefinition('Town council 2026'), voters: 40 });
  const townReceipts = await castBallots(server, town.election.id, town.voters.slice(0, 30), townBallot);
  await waitForTreeSize(server, town.election.id, 30);
  await closeElection(server, town.election.id);

  const library = await seedElection(server, { definition: LIBRARY, voters: 6 });
  await castBallots(server, library.election.id, library.voters.slice(0, 2), (i) =>
    i ? [{ contestId: 'hours', optionId: 'late' }] : [{ contestId: 'evenings', optionId: 'thu' }, { contestId: 'hours', optionId: 'early' }],
  );
  await waitForTreeSize(server, library.election.id, 2);
  return { town, townReceipts, library, voters: library.voters.slice(2) };
}

// The steps, in order, on one page: [{slug, name, run(page, env), show?(page)}], env =
// {server, seed, voter, ctx}: voter, one of seed.voters, votes in the booth steps; ctx is
// openContext's, and a step that causes a console message on purpose declares it with
// ctx.allow. show gives what a screenshot of the step should show when it is not at the
// top of the page.
const go = async (page, server, path) => {
  await page.goto(server.url + path);
  await settled(page);
};

export const TOUR = [
  { slug: 'portal-list', name: 'the list of elections', run: (page, { server }) => go(page, server, '/') },
  {
    slug: 'portal-election-closed',
    name: 'a closed election with final results',
    run: (page, { server, seed }) => go(page, server, `/elections/${seed.town.election.id}`),
  },
  {
    slug: 'portal-election-open',
    name: 'an open election with live results',
    run: (page, { server, seed }) => go(page, server, `/elections/${seed.library.election.id}`),
  },
  { slug: 'portal-receipts', name: 'the receipt check, empty', run: (page, { server }) => go(page, server, '/receipts') },
  {
    slug: 'portal-receipts-error',
    name: 'the receipt check with a malformed receipt',
    run: async (page, { server }) => {
      await go(page, server, '/receipts');
      await page.getByLabel(/receipt/i).first().fill('not a receipt');
      await page.getByRole('button', { name: /check/i }).first().click();
      await errorSummary(page).waitFor();
    },
  },
  {
    slug: 'portal-receipts-found',
    name: 'the receipt check with a receipt on the board',
    run: async (page, { server, seed }) => {
      await go(page, server, '/receipts');
      await page.getByLabel(/receipt/i).first().fill(seed.townReceipts[0]);
      await page.getByRole('button', { name: /check/i }).first().click();
      await page.getByText(/sequenced/i).first().waitFor({ timeout: 30000 });
    },
    show: (page) => page.getByText(/sequenced/i).first(),
  },
  {
    slug: 'portal-verify',
    name: 'the recount in the browser, finished',
    run: (page, { server, seed }) => runRecount(page, server, seed.town.election.id),
    show: (page) => page.locator('.recount-checks'),
  },
  {
    slug: 'booth-sign-in',
    name: 'the booth without a link: the sign-in form',
    run: async (page, { server, seed }) => {
      await page.goto(`${server.url}/vote/${seed.library.election.id}`);
      await booth.voterIdField(page).waitFor({ timeout: 30000 });
    },
  },
  {
    slug: 'booth-sign-in-error',
    name: 'the booth: the sign-in form sent empty',
    run: async (page) => {
      await booth.signInButton(page).click();
      await booth.errorSummary(page).waitFor();
    },
  },
  {
    slug: 'booth-choose',
    name: 'the booth: choosing',
    run: async (page, { voter }) => {
      // From another page: a link that differs from the page's address only in its
      // fragment would not load the page again.
      await page.goto('about:blank');
      await page.goto(voter.link);
      await booth.waitForBallot(page, 'Opening hours');
    },
  },
  {
    slug: 'booth-choose-error',
    name: 'the booth: the error summary (nothing chosen where one choice is needed)',
    run: async (page) => {
      await booth.continueButton(page).click();
      await booth.errorSummary(page).waitFor();
    },
  },
  {
    slug: 'booth-review',
    name: 'the booth: the review',
    run: async (page) => {
      await booth.choose(page, { 'Opening hours': ['10:00 to 18:00'], 'Late evenings': ['Tuesday', 'Saturday'] });
      await booth.continueButton(page).click();
      await booth.waitForReview(page);
    },
  },
  {
    slug: 'booth-receipt',
    name: 'the booth: the receipt, checked on the board',
    run: async (page) => {
      await booth.castButton(page).click();
      await booth.receipt(page);
      await booth.waitForSequenced(page);
      await booth.checkInclusion(page);
    },
    show: (page) => booth.checkButton(page),
  },
  {
    slug: 'booth-closed',
    name: 'the booth of a closed election',
    run: async (page, { server, seed }) => {
      await page.goto(`${server.url}/vote/${seed.town.election.id}`);
      await page.getByText(boothEn['fatal.closed']).waitFor({ timeout: 30000 });
    },
  },
  {
    slug: 'not-found',
    name: 'the 404 page',
    run: async (page, { server, ctx }) => {
      ctx.allow(/Failed to load resource: the server responded with a status of 404/);
      const response = await page.goto(`${server.url}/no-such-page`);
      if (response.status() !== 404) throw new Error(`/no-such-page answered ${response.status()}`);
      await page.locator('h1').first().waitFor();
    },
  },
  // Last: the language choice is kept (localStorage) for the pages that follow.
  ...['fr', 'de'].map((lang) => ({
    slug: `portal-list-${lang}`,
    name: `the list of elections in ${lang}`,
    run: async (page, { server }) => {
      await go(page, server, '/');
      await page.getByRole('combobox', { name: /language|langue|sprache/i }).selectOption(lang);
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await settled(page);
    },
  })),
];
