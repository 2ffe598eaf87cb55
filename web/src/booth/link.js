// The voter's link: /vote/{id}#voter=…&credential=…&voterHash=… (the fragment never
// reaches a server, so no access log can hold it). The voter hash is how the public
// roll and issued list name the voter (docs/security.md, Issuance transparency).

const VOTER_HASH = /^[0-9a-f]{64}$/;

/** {voterId, credential, voterHash?} from a '#voter=…&credential=…' fragment, or null.
 *  voterHash only when it is 64 hex digits. */
export function readLinkFragment(hash) {
  if (!hash || hash.length < 2) return null;
  const params = new URLSearchParams(hash.slice(1));
  const voterId = params.get('voter')?.trim();
  const credential = params.get('credential')?.trim();
  if (!voterId || !credential) return null;
  const voterHash = params.get('voterHash')?.trim().toLowerCase();
  return VOTER_HASH.test(voterHash ?? '') ? { voterId, credential, voterHash } : { voterId, credential };
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
