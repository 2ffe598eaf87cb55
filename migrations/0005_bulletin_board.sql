-- The bulletin board (SPEC §7): each election's Merkle log (RFC 9162), filled by the
-- sequencer from the batches the group commit wrote, and its signed tree heads.
--
-- None of these tables has a foreign key to elections. A foreign key check takes a KEY
-- SHARE lock on the election's row, which a close holds FOR UPDATE while it waits for
-- the log's row: a sequencer holding the log's row and checking a key would deadlock
-- with it. Logs begin when an election opens, and only drafts can be deleted.

-- The accepted ballots of one committed batch that the log does not hold yet: their
-- receipts (RFC 9162 leaf hashes, 32 bytes each, concatenated). Written in the batch's
-- own transaction, one row per batch and election, and deleted by the transaction that
-- gives them leaf indexes, so a ballot is sequenced exactly once and none is missed,
-- whatever the order in which batches commit.
CREATE TABLE ballot_batches (
  id bigserial PRIMARY KEY,
  election_id uuid NOT NULL,
  receipts bytea NOT NULL CHECK (length(receipts) > 0 AND length(receipts) % 32 = 0),
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ballot_batches_by_election ON ballot_batches (election_id, id);

-- One row per election once its log exists: the size and right edge of the tree (the
-- hashes of the perfect subtrees the size's binary digits name, largest first), enough
-- to append and compute the next root without reading the leaves. The sequencer and
-- the close lock this row, so one transaction at a time extends an election's log.
CREATE TABLE logs (
  election_id uuid PRIMARY KEY,
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  right_edge bytea NOT NULL CHECK (length(right_edge) % 32 = 0)
);

-- The leaves in leaf order: the leaf hashes of [first_index, first_index + n), one row
-- per sequencing transaction. Ballots are found from their leaf hash (the receipt).
CREATE TABLE log_chunks (
  election_id uuid NOT NULL,
  first_index bigint NOT NULL CHECK (first_index >= 0),
  leaf_hashes bytea NOT NULL CHECK (length(leaf_hashes) > 0 AND length(leaf_hashes) % 32 = 0),
  PRIMARY KEY (election_id, first_index)
);

-- Signed tree heads: Ed25519 over the JCS text of {electionId, treeSize, rootHash,
-- timestamp}; the newest is the one served.
CREATE TABLE tree_heads (
  election_id uuid NOT NULL,
  tree_size bigint NOT NULL,
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  signed_at timestamptz NOT NULL,
  signature bytea NOT NULL CHECK (length(signature) = 64),
  log_key_id text NOT NULL,
  PRIMARY KEY (election_id, tree_size)
);

-- The log replaces the per-ballot leaf index: setting it rewrote every ballot row and
-- its indexes once more.
DROP INDEX ballots_pending;
ALTER TABLE ballots DROP COLUMN leaf_index;
