// lib/i18n.js: lookup, interpolation, plurals, fallback, language detection,
// lazy loading; and the catalogs: every language has the keys and the
// placeholders of English.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import {
  detectLanguage,
  getLanguage,
  interpolate,
  registerCatalog,
  registerLoader,
  resetI18n,
  setLanguage,
  t,
} from '../../src/lib/i18n.js';

test('t interpolates and falls back to English, then to the key', async () => {
  resetI18n();
  registerCatalog('en', { hello: 'Hello {name}', only: 'English only' });
  registerCatalog('fr', { hello: 'Bonjour {name}' });
  assert.equal(t('hello', { name: 'Ada' }), 'Hello Ada');
  assert.equal(await setLanguage('fr'), 'fr');
  assert.equal(t('hello', { name: 'Ada' }), 'Bonjour Ada');
  assert.equal(t('only'), 'English only');
  assert.equal(t('missing.key'), 'missing.key');
});

test('interpolate leaves unknown placeholders and does not run code', () => {
  assert.equal(interpolate('{a} and {b}', { a: 1 }), '1 and {b}');
  assert.equal(interpolate('{constructor}', {}), '{constructor}');
  assert.equal(interpolate('<b>{x}</b>', { x: '<img>' }), '<b><img></b>'); // text only: the UI sets textContent
});

test('plurals follow Intl.PluralRules of the language', async () => {
  resetI18n();
  registerCatalog('en', { n: { one: 'Choose 1', other: 'Choose {count}' } });
  registerCatalog('fr', { n: { one: '{count} option', other: '{count} options' } });
  assert.equal(t('n', { count: 1 }), 'Choose 1');
  assert.equal(t('n', { count: 2 }), 'Choose 2');
  await setLanguage('fr');
  assert.equal(t('n', { count: 0 }), '0 option'); // French: 0 is "one"
  assert.equal(t('n', { count: 3 }), '3 options');
});

test('detectLanguage takes the first supported tag, by base language', () => {
  assert.equal(detectLanguage(['de-CH', 'fr']), 'de');
  assert.equal(detectLanguage(['es-ES', 'FR-ca']), 'fr');
  assert.equal(detectLanguage(['es', 'it']), 'en');
  assert.equal(detectLanguage(undefined), 'en');
});

test('setLanguage loads lazily once, and falls back to English on failure', async () => {
  resetI18n();
  registerCatalog('en', { k: 'en' });
  let calls = 0;
  registerLoader('de', async () => {
    calls++;
    return [{ k: 'de' }];
  });
  registerLoader('fr', async () => {
    throw new Error('offline');
  });
  assert.equal(await setLanguage('de'), 'de');
  assert.equal(t('k'), 'de');
  await setLanguage('en');
  await setLanguage('de');
  assert.equal(calls, 1);
  assert.equal(await setLanguage('fr'), 'en');
  assert.equal(getLanguage(), 'en');
  assert.equal(await setLanguage('xx'), 'en');
});

const placeholders = (message) => {
  const texts = typeof message === 'string' ? [message] : Object.values(message);
  return [...new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].filter((p) => p !== 'count').sort();
};

test('every catalog has the keys and placeholders of its English one', async () => {
  const dir = new URL('../../src/i18n/', import.meta.url);
  const files = (await readdir(dir)).filter((f) => /^\w+\.en\.js$/.test(f));
  assert.ok(files.includes('common.en.js') && files.includes('booth.en.js'));
  for (const file of files) {
    const base = file.replace(/\.en\.js$/, '');
    const en = (await import(new URL(file, dir))).default;
    for (const lang of ['fr', 'de']) {
      const other = (await import(new URL(`${base}.${lang}.js`, dir))).default;
      assert.deepEqual(Object.keys(other).sort(), Object.keys(en).sort(), `${base}.${lang}.js keys`);
      for (const [key, message] of Object.entries(en)) {
        assert.equal(typeof other[key], typeof message, `${base}.${lang}.js ${key}: same shape`);
        if (typeof message === 'object') assert.ok(other[key].other, `${base}.${lang}.js ${key}: has "other"`);
        assert.deepEqual(placeholders(other[key]), placeholders(message), `${base}.${lang}.js ${key}: placeholders`);
      }
    }
  }
});

test('every API problem code of docs/api/errors.md has a message', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/api/errors.md', import.meta.url), 'utf8');
  const codes = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.ok(codes.length > 20);
  const en = (await import('../../src/i18n/common.en.js')).default;
  for (const code of codes) assert.ok(en[`problem.${code}`], `problem.${code}`);
});
