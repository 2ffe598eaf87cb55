-- Ballots keep what nothing else holds: the leaf (RFC 8785 text, which already carries
-- the selections and the token's message and signature), its receipt, and the token
-- message as the "one ballot per token" key. Each accepted ballot is one row written
-- under the group commit's load (issue 4: 10,000 a second), so every byte and every
-- per-row check counts:
-- - selections: the tally reads them from the leaf (`leaf::jsonb -> 'selections'`), once
--   per count, instead of every insert parsing the leaf into a second copy;
-- - token_signature: a copy of the leaf's `token.signature`;
-- - the foreign key to elections: its per-row check (a SELECT ... FOR KEY SHARE on the
--   election for every ballot) repeats what the writer already holds, the election's
--   row locked FOR SHARE and checked open for the whole batch. Only drafts can be
--   deleted, and drafts never have ballots, so the cascade never had anything to do.
ALTER TABLE ballots DROP CONSTRAINT ballots_election_id_fkey;
ALTER TABLE ballots DROP COLUMN selections;
ALTER TABLE ballots DROP COLUMN token_signature;
