// Checks recorded HTTP traffic against docs/api/openapi.yaml (tests/contract/README.md).
//
//   node contract.mjs [traffic.jsonl]      (default: $OBSERVERNET_TEST_TRAFFIC)
//
// Each line is one exchange the integration tests made (tests/integration/support.cpp,
// record_exchange). Every exchange is matched to an operation (path template and method,
// HEAD as GET); its response body is validated against the schema documented for its
// status and content type, and its request body against the operation's requestBody when
// the answer was 2xx. JSON Schema 2020-12 (ajv), as OpenAPI 3.1 specifies.
//
// Fails when the file is missing or empty, when an exchange's route or status is not
// documented, when a body does not validate, or when a documented operation was never
// exercised (except those in NOT_EXERCISED below).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const specPath = process.env.OBSERVERNET_OPENAPI ?? join(here, '../../docs/api/openapi.yaml');

// Documented operations no integration test can reach through the HTTP helper, each with
// its reason. Keep this list short: a new operation needs a test, not an entry here.
const NOT_EXERCISED = new Map([
  // ['GET /example', 'why no test can make this request'],
]);

// Exchanges that are not the API's: they are skipped, and counted in the summary.
// The web pages are described in web/README.md; /test/* are routes the tests add to
// their own server; OPTIONS is answered by the transport for every path (the
// description in openapi.yaml's info says how).
const OPERATIONS_PATHS = new Set(['/livez', '/healthz', '/readyz', '/metrics']);
function skipReason(method, path) {
  if (method === 'OPTIONS') return 'OPTIONS (transport)';
  if (path.startsWith('/test/')) return 'test-only routes';
  if (!path.startsWith('/api/') && !OPERATIONS_PATHS.has(path)) return 'web pages';
  return null;
}

// Answers of the transport on any path, before a route runs (openapi.yaml's info says
// so): accepted when the operation does not list the status, as long as the body is a
// Problem with this code. A 404 only where no documented path matches.
const TRANSPORT = new Map([
  [404, 'not_found'],
  [405, 'method_not_allowed'],
  [431, 'header_too_large'],
  [503, 'too_many_connections'],
]);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMAS_ID = 'https://observernet.invalid/openapi/components/schemas';

function fail(message) {
  console.error(`openapi.contract: ${message}`);
  process.exit(1);
}

// --- The specification ----------------------------------------------------------------

const spec = parseYaml(readFileSync(specPath, 'utf8'));

// A $ref to an OpenAPI object (a response, a parameter) inside this file.
function deref(node) {
  let seen = 0;
  while (node && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#/') || ++seen > 20) fail(`cannot resolve ${node.$ref}`);
    node = node.$ref
      .slice(2)
      .split('/')
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((at, key) => at?.[key], spec);
    if (node === undefined) fail(`dangling reference in ${specPath}`);
  }
  return node;
}

// Schema references point into components.schemas, which ajv knows under SCHEMAS_ID.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
      out.$ref = `${SCHEMAS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`;
    } else {
      out[key] = rewriteRefs(value);
    }
  }
  return out;
}

// strictSchema: an unknown keyword in the file (a typo) is an error, not ignored.
const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false });
addFormats(ajv);
ajv.addKeyword('example'); // OpenAPI's own annotation
ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(spec.components?.schemas ?? {}) });

const compiled = new WeakMap();
function validatorFor(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(rewriteRefs(schema)));
  return compiled.get(schema);
}

