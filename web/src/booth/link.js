// The voter's link: /vote/{id}#voter=…&credential=… (the fragment never
// reaches a server, so no access log can hold it).

/** {voterId, credential} from a '#voter=…&credential=…' fragment, or null. */
export function readLinkFragment(hash) {
  if (!hash || hash.length < 2) return null;
  const params = new URLSearchParams(hash.slice(1));
  const voterId = params.get('voter')?.trim();
  const credential = params.get('credential')?.trim();
  return voterId && credential ? { voterId, credential } : null;
}

/** The election id of a /vote/{id} path, lowercased, or '' when the path is not one. */
export function electionIdFromPath(pathname) {
  const match = /^\/vote\/([^/]+)\/?$/.exec(pathname);
  if (!match) return '';
  try {
    return decodeURIComponent(match[1]).toLowerCase(); // UUIDs are compared lowercase
  } catch {
    return '';
  }
}
