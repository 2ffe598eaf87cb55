// The recount in the browser on a closed election of N ballots (default 100,000): how long
// /verify/{id} takes in headless Chromium, from the page load to the verdict.
//
//   node web/test/bench_recount_browser.mjs [N]
//
// Needs what the browser tests need (web/test/browser/support.mjs: the test database and
// Redis, the server binary, web/dist, Chromium); scripts/test's services will do, or
// source scripts/lib.sh and run throwaway_services_start.
//
// Casting N ballots through the API would take most of an hour on the sanitizer build,
// so they are written straight into PostgreSQL, as the ballot writer would write them
// (src/store/voting.cpp): each ballot's row in `ballots_staged`, which the server's
// sequencer then publishes as one set, puts on the log and covers with a signed tree
// head, exactly as for ballots cast through the API. The tokens are real:
// RSASSA-PSS (SHA-384, salt 48) signatures on random messages with the election's own
// token key, unsealed with the test master key (src/crypto/aead.cpp: nonce || ciphertext
// || tag, the election id as associated data). A finalized RFC 9474 blind signature is
// exactly such a signature, so the recount cannot tell them apart. The election is then
// closed through the API, which publishes the final tree head and results.
import { spawn } from 'node:child_process';
import { constants, createDecipheriv, createPrivateKey, randomBytes, sign } from 'node:crypto';
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const MASTER_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
// A worker signs and builds the rows of ballots [from, to): COPY text lines.
async function buildRows({ electionId, pkcs8Hex, from, to }) {
  const { ballotLeaf, receiptOf } = await import('../src/lib/ballot.js');
  const { b64urlEncode } = await import('../src/lib/encoding.js');
  const { sampleSelections } = await import('./browser/support.mjs');
  const key = createPrivateKey({ key: Buffer.from(pkcs8Hex, 'hex'), format: 'der', type: 'pkcs8' });
  const lines = [];
  for (let i = from; i < to; i++) {
    const message = randomBytes(32);
    const signature = sign('sha384', message, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 48,
    });
    const leaf = ballotLeaf(electionId, sampleSelections(i), {
      message: b64urlEncode(message),
      signature: b64urlEncode(signature),
    });
    const receipt = receiptOf(leaf);
    // COPY text format: backslashes doubled; a leaf holds no tab or newline.
    lines.push(`${electionId}\t\\\\x${message.toString('hex')}\t${leaf.replaceAll('\\', '\\\\')}\t\\\\x${receipt}`);
  }
  return { lines };
}

if (!isMainThread) {
  parentPort.postMessage(await buildRows(workerData));
} else {
  await main();
}

function psqlStdin(url, sql, input) {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
    child.stdin.end(input);
  });
}

async function main() {
  const support = await import('./browser/support.mjs');
  const { runRecount } = await import('./browser/pages.mjs');
  const { api, closeElection, launchBrowser, openContext, psqlOwner, seedElection, sqlText, startServer, waitForTreeSize } =
    support;
  const n = Number(process.argv[2] ?? 100000);
  const owner = process.env.OBSERVERNET_TEST_OWNER_DATABASE_URL || support.requiredEnv('OBSERVERNET_TEST_DATABASE_URL');
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const { election } = await seedElection(server, { voters: 1 });
    const electionId = election.id;

    const sealed = Buffer.from(
      await psqlOwner(`SELECT encode(private_key_sealed, 'hex') FROM election_keys WHERE election_id = ${sqlText(electionId)}::uuid`),
      'hex',
    );
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(MASTER_KEY, 'hex'), sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(electionId));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const pkcs8 = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);

    let t = Date.now();
    const threads = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    const per = Math.ceil(n / threads);
    const parts = await Promise.all(
      Array.from({ length: threads }, (_, k) =>
        new Promise((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), {
            workerData: { electionId, pkcs8Hex: pkcs8.toString('hex'), from: k * per, to: Math.min(n, (k + 1) * per) },
          });
          w.once('message', resolve);
          w.once('error', reject);
        }),
      ),
    );
    console.log(`${n} ballots signed and built in ${((Date.now() - t) / 1000).toFixed(1)} s (${threads} threads)`);

    t = Date.now();
    const lines = parts.flatMap((p) => p.lines);
    await psqlStdin(
      owner,
      'COPY ballots_staged (election_id, token_message, leaf, receipt) FROM STDIN',
      `${lines.join('\n')}\n`,
    );
    await waitForTreeSize(server, electionId, n, 600000);
    await closeElection(server, electionId);
    const results = await api.get(server, `/api/v1/public/elections/${electionId}/results`);
    console.log(`written, sequenced and closed in ${((Date.now() - t) / 1000).toFixed(1)} s; ballotsCast ${results.ballotsCast}`);

    // What the server alone takes to serve every page of ballots, one after the other.
    t = Date.now();
    const pages = new Map();
    for (let from = 0; from < n; from += 1000) {
      const r = await fetch(`${server.url}/api/v1/public/elections/${electionId}/ballots?from=${from}&limit=1000`);
      pages.set(from, await r.text());
    }
    const serverSeconds = (Date.now() - t) / 1000;
    console.log(`the server serves the ${pages.size} pages of 1,000 ballots in ${serverSeconds.toFixed(1)} s (${process.env.OBSERVERNET_BINARY || 'build/asan/observernet'})`);

    // The recount twice: against the server, then with the ballot pages answered from
    // memory (what the browser's own work takes, whatever the server's build).
    for (const fromMemory of [false, true]) {
      const ctx = await openContext(browser, server);
      let served = 0;
      if (fromMemory) {
        await ctx.context.route(`**/api/v1/public/elections/${electionId}/ballots?*`, (route) => {
          const url = new URL(route.request().url());
          const body = url.searchParams.get('limit') === '1000' ? pages.get(Number(url.searchParams.get('from'))) : undefined;
          if (body === undefined) return route.continue();
          served += 1;
          return route.fulfill({ status: 200, contentType: 'application/json', body });
        });
      }
      const page = await ctx.context.newPage();
      t = Date.now();
      const { checks, verdict } = await runRecount(page, server, electionId, { timeout: 600000 });
      const seconds = (Date.now() - t) / 1000;
      console.log(fromMemory ? `with the ballot pages from memory (${served} pages):` : 'against the server:');
      for (const c of checks) console.log(`  ${c.status} ${c.name}`);
      console.log(`  ${verdict.trim()} ${(await page.locator('#recount-progress-text').innerText()).trim()}`);
      console.log(`  recount of ${n} ballots in headless Chromium: ${seconds.toFixed(1)} s from page load to verdict (${Math.round(n / seconds)} ballots/s)`);
      await ctx.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}
