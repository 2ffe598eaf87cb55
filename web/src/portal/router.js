// The portal's routes (web/README.md: the server serves portal.html for each of them).
// Pure: no DOM, unit-tested in test/unit/portal_router.test.mjs.

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

const ROUTES = [
  { name: 'list', pattern: new RegExp('^/$') },
  { name: 'election', pattern: new RegExp(`^/elections/(${UUID})/?$`) },
  { name: 'receipts', pattern: new RegExp('^/receipts/?$') },
  { name: 'verify', pattern: new RegExp(`^/verify/(${UUID})/?$`) },
];

// matchRoute('/elections/<uuid>') -> {name: 'election', id: '<uuid>'}; unknown paths -> {name: 'notFound'}.
export function matchRoute(pathname) {
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname);
    if (m) return m[1] ? { name: route.name, id: m[1].toLowerCase() } : { name: route.name };
  }
  return { name: 'notFound' };
}

// Whether a link's URL is one of ours, so the router can follow it without a page load.
export function isPortalPath(url, origin) {
  return url.origin === origin && matchRoute(url.pathname).name !== 'notFound';
}

export const paths = {
  list: () => '/',
  election: (id) => `/elections/${encodeURIComponent(id)}`,
  receipts: (receipt) => (receipt ? `/receipts?receipt=${encodeURIComponent(receipt)}` : '/receipts'),
  verify: (id, receipt) => `/verify/${encodeURIComponent(id)}${receipt ? `?receipt=${encodeURIComponent(receipt)}` : ''}`,
  vote: (id) => `/vote/${encodeURIComponent(id)}`,
};
