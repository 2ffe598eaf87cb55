// Builds src/ into dist/ (see README.md, "What the build writes").
//
//   node build.mjs [--allow-missing] [--pages=booth,404]
//
// 1. The recount Worker is bundled first; its hashed URL reaches the portal
//    bundle through esbuild `define` as __VERIFY_WORKER_URL__.
// 2. The page entries (booth, portal, 404) and their CSS are bundled with
//    code splitting; names carry a content hash.
// 3. src/pages/*.html get their <script>, <link> and modulepreload tags.
// 4. Every file in dist/ gets .gz and .br siblings, made with Node's zlib: no
//    other tool, and the same bytes wherever Node links the same zlib.
// 5. Each page's first-load weight (brotli) is printed; the booth's must stay
//    within BOOTH_BUDGET_BYTES or the build fails.
//
// Development only: --allow-missing skips a page whose entry does not exist
// yet (by default a missing entry is an error); --pages=booth,404 builds only
// those pages (the Worker only with the portal).

import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const ASSETS = path.join(DIST, 'assets');
const BOOTH_BUDGET_BYTES = 150 * 1024;

// Browsers released in the last two years.
const TARGET = ['chrome131', 'edge131', 'firefox133', 'safari18'];

const PAGES = [
  { name: 'booth', js: 'booth/main.js', out: 'booth', css: 'styles/booth.css', budget: BOOTH_BUDGET_BYTES },
  { name: 'portal', js: 'portal/main.js', out: 'portal', css: 'styles/portal.css' },
  { name: '404', js: 'ui/not_found.js', out: 'not-found', css: 'styles/base.css' },
];
const WORKER = 'portal/verify_worker.js';

const allowMissing = process.argv.includes('--allow-missing');
const onlyArg = process.argv.find((a) => a.startsWith('--pages='));
const only = onlyArg ? onlyArg.slice('--pages='.length).split(',') : null;
const wanted = (name) => !only || only.includes(name);

function src(rel) {
  return path.join(SRC, rel);
}

function present(rel) {
  if (existsSync(src(rel))) return true;
  if (!allowMissing) throw new Error(`missing entry: src/${rel}`);
  console.warn(`warning: src/${rel} is missing; skipped (--allow-missing)`);
  return false;
}

const common = {
  bundle: true,
  format: 'esm',
  splitting: true,
  minify: true,
  target: TARGET,
  outdir: ASSETS,
  entryNames: '[name].[hash]',
  chunkNames: 'chunk.[hash]',
  assetNames: '[name].[hash]',
  metafile: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
};

// Returns '/assets/<file>' for an esbuild output path.
function publicUrl(outPath) {
  return '/assets/' + path.basename(outPath);
}

function outputFor(metafile, entryRel) {
  const want = path.relative(ROOT, src(entryRel)).split(path.sep).join('/');
  for (const [out, info] of Object.entries(metafile.outputs)) {
    if (info.entryPoint === want) return out;
  }
  throw new Error(`no output for ${entryRel}`);
}

// The chunks an output imports statically, transitively (not the lazy ones).
function staticChunks(metafile, out, seen = new Set()) {
  for (const imp of metafile.outputs[out].imports) {
    if (imp.kind !== 'import-statement' || imp.external || seen.has(imp.path)) continue;
    seen.add(imp.path);
    staticChunks(metafile, imp.path, seen);
  }
  return seen;
}

async function buildWorker() {
  if (!present(WORKER)) return null;
  const result = await esbuild.build({ ...common, entryPoints: [{ in: src(WORKER), out: 'verify-worker' }] });
  return publicUrl(outputFor(result.metafile, WORKER));
}

async function buildFavicon() {
  const svg = await readFile(src('assets/favicon.svg'));
  const hash = createHash('sha256').update(svg).digest('hex').slice(0, 10);
  const name = `favicon.${hash}.svg`;
  await writeFile(path.join(ASSETS, name), svg);
  return '/assets/' + name;
}

function escapeAttr(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function headTags({ faviconUrl, cssUrls, jsUrl, preloadUrls }) {
  const lines = [`<link rel="icon" href="${escapeAttr(faviconUrl)}" type="image/svg+xml">`];
  for (const url of cssUrls) lines.push(`<link rel="stylesheet" href="${escapeAttr(url)}">`);
  for (const url of preloadUrls) lines.push(`<link rel="modulepreload" href="${escapeAttr(url)}">`);
  if (jsUrl) lines.push(`<script type="module" src="${escapeAttr(jsUrl)}"></script>`);
  return lines.join('\n');
}

async function compressAll(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await compressAll(file);
      continue;
    }
    const data = await readFile(file);
    await writeFile(file + '.gz', zlib.gzipSync(data, { level: 9 }));
    await writeFile(
      file + '.br',
      zlib.brotliCompressSync(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }),
    );
  }
}

async function brSize(distPath) {
  return (await readFile(distPath + '.br')).length;
}

async function main() {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(ASSETS, { recursive: true });

  const workerUrl = wanted('portal') ? await buildWorker() : null;
  const faviconUrl = await buildFavicon();

  const pages = PAGES.filter((p) => wanted(p.name) && present(p.js) && present(p.css));
  const entryPoints = [];
  for (const p of pages) {
    entryPoints.push({ in: src(p.js), out: p.out });
    if (!entryPoints.some((e) => e.in === src(p.css))) entryPoints.push({ in: src(p.css), out: path.basename(p.css, '.css') });
  }
  const result = await esbuild.build({
    ...common,
    entryPoints,
    define: { __VERIFY_WORKER_URL__: JSON.stringify(workerUrl ?? '') },
  });
  const meta = result.metafile;

  const report = [];
  for (const page of pages) {
    const jsOut = outputFor(meta, page.js);
    const cssOut = outputFor(meta, page.css);
    const chunks = [...staticChunks(meta, jsOut)];
    // CSS imported from JS would land beside the entry; link it too.
    const cssOuts = [cssOut];
    if (meta.outputs[jsOut].cssBundle) cssOuts.push(meta.outputs[jsOut].cssBundle);
    const template = await readFile(src(`pages/${page.name}.html`), 'utf8');
    if (!template.includes('<!--ASSETS-->')) throw new Error(`pages/${page.name}.html lacks <!--ASSETS-->`);
    const html = template.replace(
      '<!--ASSETS-->',
      headTags({
        faviconUrl,
        cssUrls: cssOuts.map(publicUrl),
        jsUrl: publicUrl(jsOut),
        preloadUrls: chunks.map(publicUrl),
      }),
    );
    await writeFile(path.join(DIST, `${page.name}.html`), html);
    report.push({ page, files: [`${page.name}.html`, ...[jsOut, ...chunks, ...cssOuts].map((o) => 'assets/' + path.basename(o))] });
  }

  await compressAll(DIST);

  let failed = false;
  for (const { page, files } of report) {
    let total = 0;
    for (const f of files) total += await brSize(path.join(DIST, f));
    const kb = (total / 1024).toFixed(1);
    const budget = page.budget ? ` (budget ${(page.budget / 1024).toFixed(0)} KB)` : '';
    console.log(`${page.name}.html first load: ${kb} KB brotli, ${files.length} files${budget}`);
    if (page.budget && total > page.budget) {
      console.error(`error: ${page.name}.html first load ${kb} KB is over its budget`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
