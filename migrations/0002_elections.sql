-- Elections, the voter roll and the per-election audit chain (SPEC §3, §4, §7).

CREATE TABLE elections (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL,
  description text NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
  opens_at timestamptz,
  closes_at timestamptz,
  results_visibility text NOT NULL CHECK (results_visibility IN ('after_close', 'live')),
  contests jsonb NOT NULL,
  -- Bumped by every change to the row: the admin ETag, and the order of cache writes.
  version bigint NOT NULL DEFAULT 1,
  voters_registered bigint NOT NULL DEFAULT 0,
  -- Head of the audit chain; updated in the same transaction as each appended event,
  -- under this row's lock, so the chain cannot fork.
  audit_seq bigint NOT NULL DEFAULT 0,
  audit_head text NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at)
);

-- Admin and public listings, newest first, keyset-paginated.
CREATE INDEX elections_by_created ON elections (created_at DESC, id DESC);
-- The scheduler's two questions, answered from small partial indexes.
CREATE INDEX elections_due_to_open ON elections (opens_at) WHERE status = 'draft' AND opens_at IS NOT NULL;
CREATE INDEX elections_due_to_close ON elections (closes_at) WHERE status = 'open' AND closes_at IS NOT NULL;

-- Only hashes: voter_hash = HMAC-SHA256(pepper, electionId || voterId), and the
-- SHA-256 of the credential handed out once at import.
CREATE TABLE voters (
  election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
  voter_hash bytea NOT NULL CHECK (length(voter_hash) = 32),
  credential_hash bytea NOT NULL CHECK (length(credential_hash) = 32),
  PRIMARY KEY (election_id, voter_hash)
);

-- payload is kept as its RFC 8785 text and `at` as the exact string hashed, so that
-- what is served is byte for byte what was hashed.
CREATE TABLE audit_events (
  election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq >= 1),
  type text NOT NULL,
  payload text NOT NULL,
  at text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (election_id, seq)
);
