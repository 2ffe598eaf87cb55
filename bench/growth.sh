#!/usr/bin/env bash
# Growth: an election of `ballots` real ballots (default 10,000,000) made straight in
# PostgreSQL, published by the server's own sequencer, then timed where size could hurt:
# live results, the close (it publishes the final tally), results, the last board page,
# an inclusion proof for the last leaf, a consistency proof, a cold server's first proof,
# and `observernet verify` end to end. Numbers go in docs/benchmarks.md.
#
#   bench/growth.sh [ballots] [set]      (defaults 10,000,000 and 100,000)
#
# How the election is made:
# - the roll: `ballots` voters imported through the API as CSV, a million per request
#   (each import a roll commitment on the audit chain), `import.max_voters` lifted to
#   `ballots` by config (its default, 1,000,000, is per election);
# - the ballots: `bench_tokens --direct --staged-ballots` (bench/token_fetch.cpp) signs
#   one token per ballot with the election's key as a finished blind signature is (about
#   7,000/s on 2 cores: the longest step) and makes each ballot as the server does:
#   random selections checked by the server's own rules, its leaf and its receipt;
# - then `set` ballots at a time, as a run of voting would leave them: `set` voters
#   marked issued a token (rows of token_issuances and issuances_staged, as the token
#   route writes them; their blind signatures are stand-ins of the right size, since
#   nothing public holds them), and `set` ballots COPYed into ballots_staged, as the
#   group commit writes them. The server's sequencer publishes each set (shuffled, the
#   log extended, a tree head signed) before the next is loaded.
# The server runs with its default configuration apart from the import limit and the
# rate limits (lifted as for every benchmark: BENCH_RATE_LIMITS_LIFTED in scripts/lib.sh).
# Disk: the ballots file (about 850 bytes a ballot) and PostgreSQL's tables (about
# 1.8 KB a ballot with the roll and issuances): some 27 GB for 10,000,000.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ballots=${1:-10000000}
set_size=${2:-100000}
if ! [[ $ballots =~ ^[0-9]+$ && $set_size =~ ^[0-9]+$ ]] || ((ballots == 0 || set_size == 0)); then
  die "ballots and set must be positive whole numbers"
fi
readonly import_chunk=1000000  # voters per import request (within import.body_limit_bytes)

BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON)
OBSERVERNET_PACKAGES+=(time)
bench_begin OBSERVERNET_IMPORT_MAX_VOTERS="$((ballots > import_chunk ? ballots : import_chunk))"
url=http://127.0.0.1:$BENCH_PORT
board=$url/api/v1/public/elections

# seconds_since START: seconds elapsed since START (a `date +%s.%N`), two decimals.
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }

# timed_get LABEL URL: one GET, its status, size and time.
timed_get() {
  curl -s -o /dev/null -w "$1: %{http_code}, %{size_download} bytes, %{time_total} s\n" "$2"
}

# Live results, so that a recount can be timed while the election is open.
definition=$THROWAWAY_DIR/election.json
sed '1s/^{/{"resultsVisibility": "live", /' "$ROOT/bench/ballot_election.json" >"$definition"
id=$(bench_create_election <"$definition")
echo "election $id: $ballots ballots, published in sets of $set_size"
bench_machine

echo
echo "== The roll: $ballots voters through POST .../voters, $import_chunk a request"
start=$(date +%s.%N)
for ((first = 1; first <= ballots; first += import_chunk)); do
  last=$((first + import_chunk - 1 < ballots ? first + import_chunk - 1 : ballots))
  {
    echo voterId
    seq -f 'voter-%09.0f' "$first" "$last"
  } >"$THROWAWAY_DIR/voters.csv"
  bench_import_voters "$id" "$THROWAWAY_DIR/voters.csv" /dev/null
