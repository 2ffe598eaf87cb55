// Benchmark of the recount (src/lib/recount.js) over N synthetic ballots with real RSA-PSS
// token signatures, served page by page by a fake api object.
//
//   node test/bench_recount.mjs [N=100000] [pageSize=1000] [--browser]
//
// Signing N tokens takes a while (about 1 ms each per core); they are kept in the system's
// temporary directory and reused by later runs with the same N. Only recount() is timed.
// --browser runs the same recount in headless Chromium (/usr/bin/chromium, or $CHROMIUM):
// the code bundled with esbuild and served, with the tokens, from 127.0.0.1 on a free port.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recount } from '../src/lib/recount.js';
import { buildBoard, makeTokenKey, signTokens } from './unit/helpers.mjs';

const args = process.argv.slice(2).filter((a) => a !== '--browser');
const inBrowser = process.argv.includes('--browser');
const n = Number(args[0] ?? 100_000);
const pageSize = Number(args[1] ?? 1000);
const cacheDir = join(tmpdir(), 'observernet-bench');
const cacheFile = join(cacheDir, `tokens-${n}.json`);

async function signedTokens() {
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8'));
    return { signer: await makeTokenKey(cached.jwk), tokens: cached.tokens };
  } catch {
    // No cache yet.
  }
  const signer = await makeTokenKey();
  const start = performance.now();
  const tokens = await signTokens(signer, n, (done) => {
    if (done % 5000 < 64) process.stderr.write(`\rsigning tokens: ${done}/${n}`);
  });
  process.stderr.write(`\rsigned ${n} tokens in ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ jwk: signer.jwk, tokens }));
  return { signer, tokens };
}

function report(checks, seconds, where) {
  for (const c of checks) console.log(`${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail.slice(0, 120)}`);
  console.log(`recount of ${n} ballots: ${seconds.toFixed(2)} s, ${Math.round(n / seconds)} ballots/s (${where}, page size ${pageSize})`);
  if (checks.some((c) => c.status === 'fail')) process.exitCode = 1;
}

// The board and the timed recount; in Node, or in the page as window.runBench.
async function runBench(signer, tokens, log = () => {}) {
  const { api, board } = await buildBoard({ signer, tokens });
  let last = '';
  const start = performance.now();
  const checks = await recount({
    api, electionId: board.electionId, pageSize,
    onProgress: ({ phase, done, total }) => {
      const line = `${phase} ${done ?? ''}/${total ?? ''}`;
      if (line !== last && (done === total || (done ?? 0) % 10_000 === 0)) log(line);
      last = line;
    },
  });
  return { checks, seconds: (performance.now() - start) / 1000 };
}

async function inChromium() {
  const [{ build }, { chromium }, { createServer }] = await Promise.all([
    import('esbuild'), import('playwright-core'), import('node:http')]);
  const here = new URL('.', import.meta.url).pathname;
  const bundle = await build({
    stdin: {
      contents: `import { recount } from '../src/lib/recount.js';
        import { buildBoard, makeTokenKey } from './unit/helpers.mjs';
        window.runBench = async (pageSize) => {
          const { jwk, tokens } = await (await fetch('/tokens.json')).json();
          const signer = await makeTokenKey(jwk);
          const { api, board } = await buildBoard({ signer, tokens });
          const start = performance.now();
          const checks = await recount({ api, electionId: board.electionId, pageSize });
          return { checks, seconds: (performance.now() - start) / 1000 };
        };`,
      resolveDir: here, loader: 'js',
    },
    bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'warning',
  });
  const files = {
    '/': ['text/html', '<!doctype html><title>bench</title><script src="/bench.js"></script>'],
    '/bench.js': ['text/javascript', bundle.outputFiles[0].text],
    '/tokens.json': ['application/json', await readFile(cacheFile)],
  };
  const server = createServer((req, res) => {
    const file = files[req.url];
    res.writeHead(file ? 200 : 404, { 'Content-Type': file?.[0] ?? 'text/plain' });
    res.end(file?.[1] ?? 'not found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const { checks, seconds } = await page.evaluate((size) => window.runBench(size), pageSize);
    report(checks, seconds, `headless Chromium ${browser.version()}`);
  } finally {
    await browser.close();
    server.close();
  }
}

const { signer, tokens } = await signedTokens();
if (inBrowser) {
  await inChromium();
} else {
  const { checks, seconds } = await runBench(signer, tokens, (line) => process.stderr.write(`\r${line.padEnd(40)}`));
  process.stderr.write('\n');
  report(checks, seconds, `node ${process.version}`);
}
