#!/usr/bin/env bash
# Benchmark of ballot submission (issue 4): POST /api/v1/voting/submit with real tokens
# over keep-alive connections, against the Release server with its default configuration
# (access log on, to a file; PostgreSQL durable; group commit as configured by default).
# Goal: 10,000 accepted ballots/s for 60 s at 1,000 connections, no errors, p99 under
# 200 ms, load generator on the same 2 cores. Numbers go in docs/benchmarks.md.
#
#   bench/ballot_submit.sh [seconds] [connections]      (defaults 60 and 1000)
#
# Steps: an election with two contests; VOTERS voters imported as CSV (default
# seconds × 12,000, so that tokens outlast 10,000 ballots/s); opened; one token minted
# per voter through the API by bench_tokens (tokens/s printed next to `openssl speed
# rsa2048`, since each token is one RSA signature); then wrk with bench/submit.lua, one
# token per ballot. Afterwards: the server's voting metrics, and ballotsCast checked
# against the 201s. Last, if perf works here, a profile of the whole machine during an
# extra run of PROFILE_SECONDS + 4 s (perf skips its first and last 2 s), with the
# tokens the main run left and (PROFILE_SECONDS + 4) × 12,000 more minted for it.
#
# Environment: VOTERS, TOKEN_THREADS (bench_tokens threads, default 32), WRK_THREADS
# (default 1: one wrk thread leaves the server more of the cores), PROFILE_SECONDS
# (default 5; 0 skips the profile and its tokens).
#
# No limit is lifted: the server has no rate limiting yet, 1,000 connections are within
# http.max_connections (10,000), and at most one ballot per connection is in flight,
# far below ballots.queue_depth (20,000) and crypto.queue_depth (10,000).
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-60}
connections=${2:-1000}
voters=${VOTERS:-$((duration * 12000))}
profile_seconds=${PROFILE_SECONDS:-5}
token_threads=${TOKEN_THREADS:-32}
wrk_threads=${WRK_THREADS:-1}
for n in "$duration" "$connections" "$voters" "$profile_seconds" "$token_threads" "$wrk_threads"; do
  [[ $n =~ ^[0-9]+$ ]] || die "every argument and setting must be a whole number (got '$n')"
done

# perf_event_paranoid and containers decide this.
if ((profile_seconds > 0)) && ! perf record -q -o /dev/null -- true >/dev/null 2>&1; then
  warn "perf does not work here; no profile run"
  profile_seconds=0
fi
profile_voters=0
if ((profile_seconds > 0)); then profile_voters=$(((profile_seconds + 4) * 12000)); fi

BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON)
bench_begin
url=http://127.0.0.1:$BENCH_PORT

# Two contests, so that ballots differ in size and in how many selections they check.
election=$(bench_admin POST /api/v1/elections -H 'Content-Type: application/json' --data-binary @- <<'JSON'
{"title": "Ballot submission benchmark", "contests": [
  {"id": "mayor", "title": "Mayor", "options": [
    {"id": "alice", "title": "Alice"}, {"id": "bob", "title": "Bob"}, {"id": "carol", "title": "Carol"}]},
  {"id": "council", "title": "Council", "minSelections": 0, "maxSelections": 2, "options": [
    {"id": "dora", "title": "Dora"}, {"id": "emil", "title": "Emil"},
    {"id": "faye", "title": "Faye"}, {"id": "gus", "title": "Gus"}]}]}
JSON
)
id=$(sed -E 's/.*"id":"([0-9a-f-]{36})".*/\1/' <<<"$election")
[[ $id =~ ^[0-9a-f-]{36}$ ]] || die "creating the election failed: $election"

{
  echo voterId
  seq -f 'voter-%08.0f' 1 "$((voters + profile_voters))"
} >"$THROWAWAY_DIR/voters.csv"
status=$(bench_admin POST "/api/v1/elections/$id/voters" -H 'Content-Type: text/csv' \
  --data-binary "@$THROWAWAY_DIR/voters.csv" -o "$THROWAWAY_DIR/credentials.json" -w '%{http_code}')
[[ $status == 201 ]] || die "the voter import answered $status"
bench_admin POST "/api/v1/elections/$id/open" >/dev/null
echo "election $id: $((voters + profile_voters)) voters ($voters for the run, $profile_voters more for the profile)"

bench_machine
echo
echo "== RSA-2048 signing on this machine (one core, then both)"
openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E '^ *(sign|rsa)'
openssl speed -seconds 3 -multi 2 rsa2048 2>/dev/null | grep -E '^ *(sign|rsa)'

echo
echo "== Tokens: POST /api/v1/voting/token for each voter, $token_threads client threads"
"$ROOT/build/release/bench_tokens" --url "$url" --election "$id" \
  --credentials "$THROWAWAY_DIR/credentials.json" --threads "$token_threads" \
  --out "$THROWAWAY_DIR/tokens.txt"
kill -0 "$BENCH_PID" 2>/dev/null || die "the server stopped while tokens were minted"
rm -f -- "$THROWAWAY_DIR/credentials.json"
tokens=$THROWAWAY_DIR/tokens.txt

# submit_ballots <token-lines-to-skip> <seconds>: one wrk run; its report goes to stdout.
submit_ballots() {
  TOKENS=$tokens SKIP=$1 ELECTION=$id WRK_THREADS=$wrk_threads \
    wrk --threads "$wrk_threads" --connections "$connections" --duration "$2s" --latency \
    -s "$ROOT/bench/submit.lua" "$url"
}