// operations: { key: "GET /path", path, method, op, regex, params }
const operations = [];
for (const [path, item] of Object.entries(spec.paths ?? {})) {
  const params = (path.match(/\{[^}]+\}/g) ?? []).length;
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`);
  for (const method of HTTP_METHODS) {
    if (!item[method]) continue;
    const key = `${method.toUpperCase()} ${path}`;
    operations.push({ key, path, method: method.toUpperCase(), op: item[method], regex, params });
  }
}
operations.sort((a, b) => a.params - b.params); // literal paths win over templates

// --- The traffic ----------------------------------------------------------------------

const trafficPath = process.argv[2] ?? process.env.OBSERVERNET_TEST_TRAFFIC;
if (!trafficPath) fail('no traffic file: pass one, or set OBSERVERNET_TEST_TRAFFIC');
let text;
try {
  text = readFileSync(trafficPath, 'utf8');
} catch (e) {
  fail(
    `cannot read ${trafficPath} (${e.code}): did the integration tests run with OBSERVERNET_TEST_TRAFFIC set?`,
  );
}
const exchanges = text
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line, i) => {
    try {
      return JSON.parse(line);
    } catch {
      return fail(`${trafficPath}:${i + 1} is not JSON`);
    }
  });
if (exchanges.length === 0) fail(`${trafficPath} is empty: no exchange was recorded`);

const mediaType = (contentType) => (contentType ?? '').split(';')[0].trim().toLowerCase();
const isJson = (type) => type === 'application/json' || type.endsWith('+json');

// The content entry for a media type: exact match first, then on the type without parameters.
function contentFor(content, contentType) {
  if (!content) return null;
  if (content[contentType]) return { type: contentType, entry: content[contentType] };
  const base = mediaType(contentType);
  for (const [type, entry] of Object.entries(content)) {
    if (mediaType(type) === base) return { type, entry };
  }
  return null;
}

// Errors of one body against one content entry, or [] when it validates.
function bodyErrors(what, entry, type, body) {
  if (!entry.schema) return [];
  let value = body;
  if (isJson(mediaType(type))) {
    try {
      value = JSON.parse(body);
    } catch {
      return [`${what} is not JSON`];
    }
  }
  let validate;
  try {
    validate = validatorFor(entry.schema);
  } catch (e) {
    return [`the ${what} schema does not compile: ${e.message}`];
  }
  if (validate(value)) return [];
  // Array indexes as *, duplicates dropped: one failure per kind of mismatch, not per item.
  const messages = validate.errors.map((e) => {
    const at = (e.instancePath || '').replace(/\/\d+(?=\/|$)/g, '/*');
    const detail =
      e.params?.additionalProperty ?? e.params?.unevaluatedProperty ?? e.params?.missingProperty;
    return `${what}${at} ${e.message}${detail && !e.message.includes(detail) ? ` (${detail})` : ''}`;
  });
  return [...new Set(messages)].sort();
}

const PROBLEM = { schema: { $ref: '#/components/schemas/Problem' } };

// The transport's answer (TRANSPORT), if `ex` is one of the statuses allowed here.
function transportAnswer(ex, allowed) {
  const code = TRANSPORT.get(ex.status);
  if (!code || !allowed.includes(ex.status)) return null;
  const errors = [];
  if (mediaType(ex.responseType) !== 'application/problem+json') {
    errors.push(`response content type "${ex.responseType}" is not application/problem+json`);
  } else {
    errors.push(...bodyErrors('response', PROBLEM, ex.responseType, ex.responseBody));
    try {
      const got = JSON.parse(ex.responseBody).code;
      if (got !== code) errors.push(`the transport's ${ex.status} is code ${code}, not ${got}`);
    } catch {
      // bodyErrors said so
    }
  }
  return { transport: `${ex.status} ${code}`, errors };
}

function check(ex) {
  const url = new URL(ex.target, 'http://x');
  const path = url.pathname;
  const skip = skipReason(ex.method, path);
  if (skip) return { skip };
  const method = ex.method === 'HEAD' ? 'GET' : ex.method;
  const match = operations.find((o) => o.method === method && o.regex.test(path));
  const status = String(ex.status);
  if (!match) {
    const known = operations.some((o) => o.regex.test(path));
    const transport = transportAnswer(ex, known ? [405, 503, 431] : [404, 503, 431]);
    if (transport) return transport;
    return {
      key: `${ex.method} ${path}`,
      errors: [known ? 'method not documented for this path' : 'path not documented'],
    };
  }
  const declared = match.op.responses?.[status] ?? match.op.responses?.default;
  if (!declared) {
    return (
      transportAnswer(ex, [405, 503, 431]) ?? {
        key: match.key,
        status,
        errors: [`status ${status} not documented`],
      }
    );
  }
  const response = deref(declared);
  const errors = [];

  const body = ex.responseBody ?? '';
  if (ex.method !== 'HEAD' && body !== '') {
    const found = contentFor(response.content, ex.responseType);
    if (!found) {
      errors.push(`response content type "${ex.responseType}" not documented for ${status}`);
    } else {
      errors.push(...bodyErrors('response', found.entry, found.type, body));
    }
  } else if (ex.method !== 'HEAD' && response.content && status !== '304') {
    errors.push(`empty response, but ${status} documents a body`);
  }

  if (ex.status >= 200 && ex.status < 300 && match.op.requestBody) {
    const requestBody = deref(match.op.requestBody);
    const sent = ex.requestBody ?? '';
    if (sent === '') {
      if (requestBody.required) errors.push('2xx without the required request body');
    } else {
      const found = contentFor(requestBody.content, ex.requestType || 'application/json');
      if (!found) errors.push(`request content type "${ex.requestType}" not documented`);
      else errors.push(...bodyErrors('request', found.entry, found.type, sent));
    }
  }
  return { key: match.key, status, errors };
}

