-- The tally of each election's published ballots, kept as the sequencer publishes each
-- set, in the same transaction (docs/architecture.md, Results): results, the close and the
-- count of ballots read these few rows instead of reparsing every leaf, which took 32 s
-- at 10,000,000 ballots, far beyond database.statement_timeout (docs/benchmarks.md,
-- Growth). Observers still recount from the leaves (`observernet verify`).
--   option_id = '': the ballots with at least one selection in the contest;
--   else: the votes for that option.
CREATE TABLE tallies (
  election_id uuid NOT NULL,
  contest_id text NOT NULL,
  option_id text NOT NULL,
  count bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (election_id, contest_id, option_id)
);

INSERT INTO tallies (election_id, contest_id, option_id, count)
SELECT e, c, coalesce(o, ''),
       CASE WHEN GROUPING(o) = 1 THEN count(DISTINCT t) ELSE count(*) END
FROM (SELECT b.election_id AS e, b.token_message AS t, x ->> 'contestId' AS c,
             x ->> 'optionId' AS o
      FROM ballots b CROSS JOIN LATERAL jsonb_array_elements(b.leaf::jsonb -> 'selections') x) s
GROUP BY GROUPING SETS ((e, c, o), (e, c));