# Prometheus text lines of the named metrics.
metric_lines() {
  curl -s "$url/metrics" | grep -E "^($(
    IFS='|'
    echo "$*"
  ))[{ ]" || true
}

# The sequencer must keep up (issue 5): its backlog and lag, sampled every second.
sample_sequencer() {
  while sleep 1; do
    curl -s "$url/metrics" | awk '/^ballots_pending_sequencing / { p = $2 }
      /^sequencing_lag_seconds / { l = $2 } END { print p, l }'
  done
}

echo
echo "== POST /api/v1/voting/submit, $connections connections, ${duration}s, $wrk_threads wrk thread(s)"
sample_sequencer >"$THROWAWAY_DIR/sequencer.txt" &
sampler_pid=$!
submit_ballots 0 "$duration" | tee "$THROWAWAY_DIR/wrk.txt"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
awk 'NF == 2 { if ($1 > p) p = $1; if ($2 > l) l = $2; n++ }
     END { printf "sequencer during the run (%d samples): ballots waiting at most %d, lag at most %.2f s\n", n, p, l }' \
  "$THROWAWAY_DIR/sequencer.txt"
# Answers still in flight when wrk stopped are committed, and counted below, but wrk
# never saw their 201.
sleep 2

echo
echo "== Server metrics after the run"
metric_lines vote_submissions_total ballot_queue_depth ballot_queue_rejected_total \
  ballots_pending_sequencing ballots_sequenced_total sequencing_lag_seconds \
  ballot_batch_size_sum ballot_batch_size_count ballot_batch_seconds_sum \
  ballot_batch_seconds_count vote_processing_seconds_bucket vote_processing_seconds_sum \
  vote_processing_seconds_count
metric_lines ballot_batch_size_sum ballot_batch_size_count ballot_batch_seconds_sum |
  awk '{ v[$1] = $2 }
       END { if (v["ballot_batch_size_count"] > 0)
               printf "mean batch: %.1f ballots, %.1f ms per batch commit\n",
                 v["ballot_batch_size_sum"] / v["ballot_batch_size_count"],
                 1000 * v["ballot_batch_seconds_sum"] / v["ballot_batch_size_count"] }'
stats=$(bench_admin GET "/api/v1/elections/$id/stats")
echo "stats: $stats"
cast=$(sed -E 's/.*"ballotsCast":([0-9]+).*/\1/' <<<"$stats")
seen=$(sed -nE 's/^statuses:.* 201: ([0-9]+).*/\1/p' "$THROWAWAY_DIR/wrk.txt")
accepted=$(metric_lines vote_submissions_total | sed -nE 's/.*result="accepted"\} ([0-9.e+]+)$/\1/p')
echo "ballotsCast $cast; server answers 'accepted' ${accepted:-0}; 201s seen by wrk ${seen:-0}" \
  "(the difference: answers in flight when wrk stopped)"
if [[ $cast != "$(awk -v a="${accepted:-0}" 'BEGIN { printf "%d", a }')" ]]; then
  warn "ballotsCast differs from the server's count of accepted ballots"
fi

used=$(sed -nE 's/^token lines used: ([0-9]+)$/\1/p' "$THROWAWAY_DIR/wrk.txt")
if ((profile_seconds > 0)) && ((${used:-0} >= $(wc -l <"$tokens"))); then
  warn "the run used every token; no profile run (raise VOTERS)"
elif ((profile_seconds > 0)); then
  echo
  echo "== Profile: the whole machine during an extra ${profile_seconds}s run with unused tokens"
  submit_ballots "$used" "$((profile_seconds + 4))" >"$THROWAWAY_DIR/wrk-profile.txt" &
  wrk_pid=$!
  # Past wrk's connection storm at the start.
  sleep 2
  perf record -q -a -g -o "$THROWAWAY_DIR/perf.data" -- sleep "$profile_seconds" 2>/dev/null
  wait "$wrk_pid"
  grep -E '^(statuses|accepted|latency|TOKENS)' "$THROWAWAY_DIR/wrk-profile.txt"
  # `sed -n`, not head: head would stop reading, and under pipefail perf's SIGPIPE
  # would end the script.
  echo "-- CPU by process (the whole machine)"
  perf report -i "$THROWAWAY_DIR/perf.data" --no-children --sort comm --stdio -g none \
    2>/dev/null | grep -vE '^(#|$)' | sed -n 1,12p
  perf report -i "$THROWAWAY_DIR/perf.data" --no-children --pid "$BENCH_PID" \
    --percentage relative --sort dso,sym --stdio -g none 2>/dev/null |
    grep -vE '^(#|$)' >"$THROWAWAY_DIR/perf-server.txt" || true
  # Summed here: perf 6.1's own `--sort dso` of a system-wide recording leaves libc and
  # the kernel out.
  echo "-- the server by library (share of the server's samples)"
  awk '{ sub("%", "", $1); share[$2] += $1 }
       END { for (dso in share) printf "%8.2f%%  %s\n", share[dso], dso }' \
    "$THROWAWAY_DIR/perf-server.txt" | sort -rn | sed -n 1,10p
  echo "-- the server by library and symbol"
  cut -c1-160 "$THROWAWAY_DIR/perf-server.txt" | sed -n 1,40p
fi