done
rm -f -- "$THROWAWAY_DIR/voters.csv"
echo "imported in $(seconds_since "$start") s"
status=$(bench_admin POST "/api/v1/elections/$id/open" -o /dev/null -w '%{http_code}')
[[ $status == 200 ]] || die "opening the election answered $status"

echo
echo "== $ballots ballots, each with a token signed directly with the election's key"
staged=$THROWAWAY_DIR/staged-ballots.copy
bench_direct_tokens "$id" "$ballots" "$staged" --staged-ballots "$definition"
[[ $(wc -l <"$staged") == "$ballots" ]] || die "bench_tokens made fewer ballots than asked"
split -l "$set_size" -d -a 5 "$staged" "$THROWAWAY_DIR/set-"
rm -f -- "$staged"

echo
echo "== Published by the sequencer, $set_size at a time"
# tree_size: the size of the tree head the server serves now.
tree_size() { curl -s "$board/$id/tree-head" | sed -nE 's/.*"treeSize":([0-9]+).*/\1/p'; }
last_voter=
published=0
start=$(date +%s.%N)
for part in "$THROWAWAY_DIR"/set-*; do
  n=$(wc -l <"$part")
  # The next n voters of the roll (in voter hash order) issued a token: as the token
  # route leaves it, with stand-in blind request and signature of the right sizes.
  last_voter=$(throwaway_psql -c "WITH s AS (SELECT election_id, voter_hash FROM voters
      WHERE election_id = '$id' AND voter_hash > decode('$last_voter', 'hex')
      ORDER BY voter_hash LIMIT $n),
    t AS (INSERT INTO token_issuances (election_id, voter_hash, blinded_message_hash, blind_signature)
      SELECT election_id, voter_hash, sha256(voter_hash),
             decode(repeat(encode(sha256(voter_hash || '\\x01'::bytea), 'hex'), 8), 'hex') FROM s),
    i AS (INSERT INTO issuances_staged (election_id, voter_hash) SELECT election_id, voter_hash FROM s)
    SELECT encode(voter_hash, 'hex') FROM s ORDER BY voter_hash DESC LIMIT 1")
  throwaway_psql -c "\\copy ballots_staged (election_id, token_message, leaf, receipt) FROM '$part'"
  rm -f -- "$part"
  published=$((published + n))
  deadline=$((SECONDS + 600))
  until [[ $(tree_size) == "$published" ]]; do
    ((SECONDS < deadline)) || die "set ending at $published not published within 600 s (server log: $BENCH_LOG)"
    sleep 0.05
  done
  if ((published % (10 * set_size) == 0 || published == ballots)); then
    echo "$published published after $(seconds_since "$start") s"
  fi
done
curl -s "$url/metrics" | grep -E '^(ballots_sequenced_total|sequencer_pass_seconds_(sum|count)) '

echo
echo "== Sizes in PostgreSQL"
throwaway_psql -F ' ' -c "SELECT relname, pg_size_pretty(pg_total_relation_size(oid))
  FROM pg_class WHERE relname IN ('ballots', 'log_chunks', 'tree_heads', 'voters',
    'token_issuances', 'issued', 'audit_events') ORDER BY pg_total_relation_size(oid) DESC"
throwaway_psql -F ' ' -c "SELECT count(*) || ' chunks, ' || pg_size_pretty(sum(length(leaf_hashes)))
  || ' of leaf hashes' FROM log_chunks WHERE election_id = '$id'"

