#!/usr/bin/env bash
# Benchmark of the bulletin board: sequencing a 1,000,000-leaf log, then
# inclusion proofs for random leaves of it, against the Release server with its default
# configuration. Goals: sequencing keeps up with 10,000 ballots/s; an inclusion proof for
# a random leaf of a 1,000,000-leaf log in under 1 ms at p99 from a warm server.
# Numbers go in docs/benchmarks.md.
#
#   bench/board_proofs.sh [seconds] [leaves]      (defaults 15 and 1,000,000)
#
# The leaves are not ballots: `leaves` stand-in rows of ballots_staged whose receipts
# are the SHA-256 of the numbers 0 to leaves - 1 (scripts/lib.sh,
# bench_stage_stand_in_leaves) are written straight into PostgreSQL, and the server's own
# sequencer publishes them as one set: moves them to `ballots` in shuffled order, adds
# them to the tally, gives them leaf indexes, signs the tree head and stores the log.
# Inclusion proofs need the log only, not the ballots. (bench/growth.sh makes real
# ballots.)
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-15}
leaves=${2:-1000000}
if ! [[ $duration =~ ^[0-9]+$ && $leaves =~ ^[0-9]+$ ]] || ((leaves % 1000 != 0 || leaves == 0)); then
  die "seconds and leaves must be whole numbers, leaves a multiple of 1,000"
fi

bench_begin
url=http://127.0.0.1:$BENCH_PORT

id=$(bench_open_election <<<'{"title": "Board benchmark", "contests": [{"id": "c", "title": "C",
  "options": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]}]}')
bench_machine

echo
echo "== Sequencing $leaves waiting leaves"
bench_stage_stand_in_leaves "$id" "$leaves"
start=$(date +%s.%N)
# (The JSON members are in alphabetical order: treeSize is the last.)
until [[ $(curl -s "$url/api/v1/public/elections/$id/tree-head") == *"\"treeSize\":$leaves}"* ]]; do
  sleep 0.05
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$leaves" \
  'BEGIN { printf "sequenced, signed, loaded into the server'"'"'s memory and served: %.2f s from the first waiting row, %.0f leaves/s\n", e - s, n / (e - s) }'
curl -s "$url/metrics" | grep -E '^(ballots_sequenced_total|ballots_pending_sequencing|sequencer_pass_seconds_(sum|count)) '
echo "(the time above includes up to board.sequence_interval_ms before the pass and"
echo " board.freshness_ms before the new tree head is served; sequencer_pass_seconds_sum is the passes' own)"

echo
echo "== GET .../proofs/inclusion for random leaves"
throwaway_psql -c "COPY (SELECT encode(sha256(n::text::bytea), 'hex') FROM generate_series(0, $((leaves - 1))) AS n
              ORDER BY random() LIMIT 100000) TO STDOUT" >"$THROWAWAY_DIR/receipts.txt"
# The tree head above loaded the log into memory: the server is warm.
# 1 connection: a proof's own latency, nothing queued behind another; 10 and 50: the
# most proofs a second, with the queueing of a saturated machine (wrk shares its 2 cores).
for connections in 1 10 50; do
  echo "-- $connections connections, ${duration}s"
  RECEIPTS=$THROWAWAY_DIR/receipts.txt ELECTION=$id \
    wrk --threads 1 --connections "$connections" --duration "${duration}s" --latency \
    -s "$ROOT/bench/inclusion.lua" "$url" | grep -E '^(latency|socket)'
done
