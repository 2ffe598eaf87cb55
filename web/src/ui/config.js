// The API base URL comes from /web-config.json ({"apiBaseUrl": ""}; empty
// means the same origin), fetched once at start, never from inline script.

let cached = null;

export function normalizeBaseUrl(value) {
  if (typeof value !== 'string' || value === '') return '';
  return value.replace(/\/+$/, '');
}

/** Resolves to { apiBaseUrl }; a missing or broken file means same origin. */
export function loadWebConfig(fetchImpl = globalThis.fetch) {
  if (!cached) {
    cached = fetchImpl('/web-config.json', { cache: 'no-cache', credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}))
      .then((json) => ({ apiBaseUrl: normalizeBaseUrl(json?.apiBaseUrl) }));
  }
  return cached;
}
