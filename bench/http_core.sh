#!/usr/bin/env bash
# Benchmark of the HTTP core: GET /livez (no I/O behind it) with wrk at 100 and
# 1,000 connections against the Release server with its default configuration
# (access log on, to a file), on a throw-away PostgreSQL and Redis.
# Numbers go in docs/benchmarks.md.
#
#   bench/http_core.sh [seconds-per-run]      (default 15)
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-15}
bench_begin

bench_machine
for connections in 100 1000; do
  echo
  echo "== GET /livez, $connections connections, ${duration}s"
  wrk --threads 2 --connections "$connections" --duration "${duration}s" --latency \
    "http://127.0.0.1:$BENCH_PORT/livez"
done
