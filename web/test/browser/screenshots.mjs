// Screenshots of the portal and of every booth step at 1280x800 and 360x740, from the
// tour (tour.mjs) on a small realistic seed, as PNGs named <step>-<width>.png: what fits
// the window, or with --full-page the whole page.
//
//   node web/test/browser/screenshots.mjs [--full-page] <directory>
//
// scripts/screenshots runs this with throw-away services (docs/screenshots/ by default);
// screenshots.test.mjs runs it into a temporary directory. Needs the environment the
// browser tests need (support.mjs).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, openContext, startServer } from './support.mjs';
import { TOUR, seedTour } from './tour.mjs';

export const SIZES = [
  { width: 1280, height: 800 },
  { width: 360, height: 740 },
];

// Writes every screenshot into dir; returns the files written.
export async function takeScreenshots({ server, browser, dir, fullPage = false, log = () => {} }) {
  await mkdir(dir, { recursive: true });
  const seed = await seedTour(server);
  const files = [];
  for (const [n, viewport] of SIZES.entries()) {
    const ctx = await openContext(browser, server, { viewport, reducedMotion: 'reduce' });
    try {
      const page = await ctx.context.newPage();
      const env = { server, seed, ctx, voter: seed.voters[n] };
      for (const step of TOUR) {
        await step.run(page, env);
        // What a visitor sees: the top of the page, or the part the step is about.
        if (step.show) await step.show(page).scrollIntoViewIfNeeded();
        else await page.evaluate(() => window.scrollTo(0, 0));
        const file = path.join(dir, `${step.slug}-${viewport.width}.png`);
        await page.screenshot({ path: file, fullPage, animations: 'disabled', caret: 'hide' });
        files.push(file);
        log(`wrote ${file}`);
      }
    } finally {
      await ctx.close();
    }
  }
  return files;
}

async function main() {
  const args = process.argv.slice(2);
  const fullPage = args.includes('--full-page');
  const dir = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'docs/screenshots');
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const files = await takeScreenshots({ server, browser, dir, fullPage, log: (line) => console.log(line) });
    console.log(`${files.length} screenshots in ${dir}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
