#!/usr/bin/env bash
# The scaling guide's staged load test (bench/loadtest.mjs) against a Release server, or
# against the local stack with BENCH_STACK=3 (scripts/cluster): an open election with
# VOTERS voters, every one a virtual user's credential, then the stages.
#
#   bench/load_test.sh [scale] [loadtest.mjs options...]
#   BENCH_STACK=3 bench/load_test.sh 0.2 --think-ms 2000
#
# scale (default 1) multiplies the stages' durations: 1 is the guide's 2 + 5 + 2 minutes.
# VOTERS (default: 1,500 journeys a second over the run, at most 1,000,000) must cover
# every journey: a user takes a new voter's credential after each. The rate limits are
# lifted by config (scripts/lib.sh, BENCH_RATE_LIMITS_LIFTED): every virtual user comes
# from 127.0.0.1. The JSON summary is written to LOADTEST_SUMMARY (default
# loadtest-summary.json in the current folder). Exit status: loadtest.mjs's.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

scale=${1:-1}
shift || true
[[ $scale =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "scale is a number (got '$scale')"
voters=${VOTERS:-$(awk -v s="$scale" 'BEGIN { v = int(540 * s * 1500); print (v > 1000000 ? 1000000 : v) }')}
[[ $voters =~ ^[0-9]+$ ]] || die "VOTERS is a whole number (got '$voters')"
summary=${LOADTEST_SUMMARY:-$PWD/loadtest-summary.json}

bench_begin
check_node
url=http://127.0.0.1:$BENCH_PORT
bench_machine
echo "servers: ${BENCH_STACK:-1}$([[ -n ${BENCH_STACK:-} ]] && echo ' behind nginx')"

id=$(bench_create_election <"$ROOT/bench/ballot_election.json")
{
  echo voterId
  seq -f 'voter-%08.0f' 1 "$voters"
} >"$THROWAWAY_DIR/voters.csv"
bench_roll_and_open "$id" "$THROWAWAY_DIR/voters.csv" "$THROWAWAY_DIR/credentials.json"
echo "election $id: $voters voters; stages scaled by $scale"

rc=0
read -r server_before pg_before busy_before idle_before _ < <(bench_cpu_ticks)
node "$ROOT/bench/loadtest.mjs" --url "$url" --election "$id" \
  --credentials "$THROWAWAY_DIR/credentials.json" --scale "$scale" --summary "$summary" "$@" ||
  rc=$?
read -r server_after pg_after busy_after idle_after _ < <(bench_cpu_ticks)
# Where the machine's time went: what bounded the run.
awk -v hz="$(getconf CLK_TCK)" -v s=$((server_after - server_before)) \
  -v p=$((pg_after - pg_before)) -v b=$((busy_after - busy_before)) \
  -v i=$((idle_after - idle_before)) \
  'BEGIN { printf "CPU over the run: servers %.0f s, PostgreSQL %.0f s, the rest (load generator, Redis, nginx, kernel) %.0f s, idle %.0f s\n",
             s / hz, p / hz, (b - s - p) / hz, i / hz }'
# The servers' refusals, by what refused (docs/operations.md, Limits).
for port in "${BENCH_SERVER_PORTS[@]:-$BENCH_PORT}"; do
  curl -s "http://127.0.0.1:$port/metrics" |
    grep -E '^(pool_rejected_total|worker_rejected_total|ballot_queue_(rejected|expired)_total|token_queue_(rejected|expired)_total|http_limit_exceeded_total|http_requests_total\{[^}]*status="5)' |
    awk -v port="$port" '$2 > 0 { print "server " port ": " $0 }' || true
done
# Where the public reads that missed the cache went: the primary or a replica, and why
# (docs/operations.md, Read replicas). All on the primary without a replica.
for port in "${BENCH_SERVER_PORTS[@]:-$BENCH_PORT}"; do
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^db_public_reads_total' |
    awk -v port="$port" '{ print "server " port ": " $0 }' || true
done
echo "summary: $summary"
exit "$rc"
