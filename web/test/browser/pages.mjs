// How the tests find their way through the booth and the portal: accessible roles and
// names (the English catalogs, web/src/i18n/*.en.js), in one place, so that a changed
// wording is fixed here once.

import boothEn from '../../src/i18n/booth.en.js';
import commonEn from '../../src/i18n/common.en.js';
import portalEn from '../../src/i18n/portal.en.js';
import { eventually } from './support.mjs';

export const HEX64 = /\b[0-9a-f]{64}\b/;

// ---------------------------------------------------------------------------------------
// The booth (/vote/{id})
// ---------------------------------------------------------------------------------------

const exact = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const prefix = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
// The first words of a message with {placeholders}: enough to find it on the page.
const opening = (text) => prefix(text.split('{')[0]);

// The GOV.UK-style error summary of the shared UI (web/src/ui/error_summary.js).
export const errorSummary = (page) => page.getByRole('alert').filter({ hasText: commonEn['error.summaryTitle'] });

export const booth = {
  contest: (page, title) => page.getByRole('group', { name: new RegExp(`^${title}`) }),
  option: (page, contestTitle, optionTitle) =>
    booth.contest(page, contestTitle).getByLabel(optionTitle, { exact: true }),
  signInButton: (page) => page.getByRole('button', { name: exact(boothEn['signin.submit']) }),
  continueButton: (page) => page.getByRole('button', { name: exact(boothEn['choose.submit']) }),
  castButton: (page) => page.getByRole('button', { name: exact(boothEn['review.cast']) }),
  checkButton: (page) => page.getByRole('button', { name: exact(boothEn['receipt.check']) }),
  voterIdField: (page) => page.getByLabel(boothEn['signin.voterId'], { exact: true }),
  credentialField: (page) => page.getByLabel(prefix(boothEn['signin.credential'])),
  errorSummary,

  // Waits for the choosing step (the token is fetched before it).
  async waitForBallot(page, firstContest = 'Mayor') {
    await booth.contest(page, firstContest).waitFor({ timeout: 30000 });
  },

  // Ticks the options given as {contestTitle: [optionTitle...]}.
  async choose(page, choices) {
    for (const [contest, options] of Object.entries(choices)) {
      for (const option of options) await booth.option(page, contest, option).check();
    }
  },

  async waitForReview(page) {
    await booth.castButton(page).waitFor({ timeout: 15000 });
  },

  // The receipt as shown (64 hex digits), once the receipt step is there.
  async receipt(page) {
    await page.getByRole('heading', { name: boothEn['receipt.title'] }).waitFor({ timeout: 30000 });
    const text = await page.locator('main').innerText();
    const found = text.match(HEX64);
    if (!found) throw new Error(`no receipt on the page:\n${text}`);
    return found[0];
  },

  async waitForSequenced(page) {
    await page.getByText(boothEn['receipt.sequenced'], { exact: true }).first().waitFor({ timeout: 30000 });
  },

  // Presses the inclusion check and returns its one-sentence result, which must be the
  // success message.
  async checkInclusion(page) {
    await booth.checkButton(page).click();
    const result = page.getByText(opening(boothEn['receipt.checkOk']));
    const failed = page.getByText(opening(boothEn['receipt.checkFailed']));
    await result.or(failed).first().waitFor({ timeout: 30000 });
    if (await failed.count()) throw new Error(`the inclusion check failed: ${await failed.first().innerText()}`);
    return result.first().innerText();
  },
};

// ---------------------------------------------------------------------------------------
// The portal
// ---------------------------------------------------------------------------------------

// Waits until the page's h1 is there and no "Loading…" is left in main.
export async function settled(page) {
  await page.locator('main h1').first().waitFor({ timeout: 30000 });
  await eventually(async () => !(await page.locator('main').innerText()).includes('Loading…'), 'the page to load', 30000);
}

// The recount's check names as the portal shows them in English, back to the names of
// `observernet verify` (include/observernet/client/verify.hpp) that lib/recount.js reports.
const CHECK_NAMES = Object.fromEntries(
  Object.entries(portalEn)
    .filter(([key]) => key.startsWith('portal.checkName.'))
    .map(([key, shown]) => [shown, key.slice('portal.checkName.'.length).replaceAll('_', ' ')]),
);

// Opens /verify/{id} (with `search`, say '?voterHash=…'), waits for the verdict and returns
// {checks: [{name, status: 'PASS'|'FAIL'|'SKIP', detail}], verdict}.
export async function runRecount(page, server, electionId, { timeout = 120000, search = '' } = {}) {
  await page.goto(`${server.url}/verify/${electionId}${search}`);
  const verdict = page.locator('.recount-verdict .verdict');
  await verdict.waitFor({ timeout });
  const checks = await page.locator('.recount-checks li.check').evaluateAll((rows) =>
    rows.map((r) => ({
      shown: r.querySelector('.check__text')?.textContent ?? '',
      status: r.querySelector('.outcome')?.textContent ?? '',
      detail: r.querySelector('.check__detail')?.textContent ?? '',
    })),
  );
  return {
    checks: checks.map((c) => ({ name: CHECK_NAMES[c.shown] ?? c.shown, status: c.status, detail: c.detail })),
    verdict: await verdict.innerText(),
  };
}
