// contract.mjs itself, on small recorded exchanges: it must refuse what the file does not
// document, so that openapi.contract passing means something. No server needed.
//
//   node --test        (in tests/contract)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'observernet-contract-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const ID = 'b62712dc-c0a9-44b4-a447-c623038eb9ed';
const definition = {
  title: 'Board election 2026',
  description: 'Three seats',
  contests: [
    {
      id: 'board',
      title: 'Board',
      minSelections: 0,
      maxSelections: 2,
      options: [
        { id: 'alice', title: 'Alice' },
        { id: 'bob', title: 'Bob' },
      ],
    },
  ],
};
const election = {
  ...definition,
  opensAt: null,
  closesAt: null,
  resultsVisibility: 'after_close',
  id: ID,
  status: 'draft',
  createdAt: '2026-12-04T21:26:22.671Z',
  updatedAt: '2026-12-04T21:26:22.671Z',
};
const problem = (status, code) => ({
  type: `urn:observernet:problem:${code}`,
  title: 'x',
  status,
  detail: 'x',
  code,
});

function exchange(method, target, status, response, request) {
  return {
    test: 'Self.test',
    method,
    target,
    requestType: request === undefined ? '' : 'application/json',
    requestBody: request === undefined ? '' : JSON.stringify(request),
    status,
    responseType: status >= 400 ? 'application/problem+json' : 'application/json',
    responseBody: typeof response === 'string' ? response : JSON.stringify(response),
  };
}

// Runs contract.mjs on these exchanges; its output and whether it passed.
let runs = 0;
function run(exchanges) {
  const file = join(dir, `traffic-${++runs}.jsonl`);
  writeFileSync(file, exchanges.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const r = spawnSync(process.execPath, [join(here, 'contract.mjs'), file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}
const failures = (out) =>
  out.split('\n').filter((l) => l.startsWith('FAIL') && !l.includes('never exercised'));

test('documented exchanges pass; the operations they leave out are reported', () => {
  const { ok, out } = run([
    exchange('POST', '/api/v1/elections', 201, election, definition),
    exchange('GET', `/api/v1/elections/${ID}`, 200, election),
    exchange('HEAD', `/api/v1/elections/${ID}`, 200, ''),
    exchange('GET', '/api/v1/nothing', 404, problem(404, 'not_found')),
    exchange('GET', '/', 200, '<html>'),
  ]);
  assert.deepEqual(failures(out), []);
  assert.match(out, /FAIL GET \/api\/v1\/public\/log-key: documented, never exercised/);
  assert.equal(ok, false);
});

test('an election with a member the file does not list fails', () => {
  const { out } = run([exchange('GET', `/api/v1/elections/${ID}`, 200, { ...election, bogus: 1 })]);
  assert.match(
    out,
    /FAIL GET \/api\/v1\/elections\/\{id\} -> 200: response must NOT have unevaluated properties \(bogus\)/,
  );
});

test('a request body is checked when the answer was 2xx', () => {
  const { out } = run([
    exchange('POST', '/api/v1/elections', 201, election, { ...definition, id: ID }),
  ]);
  assert.match(
    out,
    /FAIL POST \/api\/v1\/elections -> 201: request must NOT have unevaluated properties \(id\)/,
  );
});

test('undocumented statuses, paths and transport codes fail', () => {
  const { out } = run([
    exchange('GET', `/api/v1/elections/${ID}`, 418, problem(418, 'not_found')),
    exchange('POST', '/api/v1/nothing', 201, {}),
    exchange('GET', '/api/v1/nothing', 404, problem(404, 'forbidden')),
  ]);
  assert.match(out, /FAIL GET \/api\/v1\/elections\/\{id\} -> 418: status 418 not documented/);
  assert.match(out, /FAIL POST \/api\/v1\/nothing -> 201: path not documented/);
  assert.match(out, /-> 404: the transport's 404 is code not_found, not forbidden/);
});

test('a missing or empty traffic file fails', () => {
  const missing = spawnSync(
    process.execPath,
    [join(here, 'contract.mjs'), join(dir, 'none.jsonl')],
    { encoding: 'utf8' },
  );
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /cannot read/);
  const { ok, out } = run([]);
  assert.equal(ok, false);
  assert.match(out, /is empty/);
});
