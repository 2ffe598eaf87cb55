#!/usr/bin/env bash
# Benchmark of the voter roll import: one POST /api/v1/elections/{id}/voters with
# N voters as text/csv (default 1,000,000, the per-election maximum) against the
# Release server with its default configuration. Goal: 1,000,000 voters in
# under 60 s. Prints the wall time of the request (hashing, COPY, insert, response).
#
#   bench/voter_import.sh [voters] [voting connections]
#
# With voting connections (default 0: none), the import goes into an open election while
# it and another open election take ballots (so that the writers' batches mix the two):
# for each, wrk with bench/submit.lua on that many keep-alive connections, each sending a
# ballot every BALLOT_DELAY_MS (default 20) after its last answer, for WRK_SECONDS
# (default 120; the import starts 5 s in). Goal: the import stops no ballot, of either
# election. Printed: wrk's answers, errors and latency per election over the whole run,
# and the ballots accepted in each second of the import (the slowest second, the mean)
# against the seconds before it. Tokens: TOKENS per election (default 100,000), signed
# directly with the election's key as in bench/ballot_submit.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

voters=${1:-1000000}
connections=${2:-0}
delay_ms=${BALLOT_DELAY_MS:-20}
wrk_seconds=${WRK_SECONDS:-120}
token_count=${TOKENS:-100000}
for n in "$voters" "$connections" "$delay_ms" "$wrk_seconds" "$token_count"; do
  [[ $n =~ ^[0-9]+$ ]] || die "every argument and setting must be a whole number (got '$n')"
done
if ((connections > 0)); then BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON); fi
bench_begin
url=http://127.0.0.1:$BENCH_PORT

if ((connections > 0)); then
  # Imported into while open, as a roll is completed during an election; both elections
  # take ballots, so that the writers' batches mix them.
  id=$(bench_open_election <"$ROOT/bench/ballot_election.json")
  other=$(bench_open_election <"$ROOT/bench/ballot_election.json")
  for election in "$id" "$other"; do
    bench_direct_tokens "$election" "$token_count" "$THROWAWAY_DIR/tokens-$election.txt"
  done
  sync
else
  id=$(bench_create_election <<<'{"title": "Import benchmark", "contests": [{"id": "q", "title": "Q", "options": [{"id": "yes", "title": "Yes"}]}]}')
fi

# The open election has its one voter already: the roll stays within the maximum.
imported=$((connections > 0 ? voters - 1 : voters))
csv=$THROWAWAY_DIR/voters.csv
{
  echo voterId
  seq -f 'member-%08.0f@example.org' 1 "$imported"
} >"$csv"
echo "roll: $imported voters, $(wc -c <"$csv") bytes of CSV"
bench_machine

wrk_pids=()
sampler_pid=
if ((connections > 0)); then
  echo "ballots: $connections connections to each election, one ballot each every" \
    "$delay_ms ms after its answer, for $wrk_seconds s"
  for election in "$id" "$other"; do
    TOKENS=$THROWAWAY_DIR/tokens-$election.txt ELECTION=$election WRK_THREADS=1 \
      DELAY_MS=$delay_ms wrk --threads 1 --connections "$connections" \
      --duration "${wrk_seconds}s" --latency -s "$ROOT/bench/submit.lua" "$url" \
      >"$THROWAWAY_DIR/wrk-$election.txt" 2>&1 &
    wrk_pids+=($!)
  done
  # The ballots accepted so far, about every second: time and count.
  while sleep 1; do
    curl -s "$url/metrics" | awk -v t="$(date +%s.%N)" \
      '/^vote_submissions_total\{result="accepted"\} / { a = $2 } END { print t, a + 0 }'
  done >"$THROWAWAY_DIR/accepted.txt" &
  sampler_pid=$!
  sleep 5
fi

start=$(date +%s.%N)
status=$(bench_admin POST "/api/v1/elections/$id/voters" -H 'Content-Type: text/csv' \
  --data-binary "@$csv" -o "$THROWAWAY_DIR/response.json" -w '%{http_code}')
end=$(date +%s.%N)
echo "HTTP $status, $(wc -c <"$THROWAWAY_DIR/response.json") bytes of response"
head -c 120 "$THROWAWAY_DIR/response.json"
echo
awk -v s="$start" -v e="$end" -v n="$imported" \
  'BEGIN { printf "import: %.1f s for %d voters (%.0f voters/s)\n", e - s, n, n / (e - s) }'
[[ $status == 201 ]] || die "the import failed"

if ((connections > 0)); then
  wait "${wrk_pids[@]}" || die "wrk failed: $(cat "$THROWAWAY_DIR"/wrk-*.txt)"
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  for election in "$id" "$other"; do
    echo
    if [[ $election == "$id" ]]; then
      echo "== Ballots in the election imported into"
    else
      echo "== Ballots in the other election"
    fi
    sed -n '/^answers:/,$p' "$THROWAWAY_DIR/wrk-$election.txt"
  done
  echo
  echo "== Both elections' accepted ballots, sampled every second"
  # Per second between samples: before the import (from the 2nd sample), and during it.
  awk -v s="$start" -v e="$end" '
    NR > 1 && $1 > t0 + 0.5 {
      rate = ($2 - a0) / ($1 - t0)
      if (t0 >= s && $1 <= e + 1) { n++; sum += rate; if (n == 1 || rate < low) low = rate }
      else if ($1 < s && NR > 2) { bn++; bsum += rate }
    }
    { t0 = $1; a0 = $2 }
    END {
      if (bn) printf "before the import: %.0f ballots/s\n", bsum / bn
      if (n) printf "during the import: %.0f ballots/s on average, %.0f in its slowest second (%d seconds)\n", sum / n, low, n
      else print "during the import: no whole second sampled"
    }' "$THROWAWAY_DIR/accepted.txt"
  last=$(awk 'END { print $1 }' "$THROWAWAY_DIR/accepted.txt")
  if awk -v l="$last" -v e="$end" 'BEGIN { exit !(l < e) }'; then
    warn "the ballots ended before the import: raise WRK_SECONDS"
  fi
fi
