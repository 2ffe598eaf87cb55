#!/usr/bin/env bash
# Benchmark of ballot submission: POST /api/v1/voting/submit with real tokens
# over keep-alive connections, against the Release server with its default configuration
# (access log on, to a file; PostgreSQL durable; group commit as configured by default).
# Goal: 10,000 accepted ballots/s for 60 s at 1,000 connections, no errors, p99 under
# 200 ms, load generator on the same 2 cores. Numbers go in docs/benchmarks.md.
#
#   bench/ballot_submit.sh [seconds] [connections]      (defaults 60 and 1000)
#
# Steps: an election with two contests; API_TOKENS voters imported as CSV and opened;
# one token minted per voter through the API by bench_tokens (tokens/s printed next to
# `openssl speed rsa2048`, since each token is one RSA signature); the rest of the run's
# TOKENS (default seconds × 15,000, so that tokens outlast 10,000 ballots/s) minted by
# bench_tokens --direct, the admin-only fast path (the election's key, unsealed with the
# master key, signs each token as a blind signature finalizes: genuinely valid, and
# minutes faster than 675 tokens/s through the API); then wrk with bench/submit.lua, one
# token per ballot, the API's tokens first. Afterwards: the server's voting metrics, and
# ballotsCast checked against the 201s. Last, if perf works here, a profile of the whole
# machine during an extra run of PROFILE_SECONDS + 4 s (perf skips its first and last
# 2 s), with (PROFILE_SECONDS + 4) × 15,000 more tokens.
#
# Environment: TOKENS, API_TOKENS (default 60,000, at most TOKENS; 0 mints every token
# directly), TOKEN_THREADS (bench_tokens threads through the API, default 32),
# WRK_THREADS (default 1: one wrk thread leaves the server more of the cores),
# PROFILE_SECONDS (default 5; 0 skips the profile and its tokens), PG_STATEMENTS=1 (loads
# pg_stat_statements and prints where PostgreSQL's time went during the run), and SERVER_ENV:
# VAR=value settings for the server, space-separated (e.g.
# SERVER_ENV="OBSERVERNET_BALLOTS_WRITERS=1"), to compare configurations; BENCH_PGBOUNCER=1
# puts PgBouncer between the server and PostgreSQL (scripts/lib.sh, bench_server_start).
#
# Limits: the API's rate limits (docs/api/README.md) are lifted by config as for every benchmark
# (BENCH_RATE_LIMITS_LIFTED in scripts/lib.sh: the limiter checks each request in Redis
# and refuses none); 1,000 connections are within http.max_connections (10,000), and at
# most one ballot per connection is in flight, far below ballots.queue_depth (20,000)
# and crypto.queue_depth (10,000).
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration=${1:-60}
connections=${2:-1000}
run_tokens=${TOKENS:-$((duration * 15000))}
api_tokens=${API_TOKENS:-60000}
profile_seconds=${PROFILE_SECONDS:-5}
token_threads=${TOKEN_THREADS:-32}
wrk_threads=${WRK_THREADS:-1}
for n in "$duration" "$connections" "$run_tokens" "$api_tokens" "$profile_seconds" \
  "$token_threads" "$wrk_threads"; do
  [[ $n =~ ^[0-9]+$ ]] || die "every argument and setting must be a whole number (got '$n')"
done

# perf_event_paranoid and containers decide this.
if ((profile_seconds > 0)) && ! perf record -q -o /dev/null -- true >/dev/null 2>&1; then
  warn "perf does not work here; no profile run"
  profile_seconds=0
fi
if ((api_tokens > run_tokens)); then api_tokens=$run_tokens; fi
profile_tokens=0
if ((profile_seconds > 0)); then profile_tokens=$(((profile_seconds + 4) * 15000)); fi
direct_tokens=$((run_tokens - api_tokens + profile_tokens))
read -r -a server_env <<<"${SERVER_ENV:-}"

BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON)
pg_statements=${PG_STATEMENTS:-0}
if ((pg_statements)); then
  export OBSERVERNET_PG_SETTINGS="${OBSERVERNET_PG_SETTINGS:+$OBSERVERNET_PG_SETTINGS;}shared_preload_libraries = 'pg_stat_statements'"
fi
bench_begin "${server_env[@]}"
# As the cluster's superuser: the extension is not one a database owner may create.
pg_superuser_sql() {
  as_pg_user "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$THROWAWAY_PG_DIR" \
    -p "$THROWAWAY_PG_PORT" -U "$(pg_os_user)" -d "$PG_APP_DB" "$@"
}
if ((pg_statements)); then pg_superuser_sql -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'; fi
url=http://127.0.0.1:$BENCH_PORT

