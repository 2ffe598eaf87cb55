#!/usr/bin/env bash
# Benchmark of the hottest route of the observer portal: a cached public read,
# GET /api/v1/public/elections/{id} of an open election, with wrk at 100 and 1,000
# connections against the Release server with its default configuration (access log
# on, to a file; caches as configured by default). Goal: at least 50,000
# requests/s with p99 under 10 ms at 100 connections. Numbers go in
# docs/benchmarks.md.
#
#   bench/public_read.sh [seconds-per-run]      (default 15)
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-15}
bench_begin

# A realistic ballot: three contests, a dozen options.
id=$(bench_open_election <<'JSON'
{"title": "Union executive election 2026", "description": "Three contests, secret ballot.",
 "contests": [
  {"id": "president", "title": "President", "options": [
    {"id": "a-okafor", "title": "Adaeze Okafor"}, {"id": "b-lindqvist", "title": "Björn Lindqvist"},
    {"id": "c-moreau", "title": "Camille Moreau"}]},
  {"id": "treasurer", "title": "Treasurer", "options": [
    {"id": "d-tanaka", "title": "Daichi Tanaka"}, {"id": "e-silva", "title": "Eduarda Silva"}]},
  {"id": "council", "title": "Council", "minSelections": 0, "maxSelections": 4, "options": [
    {"id": "f-nowak", "title": "Filip Nowak"}, {"id": "g-haddad", "title": "Ghada Haddad"},
    {"id": "h-brennan", "title": "Hugh Brennan"}, {"id": "i-petrova", "title": "Irina Petrova"},
    {"id": "j-mensah", "title": "Joseph Mensah"}, {"id": "k-dubois", "title": "Karine Dubois"},
    {"id": "l-kowalski", "title": "Lena Kowalski"}]}]}
JSON
)
url="http://127.0.0.1:$BENCH_PORT/api/v1/public/elections/$id"
echo "body: $(curl -s "$url" | wc -c) bytes"

bench_machine
for connections in 100 1000; do
  echo
  echo "== GET /api/v1/public/elections/{id}, $connections connections, ${duration}s"
  # One wrk thread drives this load easily and leaves the server more of the cores.
  wrk --threads 1 --connections "$connections" --duration "${duration}s" --latency "$url"
done
echo
grep -o 'cache_lookups_total{[^}]*} [0-9.e+]*' <(curl -s "http://127.0.0.1:$BENCH_PORT/metrics")