// --- Report ---------------------------------------------------------------------------

const skipped = new Map();
const pairs = new Map(); // "GET /path 200" -> count
const covered = new Set();
const transport = new Map(); // "404 not_found" -> count
const failures = new Map(); // operation + status + error -> { count, example }
for (const ex of exchanges) {
  const result = check(ex);
  if (result.skip) {
    skipped.set(result.skip, (skipped.get(result.skip) ?? 0) + 1);
    continue;
  }
  if (result.transport) {
    transport.set(result.transport, (transport.get(result.transport) ?? 0) + 1);
  } else if (result.status !== undefined) {
    covered.add(result.key);
    const pair = `${result.key} ${result.status}`;
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
  }
  if (result.errors.length > 0) {
    const id = `${result.key ?? `${ex.method} ${ex.target}`} -> ${ex.status}: ${result.errors.join('; ')}`;
    const f = failures.get(id) ?? { count: 0, example: ex };
    f.count += 1;
    failures.set(id, f);
  }
}

const clip = (s, n = 600) => (s && s.length > n ? `${s.slice(0, n)}…` : (s ?? ''));
for (const [id, { count, example }] of failures) {
  console.log(`FAIL ${id}  (${count}×)`);
  console.log(`  e.g. ${example.test}: ${example.method} ${example.target}`);
  if (example.requestBody)
    console.log(`  request (${example.requestType || '-'}): ${clip(example.requestBody)}`);
  console.log(
    `  response ${example.status} (${example.responseType || '-'}): ${clip(example.responseBody)}`,
  );
}

const missing = operations
  .map((o) => o.key)
  .filter((key) => !covered.has(key) && !NOT_EXERCISED.has(key));
for (const key of missing) console.log(`FAIL ${key}: documented, never exercised by a test`);
for (const key of NOT_EXERCISED.keys()) {
  if (!operations.some((o) => o.key === key))
    console.log(`FAIL NOT_EXERCISED names ${key}, which is not in the file`);
}
const staleExclusions = [...NOT_EXERCISED.keys()].filter(
  (key) => !operations.some((o) => o.key === key),
);

console.log('');
console.log('(operation, status) pairs seen:');
for (const [pair, count] of [...pairs].sort()) console.log(`  ${pair}  ×${count}`);
for (const [answer, count] of [...transport].sort())
  console.log(`  (transport, any path) ${answer}  ×${count}`);
const documentedPairs = operations.reduce(
  (n, o) => n + Object.keys(o.op.responses ?? {}).length,
  0,
);
console.log('');
console.log(
  `exchanges: ${exchanges.length} (${exchanges.length - [...skipped.values()].reduce((a, b) => a + b, 0)} checked` +
    [...skipped].map(([why, n]) => `, ${n} skipped: ${why}`).join('') +
    ')',
);
console.log(
  `operations covered: ${operations.length - missing.length - NOT_EXERCISED.size} / ${operations.length}` +
    (NOT_EXERCISED.size ? ` (${NOT_EXERCISED.size} excluded)` : ''),
);
console.log(`(operation, status) pairs seen: ${pairs.size} of ${documentedPairs} documented`);
const failed = failures.size + missing.length + staleExclusions.length;
console.log(failed ? `openapi.contract: FAILED (${failed} problems)` : 'openapi.contract: OK');
process.exit(failed ? 1 : 0);
