#!/usr/bin/env bash
# Benchmark of the voter roll import: one POST /api/v1/elections/{id}/voters with
# N voters as text/csv (default 1,000,000, the per-election maximum) against the
# Release server with its default configuration. Goal: 1,000,000 voters in
# under 60 s. Prints the wall time of the request (hashing, COPY, insert, response).
#
#   bench/voter_import.sh [voters]
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

voters=${1:-1000000}
bench_begin

election=$(bench_admin POST /api/v1/elections -H 'Content-Type: application/json' \
  --data-binary '{"title": "Import benchmark", "contests": [{"id": "q", "title": "Q", "options": [{"id": "yes", "title": "Yes"}]}]}')
id=$(sed -E 's/.*"id":"([0-9a-f-]{36})".*/\1/' <<<"$election")

csv=$THROWAWAY_DIR/voters.csv
{
  echo voterId
  seq -f 'member-%08.0f@example.org' 1 "$voters"
} >"$csv"
echo "roll: $voters voters, $(wc -c <"$csv") bytes of CSV"
bench_machine

start=$(date +%s.%N)
status=$(bench_admin POST "/api/v1/elections/$id/voters" -H 'Content-Type: text/csv' \
  --data-binary "@$csv" -o "$THROWAWAY_DIR/response.json" -w '%{http_code}')
end=$(date +%s.%N)
echo "HTTP $status, $(wc -c <"$THROWAWAY_DIR/response.json") bytes of response"
head -c 120 "$THROWAWAY_DIR/response.json"
echo
awk -v s="$start" -v e="$end" -v n="$voters" \
  'BEGIN { printf "import: %.1f s for %d voters (%.0f voters/s)\n", e - s, n, n / (e - s) }'
[[ $status == 201 ]] || die "the import failed"