# Two contests, so that ballots differ in size and in how many selections they check.
id=$(bench_create_election <"$ROOT/bench/ballot_election.json")

echo "election $id: $api_tokens tokens through the API, $direct_tokens signed directly" \
  "($((run_tokens - api_tokens)) for the run, $profile_tokens for the profile)"
bench_machine
tokens=$THROWAWAY_DIR/tokens.txt
: >"$tokens"
# An election opens only with voters: one at least, even when no token goes through the API.
{
  echo voterId
  seq -f 'voter-%08.0f' 1 "$((api_tokens > 0 ? api_tokens : 1))"
} >"$THROWAWAY_DIR/voters.csv"
bench_roll_and_open "$id" "$THROWAWAY_DIR/voters.csv" "$THROWAWAY_DIR/credentials.json"

# Prometheus text lines of the named metrics.
metric_lines() {
  curl -s "$url/metrics" | grep -E "^($(
    IFS='|'
    echo "$*"
  ))[{ ]" || true
}

# mean_batch <metric prefix> <what>: a group commit's mean batch so far.
mean_batch() {
  metric_lines "$1_batch_size_sum" "$1_batch_size_count" "$1_batch_seconds_sum" |
    awk -v p="$1" -v what="$2" '{ v[$1] = $2 }
      END { if (v[p "_batch_size_count"] > 0)
              printf "mean batch: %.1f %s, %.1f ms per batch commit\n",
                v[p "_batch_size_sum"] / v[p "_batch_size_count"], what,
                1000 * v[p "_batch_seconds_sum"] / v[p "_batch_size_count"] }'
}

if ((api_tokens > 0)); then
  echo
  echo "== RSA-2048 signing on this machine (one core, then both)"
  openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E '^ *(sign|rsa)' | tee "$THROWAWAY_DIR/rsa.txt"
  openssl speed -seconds 3 -multi 2 rsa2048 2>/dev/null | grep -E '^ *(sign|rsa)'
  # Seconds per signature on one core: the goal per token is twice that.
  rsa_sign=$(awk '$1 == "rsa" && $2 == 2048 { sub(/s$/, "", $4); print $4 }' "$THROWAWAY_DIR/rsa.txt")

  echo
  echo "== Tokens: POST /api/v1/voting/token for each voter, $token_threads client threads"
  read -r server_before pg_before busy_before idle_before steal_before < <(bench_cpu_ticks)
  "$BENCH_TOOLS/bench_tokens" --url "$url" --election "$id" \
    --credentials "$THROWAWAY_DIR/credentials.json" --threads "$token_threads" \
    --out "$THROWAWAY_DIR/api-tokens.txt"
  read -r server_after pg_after busy_after idle_after steal_after < <(bench_cpu_ticks)
  # The client's blinding and finalizing run on voters' devices in an election: apart.
  awk -v hz="$(getconf CLK_TCK)" -v n="$api_tokens" -v rsa="${rsa_sign:-0}" \
    -v s=$((server_after - server_before)) -v p=$((pg_after - pg_before)) \
    -v b=$((busy_after - busy_before)) -v i=$((idle_after - idle_before)) \
    'BEGIN { f = 1e6 / hz / n
             printf "CPU per token: server %.0f µs + PostgreSQL %.0f µs = %.0f µs; goal at most %.0f µs (twice one RSA-2048 signature, %.0f µs); client (bench_tokens) and kernel %.0f µs; idle %.0f µs\n",
               s * f, p * f, (s + p) * f, 2e6 * rsa, 1e6 * rsa, (b - s - p) * f, i * f }'
  mean_batch token issuances
  kill -0 "$BENCH_PID" 2>/dev/null || die "the server stopped while tokens were minted"
  rm -f -- "$THROWAWAY_DIR/credentials.json"
  cat -- "$THROWAWAY_DIR/api-tokens.txt" >>"$tokens"
fi
if ((direct_tokens > 0)); then
  echo
  echo "== Tokens: $direct_tokens signed directly with the election's key (admin-only fast path)"
  bench_direct_tokens "$id" "$direct_tokens" "$THROWAWAY_DIR/direct-tokens.txt"
  cat -- "$THROWAWAY_DIR/direct-tokens.txt" >>"$tokens"
  rm -f -- "$THROWAWAY_DIR/direct-tokens.txt"
