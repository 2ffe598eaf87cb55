import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute, isPortalPath, paths } from '../../src/portal/router.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

test('matches each portal route', () => {
  assert.deepEqual(matchRoute('/'), { name: 'list' });
  assert.deepEqual(matchRoute(`/elections/${ID}`), { name: 'election', id: ID });
  assert.deepEqual(matchRoute(`/elections/${ID.toUpperCase()}/`), { name: 'election', id: ID });
  assert.deepEqual(matchRoute('/receipts'), { name: 'receipts' });
  assert.deepEqual(matchRoute(`/verify/${ID}`), { name: 'verify', id: ID });
});

test('anything else is not found', () => {
  for (const p of ['', '/elections', '/elections/nope', `/elections/${ID}/x`, `/vote/${ID}`, '/receiptsx', '/api/v1/public/elections']) {
    assert.deepEqual(matchRoute(p), { name: 'notFound' }, p);
  }
});

test('only same-origin portal links are followed in page', () => {
  const origin = 'https://vote.example';
  assert.equal(isPortalPath(new URL(`/verify/${ID}`, origin), origin), true);
  assert.equal(isPortalPath(new URL(`/vote/${ID}`, origin), origin), false);
  assert.equal(isPortalPath(new URL('/', 'https://other.example'), origin), false);
});

test('paths round-trip through the router', () => {
  assert.equal(matchRoute(paths.election(ID)).id, ID);
  assert.equal(matchRoute(paths.verify(ID)).name, 'verify');
  assert.equal(paths.receipts('ab'), '/receipts?receipt=ab');
  assert.equal(paths.receipts(), '/receipts');
  assert.equal(paths.verify(ID, 'ab'), `/verify/${ID}?receipt=ab`);
  assert.equal(matchRoute(new URL(paths.verify(ID, 'ab'), 'http://x').pathname).name, 'verify');
});
