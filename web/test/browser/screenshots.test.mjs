// The screenshot script works: every step at both sizes, as PNGs of the right width,
// written to a temporary directory only (docs/screenshots/ is the developer's to update
// with scripts/screenshots).
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, startServer } from './support.mjs';
import { SIZES, takeScreenshots } from './screenshots.mjs';
import { TOUR } from './tour.mjs';

let server;
let browser;
let dir;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  dir = await mkdtemp(path.join(os.tmpdir(), 'observernet-screenshots-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Width and height from a PNG's IHDR chunk.
async function pngSize(file) {
  const fd = await open(file);
  try {
    const { buffer } = await fd.read(Buffer.alloc(24), 0, 24, 0);
    assert.equal(buffer.subarray(1, 4).toString('latin1'), 'PNG', `${file} is not a PNG`);
    return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
  } finally {
    await fd.close();
  }
}

test('the screenshots of every page and booth step, at both sizes', async () => {
  const files = await takeScreenshots({ server, browser, dir });
  assert.equal(files.length, TOUR.length * SIZES.length);
  for (const { width, height } of SIZES) {
    for (const step of TOUR) {
      const size = await pngSize(path.join(dir, `${step.slug}-${width}.png`));
      assert.deepEqual(size, { width, height }, step.slug);
    }
  }
});