fi
rm -f -- "$THROWAWAY_DIR/api-tokens.txt"
# The token file is hundreds of MB, dirty in the page cache: written back now, and not by
# the kernel's flusher 30 s into the run, where PostgreSQL's WAL fsyncs would queue behind
# it (a 630 MB burst took a second of the run down to 5,100 ballots/s).
sync

# submit_ballots <token-lines-to-skip> <seconds>: one wrk run; its report goes to stdout.
submit_ballots() {
  TOKENS=$tokens SKIP=$1 ELECTION=$id WRK_THREADS=$wrk_threads \
    wrk --threads "$wrk_threads" --connections "$connections" --duration "$2s" --latency \
    -s "$ROOT/bench/submit.lua" "$url"
}

# Sampled about every second during the run: the accepted ballots (whether the rate is
# sustained, and which seconds were slow) and the sequencer, which must keep up:
# its backlog and lag. One line each: time, accepted so far, waiting, lag, and the sums of
# batch commit seconds and of batches, for each second's mean commit time.
sample_run() {
  while sleep 1; do
    curl -s "$url/metrics" | awk -v t="$(date +%s.%N)" '
      /^vote_submissions_total\{result="accepted"\} / { a = $2 }
      /^ballots_pending_sequencing / { p = $2 }
      /^sequencing_lag_seconds / { l = $2 }
      /^ballot_batch_seconds_sum / { bs = $2 }
      /^ballot_batch_seconds_count / { bc = $2 }
      END { print t, a + 0, p + 0, l + 0, bs + 0, bc + 0 }'
  done
}

echo
echo "== POST /api/v1/voting/submit, $connections connections, ${duration}s, $wrk_threads wrk thread(s)"
# PostgreSQL's WAL, checkpoints, autovacuums and autoanalyzes so far.
pg_io() {
  throwaway_psql -F ' ' -c "SELECT wal_bytes, checkpoints_timed + checkpoints_req,
    (SELECT sum(autovacuum_count) FROM pg_stat_user_tables), (SELECT sum(autoanalyze_count) FROM pg_stat_user_tables)
    FROM pg_stat_wal, pg_stat_bgwriter"
}
if ((pg_statements)); then pg_superuser_sql -c 'SELECT pg_stat_statements_reset()' >/dev/null; fi
read -r wal_before checkpoints_before vacuums_before analyzes_before < <(pg_io)
read -r server_before pg_before busy_before idle_before steal_before < <(bench_cpu_ticks)
sample_run >"$THROWAWAY_DIR/samples.txt" &
sampler_pid=$!
submit_ballots 0 "$duration" | tee "$THROWAWAY_DIR/wrk.txt"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
awk 'NF == 6 { if ($3 > p) p = $3; if ($4 > l) l = $4; n++ }
     END { printf "sequencer during the run (%d samples): ballots waiting at most %d, lag at most %.2f s\n", n, p, l }' \
  "$THROWAWAY_DIR/samples.txt"
read -r server_after pg_after busy_after idle_after steal_after < <(bench_cpu_ticks)
accepted_in_run=$(curl -s "$url/metrics" |
  awk '/^vote_submissions_total\{result="accepted"\} / { a = $2 } END { printf "%d", a }')
read -r wal_after checkpoints_after vacuums_after analyzes_after < <(pg_io)
if ((accepted_in_run > 0)); then
  awk -v hz="$(getconf CLK_TCK)" -v n="$accepted_in_run" \
    -v s=$((server_after - server_before)) -v p=$((pg_after - pg_before)) \
    -v b=$((busy_after - busy_before)) -v i=$((idle_after - idle_before)) \
    -v st=$((steal_after - steal_before)) \
    'BEGIN { f = 1e6 / hz / n
             printf "CPU per accepted ballot: server %.0f µs, PostgreSQL %.0f µs, everything else (wrk, kernel) %.0f µs; idle %.0f µs, stolen by the hypervisor %.0f µs\n",
               s * f, p * f, (b - s - p) * f, i * f, st * f }'
fi
echo "PostgreSQL during the run: $(((wal_after - wal_before) / 1048576)) MiB of WAL," \
  "$((checkpoints_after - checkpoints_before)) checkpoint(s) started," \
  "$((vacuums_after - vacuums_before)) autovacuum(s) and $((analyzes_after - analyzes_before)) autoanalyze(s) of our tables"
