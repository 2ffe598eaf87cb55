#!/usr/bin/env bash
# Cold start of the bulletin board: a fresh Release server process with no log in memory
# gets concurrent proof and board requests for an election of `leaves` ballots. It must
# load the log once (single flight: the other requests wait for that load) and its peak
# memory must stay under twice what one request's load costs. Numbers go in
# docs/reliability.md (Faults: a cold start) and docs/benchmarks.md.
#
#   bench/cold_start.sh [leaves] [requests]      (defaults 1,000,000 and 200)
#
# The log is made as bench/board_proofs.sh makes it: `leaves` staged rows written straight
# into PostgreSQL, published by the first server's sequencer as one set. Then, for 1
# request and for `requests` at once, a new server process on the same database: warmed
# on the election's view (its cache, a connection), then the requests (half inclusion
# proofs of random leaves, a quarter the tree head, a quarter consistency proofs), and
# what its peak resident memory (VmHWM) grew by.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

leaves=${1:-1000000}
requests=${2:-200}
if ! [[ $leaves =~ ^[0-9]+$ && $requests =~ ^[0-9]+$ ]] || ((leaves == 0 || requests == 0)); then
  die "leaves and requests must be positive whole numbers"
fi

bench_begin
id=$(bench_open_election <<<'{"title": "Cold start benchmark", "contests": [{"id": "c",
  "title": "C", "options": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]}]}')
bench_machine

echo "== Publishing $leaves leaves"
bench_stage_stand_in_leaves "$id" "$leaves"
base=http://127.0.0.1:$BENCH_PORT/api/v1/public/elections/$id
until [[ $(curl -s "$base/tree-head") == *"\"treeSize\":$leaves}"* ]]; do sleep 0.1; done
throwaway_psql -c "COPY (SELECT encode(sha256(n::text::bytea), 'hex')
        FROM generate_series(0, $((leaves - 1))) AS n ORDER BY random() LIMIT $requests)
        TO STDOUT" >"$THROWAWAY_DIR/receipts.txt"
mapfile -t receipts <"$THROWAWAY_DIR/receipts.txt"

# cold_start N: N requests at once on a fresh process; prints one line of figures.
cold_start() {
  local n=$1 pid port before peak loads i target ok curls=()
  bench_server_another OBSERVERNET_LOG_ACCESS=false
  pid=${BENCH_OTHER_PIDS[-1]} port=$BENCH_OTHER_PORT
  local url=http://127.0.0.1:$port/api/v1/public/elections/$id
  curl -sf "$url" >/dev/null
  before=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  for ((i = 0; i < n; i++)); do
    case $((i % 4)) in
      0 | 2) target="$url/proofs/inclusion?receipt=${receipts[i % ${#receipts[@]}]}" ;;
      1) target="$url/tree-head" ;;
      3) target="$url/proofs/consistency?first=$((i + 1))&second=$leaves" ;;
    esac
    curl -s -o /dev/null -w '%{http_code}\n' "$target" >>"$THROWAWAY_DIR/codes-$n.txt" &
    curls+=($!)
  done
  wait "${curls[@]}"  # not the servers, which run in the background too
  ok=$(grep -c '^200$' "$THROWAWAY_DIR/codes-$n.txt" || true)
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  loads=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^board_log_loads_total / {print $2}')
  kill -TERM "$pid"
  wait "$pid" || true
  unset 'BENCH_OTHER_PIDS[-1]'
  awk -v n="$n" -v ok="$ok" -v loads="$loads" -v grew=$((peak - before)) \
    'BEGIN { printf "%d request(s) at once: %d answered 200, %s load(s) of the log, peak memory grew by %.1f MiB\n", n, ok, loads, grew / 1024 }'
  GREW=$((peak - before))
}

echo
echo "== A fresh process, cold"
cold_start 1
one=$GREW
cold_start "$requests"
many=$GREW
# The log in memory: about 64 bytes a leaf (the tree), and the receipt index (4 bytes a
# slot, a power of two at least twice the leaves).
awk -v leaves="$leaves" -v one="$one" -v many="$many" 'BEGIN {
  slots = 1; while (slots < 2 * leaves) slots *= 2
  printf "the log itself: %.1f MiB; %d at once cost %.2f times one request (goal: under 2)\n",
    (leaves * 64 + 4 * slots) / 1048576, '"$requests"', many / one }'
