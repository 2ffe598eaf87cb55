-- Issuance transparency (docs/security.md, Issuance transparency).
--
-- The roll is committed on the audit chain: at the opening, and again by each import into
-- an open election. Commitment k covers the voters whose roll_batch is at most k: an
-- import into a draft joins the opening's (1), one into an open election the next.
ALTER TABLE elections ADD COLUMN roll_commitments integer NOT NULL DEFAULT 0;
ALTER TABLE voters ADD COLUMN roll_batch integer NOT NULL DEFAULT 1 CHECK (roll_batch >= 1);
-- The public roll, in commitment and then hash order (keyset pages).
CREATE INDEX voters_by_roll ON voters (election_id, roll_batch, voter_hash);

-- The voter hashes issued a token are published with the ballot sets, never one at a time:
-- an issuance waits in issuances_staged, with no time and read only as a set, and the
-- sequencer moves what waits into issued whenever it publishes a set, and at the close.
CREATE TABLE issuances_staged (
  election_id uuid NOT NULL,
  voter_hash bytea NOT NULL CHECK (length(voter_hash) = 32),
  PRIMARY KEY (election_id, voter_hash)
);
CREATE TABLE issued (
  election_id uuid NOT NULL,
  voter_hash bytea NOT NULL CHECK (length(voter_hash) = 32),
  PRIMARY KEY (election_id, voter_hash)
);

-- Issuances before this migration: public for the closed elections; waiting for the next
-- set in the open ones. Their rolls were never committed (roll_commitments stays 0).
INSERT INTO issued (election_id, voter_hash)
SELECT t.election_id, t.voter_hash FROM token_issuances t
JOIN elections e ON e.id = t.election_id WHERE e.status = 'closed'
ORDER BY t.election_id, t.voter_hash;
INSERT INTO issuances_staged (election_id, voter_hash)
SELECT t.election_id, t.voter_hash FROM token_issuances t
JOIN elections e ON e.id = t.election_id WHERE e.status = 'open';