# Each interval between samples while wrk ran: ballots accepted per second, and the mean
# commit of its batches in ms (a sample after wrk stopped shows no new ballots; the
# first interval holds the connection storm).
awk 'NF == 6 { if (n > 0 && $2 > a) printf "%.0f %.1f\n", ($2 - a) / ($1 - t), ($6 > c ? 1000 * ($5 - s) / ($6 - c) : 0)
               t = $1; a = $2; s = $5; c = $6; n++ }' "$THROWAWAY_DIR/samples.txt" >"$THROWAWAY_DIR/rates.txt"
if [[ -s $THROWAWAY_DIR/rates.txt ]]; then
  sort -n "$THROWAWAY_DIR/rates.txt" | awk '{ s[NR] = $1 }
    END { printf "accepted per second (%d intervals): min %d, median %d, max %d\n", NR, s[1], s[int((NR + 1) / 2)], s[NR] }'
  echo "  in thousands, in order: $(awk '{ printf "%.1f ", $1 / 1000 }' "$THROWAWAY_DIR/rates.txt")"
  echo "  mean batch commit, ms:  $(awk '{ printf "%.0f ", $2 }' "$THROWAWAY_DIR/rates.txt")"
fi
# Answers still in flight when wrk stopped are committed, and counted below, but wrk
# never saw their 201.
sleep 2
if ((pg_statements)); then
  echo "-- PostgreSQL statements during the run, by total time (µs per accepted ballot)"
  pg_superuser_sql -F ' | ' -c "SELECT round(total_exec_time * 1000 / greatest($accepted_in_run, 1)),
      calls, round(mean_exec_time::numeric, 3) || ' ms', rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
  # Whether the ballots' pages stay in shared_buffers: blocks found there (hit) and
  # read from the operating system (read), table and each index, since PostgreSQL started.
  echo "-- blocks of the ballot tables and their indexes: hit in shared_buffers / read from the OS"
  pg_superuser_sql -F ' | ' -c "SELECT relname, heap_blks_hit, heap_blks_read FROM pg_statio_user_tables
      WHERE relname LIKE 'ballots%' UNION ALL SELECT indexrelname, idx_blks_hit, idx_blks_read
      FROM pg_statio_user_indexes WHERE relname LIKE 'ballots%' ORDER BY 1"
fi

echo
echo "== Server metrics after the run"
metric_lines vote_submissions_total ballot_queue_depth ballot_queue_rejected_total \
  ballots_pending_sequencing ballots_sequenced_total sequencing_lag_seconds \
  ballot_batch_size_sum ballot_batch_size_count ballot_batch_seconds_sum \
  ballot_batch_seconds_count ballot_batch_seconds_bucket vote_processing_seconds_bucket vote_processing_seconds_sum \
  vote_processing_seconds_count
echo "-- every status the server answered on the submit route"
metric_lines http_requests_total | grep -F 'route="/api/v1/voting/submit"' || true
mean_batch ballot ballots
stats=$(bench_admin GET "/api/v1/elections/$id/stats")
echo "stats: $stats"
cast=$(sed -E 's/.*"ballotsCast":([0-9]+).*/\1/' <<<"$stats")
seen=$(sed -nE 's/^accepted \(201\): ([0-9]+) .*/\1/p' "$THROWAWAY_DIR/wrk.txt")
accepted=$(metric_lines vote_submissions_total | sed -nE 's/.*result="accepted"\} ([0-9.e+]+)$/\1/p')
echo "ballotsCast $cast; server answers 'accepted' ${accepted:-0}; 201s seen by wrk ${seen:-0}" \
  "(the difference: answers in flight when wrk stopped)"
if [[ $cast != "$(awk -v a="${accepted:-0}" 'BEGIN { printf "%d", a }')" ]]; then
  warn "ballotsCast differs from the server's count of accepted ballots"
fi

used=$(sed -nE 's/^token lines used: ([0-9]+)$/\1/p' "$THROWAWAY_DIR/wrk.txt")
if ((profile_seconds > 0)) && ((${used:-0} >= $(wc -l <"$tokens"))); then
  warn "the run used every token; no profile run (raise TOKENS)"
elif ((profile_seconds > 0)); then
  echo
  echo "== Profile: the whole machine during an extra ${profile_seconds}s run with unused tokens"
  submit_ballots "$used" "$((profile_seconds + 4))" >"$THROWAWAY_DIR/wrk-profile.txt" &
  wrk_pid=$!
  # Past wrk's connection storm at the start.
  sleep 2
  perf record -q -a -g -o "$THROWAWAY_DIR/perf.data" -- sleep "$profile_seconds" 2>/dev/null
  wait "$wrk_pid"
  grep -E '^(answers|accepted|latency|TOKENS)' "$THROWAWAY_DIR/wrk-profile.txt"
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