echo
echo "== Reads at $ballots ballots"
# The receipt of the last leaf: the last hash of the last chunk (a receipt is its leaf hash).
last_receipt=$(throwaway_psql -c "SELECT encode(substring(leaf_hashes FROM length(leaf_hashes) - 31), 'hex')
  FROM log_chunks WHERE election_id = '$id' ORDER BY first_index DESC LIMIT 1")
# The first set's tree head, the oldest an observer could have kept.
first_head=$(throwaway_psql -c "SELECT min(tree_size) FROM tree_heads WHERE election_id = '$id' AND tree_size > 0")
for round in first again; do
  echo "-- $round"
  timed_get "live results (a recount)" "$board/$id/results"
  timed_get "last board page (1,000 ballots)" "$board/$id/ballots?from=$((ballots > 1000 ? ballots - 1000 : 0))&limit=1000"
  timed_get "inclusion proof, last leaf" "$board/$id/proofs/inclusion?receipt=$last_receipt"
  timed_get "consistency proof, $first_head to $ballots" "$board/$id/proofs/consistency?first=$first_head&second=$ballots"
done

echo
echo "== What results cost before the running tally: a recount of every leaf (the old query, timed in psql)"
# -A -t print only results and psql's own timing line.
throwaway_psql -c "SET statement_timeout = 0" -c '\timing on' -c "SELECT count(*) FROM (
    SELECT c, o, CASE WHEN GROUPING(o) = 1 THEN count(DISTINCT t) ELSE count(*) END
    FROM (SELECT b.token_message AS t, x ->> 'contestId' AS c, x ->> 'optionId' AS o
          FROM ballots b CROSS JOIN LATERAL jsonb_array_elements(b.leaf::jsonb -> 'selections') x
          WHERE b.election_id = '$id') s GROUP BY GROUPING SETS ((c, o), (c))) r" |
  sed -n 's/^Time: /recount of every leaf: /p'
throwaway_psql -c '\timing on' -c "SELECT count(*) FROM token_issuances WHERE election_id = '$id'" |
  sed -n 's/^Time: /count of the tokens issued (the close counts them): /p'

echo
echo "== The close (the final tally and tree head, in one transaction)"
start=$(date +%s.%N)
status=$(bench_admin POST "/api/v1/elections/$id/close" -o "$THROWAWAY_DIR/close.json" -w '%{http_code}')
echo "close: $status in $(seconds_since "$start") s"
[[ $status == 200 ]] || cat -- "$THROWAWAY_DIR/close.json"
timed_get "final results, first" "$board/$id/results"
timed_get "final results, again (cached)" "$board/$id/results"

echo
echo "== A cold server: a new process on the same database, its first proofs"
bench_server_another OBSERVERNET_LOG_ACCESS=false
cold=http://127.0.0.1:$BENCH_OTHER_PORT/api/v1/public/elections/$id
cold_pid=${BENCH_OTHER_PIDS[-1]}
curl -sf "$cold" >/dev/null
rss_before=$(awk '/^VmRSS/ {print $2}' "/proc/$cold_pid/status")
timed_get "cold: inclusion proof, last leaf (loads the log)" "$cold/proofs/inclusion?receipt=$last_receipt"
timed_get "cold: inclusion proof, last leaf, again" "$cold/proofs/inclusion?receipt=$last_receipt"
timed_get "cold: consistency proof" "$cold/proofs/consistency?first=$first_head&second=$ballots"
awk -v a="$rss_before" -v b="$(awk '/^VmHWM/ {print $2}' "/proc/$cold_pid/status")" \
  'BEGIN { printf "cold server: peak memory grew by %.1f MiB\n", (b - a) / 1024 }'
awk '/^VmHWM/ { printf "the first server, which published every set: peak memory %.1f MiB\n", $2 / 1024 }' \
  "/proc/$BENCH_PID/status"

echo
echo "== observernet verify, end to end (downloads the board, checks everything)"
/usr/bin/time -f 'verify: %e s wall, %U s user, %S s system, %M KiB peak memory' \
  "${OBSERVERNET_BENCH_BINARY:-$ROOT/build/release/observernet}" verify --url "$url" --election "$id" \
  --state "$THROWAWAY_DIR/verify-state.json" 2>&1 |
  tee "$THROWAWAY_DIR/verify.txt"
grep -q '^verdict: PASS' "$THROWAWAY_DIR/verify.txt" || die "verify did not pass"
