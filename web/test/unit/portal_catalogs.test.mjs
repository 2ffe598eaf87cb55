// Every portal string is in the catalogs, in English, French and German alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import en from '../../src/i18n/portal.en.js';
import fr from '../../src/i18n/portal.fr.js';
import de from '../../src/i18n/portal.de.js';

const PORTAL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/portal');

function placeholders(message) {
  const forms = typeof message === 'string' ? [message] : Object.values(message);
  const names = new Set();
  for (const f of forms) for (const m of f.matchAll(/\{(\w+)\}/g)) names.add(m[1]);
  return [...names].sort();
}

// Placeholders every translation must keep (count only picks the plural form).
function required(message) {
  return placeholders(message).filter((n) => n !== 'count');
}

for (const [lang, catalog] of [['fr', fr], ['de', de]]) {
  test(`${lang} has exactly the English keys`, () => {
    assert.deepEqual(Object.keys(catalog).sort(), Object.keys(en).sort());
  });
  test(`${lang} keeps each message's placeholders and shape`, () => {
    for (const [key, message] of Object.entries(en)) {
      const other = catalog[key];
      assert.equal(typeof other, typeof message, key);
      if (typeof message === 'object') assert.ok(typeof other.other === 'string', `${key}: plural without other`);
      assert.deepEqual(required(other).filter((n) => required(message).includes(n)), required(message), key);
      for (const n of placeholders(other)) assert.ok(placeholders(message).includes(n), `${key}: {${n}} unknown in English`);
    }
  });
}

test('English plurals have one and other', () => {
  for (const [key, message] of Object.entries(en)) {
    if (typeof message === 'object') assert.ok(message.one && message.other, key);
  }
});

async function sources(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(await sources(p));
    else if (entry.name.endsWith('.js')) out.push(await readFile(p, 'utf8'));
  }
  return out.join('\n');
}

test('every key the portal names is in the English catalog', async () => {
  const code = await sources(PORTAL);
  const keys = new Set([...code.matchAll(/'(portal\.[A-Za-z0-9_.]+)'/g)].map((m) => m[1]));
  assert.ok(keys.size > 100);
  for (const key of keys) assert.ok(key in en, key);
  // The keys built at run time.
  const built = [
    ...['open', 'scheduled', 'closed'].flatMap((g) => [`portal.list.group.${g}`, `portal.list.none.${g}`, `portal.phase.${g}`]),
    ...['pass', 'fail', 'skip'].map((s) => `portal.outcome.${s}`),
    ...['empty', 'not_hex', 'bad_file', 'unknown'].map((e) => `portal.receipts.error.${e}`),
    ...['pending', 'sequenced'].map((s) => `portal.receipts.status.${s}`),
    ...['signatures', 'twice', 'receipts', 'root', 'audit', 'roll', 'recount'].map((k) => `portal.verify.what.${k}`),
    ...['live', 'afterClose'].map((k) => `portal.audit.visibility.${k}`),
    ...['reading', 'ballots', 'root'].map((k) => `portal.verify.stage.${k}`),
    ...['token_signatures', 'ballots', 'tree_head', 'consistency', 'audit_chain', 'roll', 'issued_tokens', 'voter_hash', 'recount',
      'receipt'].map((k) => `portal.checkName.${k}`),
    ...['election.created', 'election.updated', 'voters.imported', 'election.opened', 'election.closed', 'tree_head.published', 'results.published'].map((k) => `portal.audit.type.${k}`),
  ];
  for (const key of built) assert.ok(key in en, key);
});
