// The ObserverNet API (docs/api/openapi.yaml) from the browser: JSON in and out, RFC 9457
// problem details turned into ApiError, Retry-After read, a lost connection turned into
// status 0 / 'network_error'. Paths are relative to <baseUrl>/api/v1.

const DEFAULT_TIMEOUT_MS = 30_000;

export class ApiError extends Error {
  /** status: HTTP status, 0 without an answer. code: the problem's code, 'network_error',
   *  or 'bad_response' (an answer that is not the JSON expected). retryAfter: seconds, or null. */
  constructor({ status, code, title = '', detail = '', errors = [], retryAfter = null }) {
    super(`${status || ''} ${code}: ${detail || title}`.trim());
    this.name = 'ApiError';
    Object.assign(this, { status, code, title, detail, errors, retryAfter });
  }
}

// RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

async function problemOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a proxy's page, say. The status still says what happened.
  }
  const text = (v) => (typeof v === 'string' ? v : '');
  return new ApiError({
    status: response.status,
    code: text(body?.code) || `http_${response.status}`,
    title: text(body?.title),
    detail: text(body?.detail),
    errors: Array.isArray(body?.errors) ? body.errors : [],
    retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

const query = (params) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? '?' + new URLSearchParams(entries.map(([k, v]) => [k, String(v)])) : '';
};
const seg = encodeURIComponent;

/** An API client. baseUrl: the origin of the API ('' for the page's own), as
 *  /web-config.json's apiBaseUrl gives it. */
export function createApi(baseUrl, fetchImpl = (...args) => globalThis.fetch(...args),
                          { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const root = String(baseUrl ?? '').replace(/\/+$/, '') + '/api/v1';

  // cache: 'no-cache' asks the server every time (a 304 when nothing changed), for what a
  // page must see as it is now rather than as the HTTP cache last kept it.
  async function request(method, path, body, cache = 'default') {
    const init = { method, headers: { Accept: 'application/json' }, credentials: 'omit', cache };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (timeoutMs && globalThis.AbortSignal?.timeout) init.signal = AbortSignal.timeout(timeoutMs);
    let response;
    try {
      response = await fetchImpl(root + path, init);
    } catch (e) {
      throw new ApiError({ status: 0, code: 'network_error', detail: String(e?.message ?? e) });
    }
    if (!response.ok) throw await problemOf(response);
    try {
      return await response.json();
    } catch {
      throw new ApiError({ status: response.status, code: 'bad_response', detail: 'the answer is not JSON' });
    }
  }

  const getJson = (path) => request('GET', path);
  const postJson = (path, body) => request('POST', path, body);
  const election = (id) => `/public/elections/${seg(id)}`;

  return {
    getJson,
    postJson,
    publicElections: (cursor, limit) => getJson(`/public/elections${query({ limit, cursor })}`),
    publicElection: (id) => getJson(election(id)),
    results: (id) => getJson(`${election(id)}/results`),
    tokenKey: (id) => getJson(`/elections/${seg(id)}/token-key`),
    requestToken: (body) => postJson('/voting/token', body),
    submitBallot: (body) => postJson('/voting/submit', body),
    receipt: (r) => getJson(`/voting/receipts/${seg(r)}`),
    // The newest head: a receipt just seen sequenced must be inside it.
    treeHead: (id) => request('GET', `${election(id)}/tree-head`, undefined, 'no-cache'),
    logKey: () => getJson('/public/log-key'),
    inclusionProof: (id, receipt, treeSize) =>
      getJson(`${election(id)}/proofs/inclusion${query({ receipt, treeSize })}`),
    consistencyProof: (id, first, second) =>
      getJson(`${election(id)}/proofs/consistency${query({ first, second })}`),
    ballots: (id, from = 0, limit = 1000) => getJson(`${election(id)}/ballots${query({ from, limit })}`),
    audit: (id, from = 1, limit = 1000) => getJson(`${election(id)}/audit${query({ from, limit })}`),
    // Paged by cursor: `after` is the page before's "next", left out for the first page.
    roll: (id, after, limit = 1000) => getJson(`${election(id)}/roll${query({ after, limit })}`),
    issued: (id, after, limit = 1000) => getJson(`${election(id)}/issued${query({ after, limit })}`),
  };
}
