#!/usr/bin/env bash
# Benchmark of the HTTP core: GET /livez (no I/O behind it) with wrk at 100 and
# 1,000 connections against the Release server with its default configuration,
# on a throw-away PostgreSQL and Redis. The server's access log goes to a file,
# as it would to a log collector. Numbers go in docs/benchmarks.md.
#
#   bench/http_core.sh [seconds-per-run]      (default 15)
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-15}
OBSERVERNET_PACKAGES+=(wrk)
ensure_packages
build "$ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DOBSERVERNET_TESTS=OFF

server_pid=
# shellcheck disable=SC2317  # only reached through the trap
cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" || true
  fi
  throwaway_services_remove
  exit "$rc"
}
on_exit cleanup

throwaway_services_start
port=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT")
OBSERVERNET_DATABASE_URL=$THROWAWAY_DATABASE_URL OBSERVERNET_REDIS_URL=$THROWAWAY_REDIS_URL \
  OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS=0 \
  "$ROOT/build/release/observernet" serve --port "$port" --migrate >"$THROWAWAY_DIR/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk and the server share them"
for connections in 100 1000; do
  echo
  echo "== GET /livez, $connections connections, ${duration}s"
  wrk --threads 2 --connections "$connections" --duration "${duration}s" --latency \
    "http://127.0.0.1:$port/livez"
done
