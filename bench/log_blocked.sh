#!/usr/bin/env bash
# The log with a reader that stops reading. GET /api/v1/public/elections/{id} (the hottest
# route: one access line per request) with wrk for [seconds], against a Release server
# whose stdout is a pipe; BLOCK_AT seconds in, the pipe's reader is stopped (SIGSTOP) for
# BLOCK_FOR seconds, as a log collector that stops reading. The pipe is full within a
# moment, and from then on the server's log thread blocks in write(2). A logger that makes
# the threads which log wait shows it as seconds in which no request completes: each such
# "stalled second" counts (docs/benchmarks.md; a logger with one is not adopted).
#
#   bench/log_blocked.sh [seconds] [connections]      (defaults 30 and 100)
#
# Environment: BLOCK_AT (default 10), BLOCK_FOR (default 10); OBSERVERNET_BENCH_BINARY to
# run a given server binary instead of building build/release (scripts/lib.sh), for
# runs that compare an old and a new binary one after the other.
#
# Prints wrk's report, the responses completed in each second (counted by wrk as they
# arrive, bench/per_second.lua; the blocked seconds marked), the stalled seconds, and the
# server's log_lines_dropped_total. The rate limits are lifted as for every benchmark.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-30}
connections=${2:-100}
block_at=${BLOCK_AT:-10}
block_for=${BLOCK_FOR:-10}
for n in "$duration" "$connections" "$block_at" "$block_for"; do
  [[ $n =~ ^[0-9]+$ ]] || die "every argument and setting must be a whole number (got '$n')"
done
((block_at + block_for + 2 <= duration)) || die "the block must end 2 s before the run does"

reader_pid=
# shellcheck disable=SC2317  # only reached through the trap
cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  # A stopped reader would keep the server from writing its last lines and exiting.
  if [[ -n $reader_pid ]]; then kill -CONT "$reader_pid" 2>/dev/null || true; fi
  bench_server_stop
  if [[ -n $reader_pid ]]; then wait "$reader_pid" 2>/dev/null || true; fi
  exit "$rc"
}
bench_begin
on_exit cleanup

id=$(bench_open_election <<'JSON'
{"title": "Log benchmark", "contests": [{"id": "mayor", "title": "Mayor", "options": [
  {"id": "alice", "title": "Alice"}, {"id": "bob", "title": "Bob"}]}]}
JSON
)

# The server under test: a second one on the same services, its stdout and stderr a pipe
# read by `cat` into a file. The first (bench_begin's) idles.
fifo=$THROWAWAY_DIR/stdout.fifo
mkfifo -- "$fifo"
cat -- "$fifo" >"$THROWAWAY_DIR/server-blocked.log" &
reader_pid=$!
BENCH_OTHER_PORT=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT" "$BENCH_PORT")
_bench_launch "$BENCH_OTHER_PORT" "$fifo"
BENCH_OTHER_PIDS+=("$_BENCH_LAUNCHED")  # bench_server_stop stops it
url="http://127.0.0.1:$BENCH_OTHER_PORT"
dropped() {
  curl -s "$url/metrics" | awk '/^log_lines_dropped_total / { printf "%d", $2 }'
}
dropped_before=$(dropped)

bench_machine
echo
echo "== GET /api/v1/public/elections/{id}, $connections connections, ${duration}s;" \
  "the log's reader stopped from ${block_at}s for ${block_for}s"
(
  sleep "$block_at"
  date +%s >"$THROWAWAY_DIR/block-start"
  kill -STOP "$reader_pid"
  sleep "$block_for"
  kill -CONT "$reader_pid"
  date +%s >"$THROWAWAY_DIR/block-end"
) &
blocker_pid=$!
wrk --threads 1 --connections "$connections" --duration "${duration}s" --latency \
  -s "$ROOT/bench/per_second.lua" "$url/api/v1/public/elections/$id" >"$THROWAWAY_DIR/wrk.txt"
grep -v '^second ' "$THROWAWAY_DIR/wrk.txt"
wait "$blocker_pid"
dropped_after=$(dropped)

# The first and the last second are partial (wrk starting and stopping): left out.
block_start=$(<"$THROWAWAY_DIR/block-start")
block_end=$(<"$THROWAWAY_DIR/block-end")
echo
awk -v b0="$block_start" -v b1="$block_end" '$1 == "second" { t[++n] = $2; c[n] = $3 }
  END {
    stalled = 0; line = ""
    for (i = 2; i < n; i++) {
      line = line sprintf("%s%.1f ", (t[i] >= b0 && t[i] <= b1) ? "*" : "", c[i] / 1000)
      if (c[i] == 0) stalled++
      if (t[i] >= b0 && t[i] <= b1) { if (!bmin_set || c[i] < bmin) bmin = c[i]; bmin_set = 1 }
      else { if (!min_set || c[i] < min) min = c[i]; min_set = 1 }
    }
    print "responses per second, in thousands (* = the reader stopped): " line
    printf "slowest second: %d with the reader stopped, %d otherwise\n", bmin, min
    printf "stalled seconds (no response completed): %d\n", stalled
  }' "$THROWAWAY_DIR/wrk.txt"
echo "log lines dropped during the run: $((dropped_after - dropped_before))"
echo "log written by the server (after the reader resumed): $(wc -c <"$THROWAWAY_DIR/server-blocked.log") bytes"
