// Pure helpers of the portal: election phases, turnout, dates and numbers in the page's
// language, audit event summaries and receipt input parsing. No DOM; unit-tested in
// test/unit/portal_format.test.mjs. Every sentence is a catalog key, never English here.

const HEX64 = /^[0-9a-f]{64}$/;

// The public API lists open and closed elections (drafts are never public, see
// docs/api/openapi.yaml); any other status is shown as scheduled.
export function electionPhase(election) {
  if (election.status === 'open') return 'open';
  if (election.status === 'closed') return 'closed';
  return 'scheduled';
}

const GROUP_ORDER = ['open', 'scheduled', 'closed'];

function timeOf(iso, fallback) {
  const t = Date.parse(iso ?? '');
  return Number.isFinite(t) ? t : fallback;
}

// The list page's groups: a Map open -> scheduled -> closed; open ones closing soonest
// first, scheduled ones opening soonest first, closed ones most recent first.
export function groupElections(elections) {
  const groups = new Map(GROUP_ORDER.map((g) => [g, []]));
  for (const e of elections) groups.get(electionPhase(e)).push(e);
  groups.get('open').sort((a, b) => timeOf(a.closesAt, Infinity) - timeOf(b.closesAt, Infinity));
  groups.get('scheduled').sort((a, b) => timeOf(a.opensAt, Infinity) - timeOf(b.opensAt, Infinity));
  groups.get('closed').sort((a, b) => timeOf(b.closesAt ?? b.updatedAt, 0) - timeOf(a.closesAt ?? a.updatedAt, 0));
  return groups;
}

// {cast, registered, ratio}: ratio is null when nobody is registered (or the count is unknown).
export function turnout(election) {
  const cast = Number.isInteger(election.ballotsCast) ? election.ballotsCast : 0;
  const registered = Number.isInteger(election.votersRegistered) ? election.votersRegistered : null;
  const ratio = registered ? Math.min(1, cast / registered) : null;
  return { cast, registered, ratio };
}

// Whether an open election's closing time has passed but the close has not happened yet, or
// is still to come: used to show "closes on ..." versus "closed on ...".
export function closesInFuture(election, now = Date.now()) {
  if (!election.closesAt) return false;
  const t = Date.parse(election.closesAt);
  return Number.isFinite(t) && t > now;
}

export function formatDateTime(iso, lang) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(t);
}

export function formatNumber(n, lang) {
  return new Intl.NumberFormat(lang).format(n);
}

export function formatPercent(ratio, lang) {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}

// The first and last characters of a long hex string, for summaries (the full value stays
// available beside it).
export function shortHex(hex, keep = 8) {
  if (typeof hex !== 'string' || hex.length <= keep * 2 + 1) return String(hex ?? '');
  return `${hex.slice(0, keep)}…${hex.slice(-keep)}`;
}

// One audit event's payload as a list of {key, params} catalog lines (params.count picks
// the plural form) (docs/api/audit-log.md
// lists the payload of each type). Unknown types say how many fields their payload has.
export function auditSummary(event) {
  const p = event.payload && typeof event.payload === 'object' ? event.payload : {};
  switch (event.type) {
    case 'election.created':
    case 'election.updated': {
      const lines = [{ key: 'portal.audit.definition', params: { title: str(p.title), count: count(p.contests) } }];
      if (p.opensAt) lines.push({ key: 'portal.audit.opensAt', params: { time: p.opensAt }, time: 'time' });
      if (p.closesAt) lines.push({ key: 'portal.audit.closesAt', params: { time: p.closesAt }, time: 'time' });
      if (p.resultsVisibility) {
        lines.push({ key: `portal.audit.visibility.${p.resultsVisibility === 'live' ? 'live' : 'afterClose'}`, params: {} });
      }
      if (p.tokenKey && p.tokenKey.keyId) {
        lines.push({ key: 'portal.audit.tokenKey', params: { keyId: str(p.tokenKey.keyId), bits: num(p.tokenKey.modulusBits) } });
      }
      return lines;
    }
    case 'voters.imported':
      return [{
        key: 'portal.audit.votersImported',
        params: { registered: num(p.registered), duplicates: num(p.duplicates), total: num(p.votersRegistered), count: num(p.registered) },
      }];
    case 'election.opened':
    case 'election.closed':
      return [{
        key: p.trigger === 'schedule' ? 'portal.audit.bySchedule' : 'portal.audit.byAdmin',
        params: { total: num(p.votersRegistered), count: num(p.votersRegistered) },
      }];
    case 'tree_head.published':
      return [{ key: 'portal.audit.treeHead', params: { size: num(p.treeSize), root: str(p.rootHash), count: num(p.treeSize) } }];
    case 'results.published':
      return [{
        key: 'portal.audit.results',
        params: { ballots: num(p.ballotsCast), contests: count(p.contests), count: num(p.ballotsCast) },
      }];
    default:
      return [{ key: 'portal.audit.other', params: { fields: Object.keys(p).length, count: Object.keys(p).length } }];
  }
}

function str(v) {
  return typeof v === 'string' ? v : '';
}
function num(v) {
  return Number.isFinite(v) ? v : 0;
}
function count(v) {
  return Array.isArray(v) ? v.length : 0;
}

// What the receipts form was given: a receipt (64 hex, any case, spaces ignored) or the
// text of the JSON file the booth downloads ({electionId, receipt, acceptedAt, checkUrl}).
// -> {receipt, electionId?} or {error: 'empty' | 'not_hex' | 'bad_file'}.
export function parseReceiptInput(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return { error: 'empty' };
  if (trimmed.startsWith('{')) {
    let doc;
    try {
      doc = JSON.parse(trimmed);
    } catch {
      return { error: 'bad_file' };
    }
    const receipt = typeof doc.receipt === 'string' ? doc.receipt.trim().toLowerCase() : '';
    if (!HEX64.test(receipt)) return { error: 'bad_file' };
    const out = { receipt };
    if (typeof doc.electionId === 'string') out.electionId = doc.electionId;
    return out;
  }
  const receipt = trimmed.replace(/\s+/g, '').toLowerCase();
  return HEX64.test(receipt) ? { receipt } : { error: 'not_hex' };
}

// Page arithmetic of the ballot browser: pages of `size` leaves over a tree of `treeSize`.
export function pageOf(leafIndex, size) {
  return Math.floor(leafIndex / size);
}
export function pageCount(treeSize, size) {
  return Math.max(1, Math.ceil(treeSize / size));
}
