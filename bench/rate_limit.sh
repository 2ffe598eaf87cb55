#!/usr/bin/env bash
# Benchmark of the rate limiter's cost on the route where it weighs most: a
# cached public read, GET /api/v1/public/elections/{id}, which otherwise costs the
# server no Redis or PostgreSQL call at all. Two Release servers on the same services
# with the default configuration: one with the limiter on (limits lifted by config, as
# for every benchmark, so that it counts each request in Redis and refuses none; the
# one busy client then has up to ratelimit.lease_max requests counted ahead), one with
# ratelimit.enabled = false. wrk loads them in turn, on, off, on, off, and the
# script prints requests/s and latency of each run and the loss. Goal: under 15 %.
#
#   bench/rate_limit.sh [seconds-per-run] [connections]     (defaults 15 and 100)
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-15}
connections=${2:-100}
[[ $duration =~ ^[0-9]+$ && $connections =~ ^[0-9]+$ ]] || die "usage: $0 [seconds] [connections]"

bench_begin
bench_server_another OBSERVERNET_RATELIMIT_ENABLED=false

id=$(bench_open_election <<'JSON'
{"title": "Rate limiter benchmark", "contests": [
  {"id": "chair", "title": "Chair", "options": [
    {"id": "ana", "title": "Ana"}, {"id": "ben", "title": "Ben"}, {"id": "cleo", "title": "Cleo"}]}]}
JSON
)
path=/api/v1/public/elections/$id
echo "limiter on: port $BENCH_PORT; limiter off: port $BENCH_OTHER_PORT"
echo "fields on the limited server: $(curl -s -D - -o /dev/null "http://127.0.0.1:$BENCH_PORT$path" |
  grep -i '^ratelimit' | tr -d '\r' | paste -sd ' ')"
bench_machine

# CPU ticks so far of a process, and of the whole machine (busy, idle).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Script calls Redis has run so far.
redis_calls() {
  redis-cli -p "$THROWAWAY_REDIS_PORT" info commandstats |
    awk -F'[=,:]' '/^cmdstat_evalsha:/ { print $3; found = 1 } END { if (!found) print 0 }'
}
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
redis_pid=$(cat -- "$THROWAWAY_DIR/redis/redis.pid")
hz=$(getconf CLK_TCK)

declare -A total=([on]=0 [off]=0)
for round in 1 2; do
  for mode in on off; do
    port=$BENCH_PORT
    [[ $mode == off ]] && port=$BENCH_OTHER_PORT
    echo
    echo "== round $round, limiter $mode: GET $path, $connections connections, ${duration}s"
    pid=$BENCH_PID
    [[ $mode == off ]] && pid=${BENCH_OTHER_PIDS[0]}
    server_before=$(ticks "$pid")
    redis_before=$(ticks "$redis_pid")
    read -r busy_before idle_before < <(machine_ticks)
    calls_before=$(redis_calls)
    out=$(wrk --threads 1 --connections "$connections" --duration "${duration}s" --latency \
      "http://127.0.0.1:$port$path")
    server_after=$(ticks "$pid")
    redis_after=$(ticks "$redis_pid")
    read -r busy_after idle_after < <(machine_ticks)
    calls=$(($(redis_calls) - calls_before))
    echo "$out"
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    rate=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    # µs of CPU per request: the server, Redis, the rest (wrk, kernel), and idle.
    awk -v n="$requests" -v hz="$hz" -v s=$((server_after - server_before)) \
      -v r=$((redis_after - redis_before)) -v b=$((busy_after - busy_before)) \
      -v i=$((idle_after - idle_before)) 'BEGIN { u = 1e6 / hz / n
        printf "CPU per request: server %.1f µs, Redis %.1f µs, the rest %.1f µs; idle %.1f µs\n",
          s * u, r * u, (b - s - r) * u, i * u }'
    if ((calls > 0)); then echo "requests per Redis call: $((requests / calls))"; fi
    if grep -q 'Non-2xx' <<<"$out"; then die "the limiter $mode run had error answers"; fi
    total[$mode]=$((total[$mode] + rate))
  done
done
echo
echo "requests/s, mean of the rounds: limiter on $((total[on] / 2)), off $((total[off] / 2));" \
  "loss $(awk -v on="${total[on]}" -v off="${total[off]}" 'BEGIN { printf "%.1f %%", 100 * (off - on) / off }')"
grep -E '^rate_limit_(check_seconds_(sum|count)|fallback|factor|leased_total)|^rate_limited_total' \
  <(curl -s "http://127.0.0.1:$BENCH_PORT/metrics")
# A Redis reply later than ratelimit.redis_timeout_ms (5 ms; the two cores are saturated)
# moves that thread's limits in-process for a second; each such switch is logged.
echo "switches to in-process limits: $(grep -c 'rate_limit_fallback' "$BENCH_LOG" || true)"
