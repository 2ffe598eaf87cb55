-- Nothing at rest orders ballots by their arrival (docs/security.md, Storage).
--
-- An accepted ballot waits in ballots_staged, which has no time and is read only as a
-- set. The sequencer moves a whole set into ballots at once, in the set's shuffled leaf
-- order, and the staged rows go: ballots is written by the sequencer alone, so its
-- physical order (ctid, xmin, WAL position) is the board's public order. The staged
-- rows' own order lasts only until their set is published (and in the WAL and dead
-- tuples until those are recycled; docs/security.md says for how long).
--
-- "One ballot per token" holds across both tables: a token is staged once (the primary
-- key), and the writer checks ballots in the same transaction after staging
-- (store/voting.cpp), which a sequencer moving the same token cannot slip between.
CREATE TABLE ballots_staged (
  election_id uuid NOT NULL,
  token_message bytea NOT NULL CHECK (length(token_message) = 32),
  leaf text NOT NULL,
  receipt bytea NOT NULL CHECK (length(receipt) = 32),
  PRIMARY KEY (election_id, token_message)
);
CREATE UNIQUE INDEX ballots_staged_by_receipt ON ballots_staged (receipt);

-- The ballots that were waiting for the log move to the staging table; ballot_batches,
-- whose exact commit times stood beside the receipts, goes.
INSERT INTO ballots_staged (election_id, token_message, leaf, receipt)
SELECT b.election_id, b.token_message, b.leaf, b.receipt
FROM ballots b
WHERE b.receipt IN (
  SELECT substring(bb.receipts FROM i * 32 + 1 FOR 32)
  FROM ballot_batches bb, generate_series(0, length(bb.receipts) / 32 - 1) AS i);
DELETE FROM ballots b USING ballots_staged s WHERE b.receipt = s.receipt;
DROP TABLE ballot_batches;

-- No time beside a ballot or a token, not even a minute: at low turnout a minute of
-- issuance and a minute of acceptance would pair a voter with a ballot.
ALTER TABLE ballots DROP COLUMN accepted_at;
ALTER TABLE token_issuances DROP COLUMN issued_at;

-- When the sequencer first saw the ballots that wait now (to the second, and beside no
-- receipt): the oldest has waited at least this long. Cleared when the set is published.
ALTER TABLE logs ADD COLUMN waiting_since timestamptz;
