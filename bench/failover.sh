#!/usr/bin/env bash
# The primary failover drill (docs/operations.md, Failover). Ballots under load on a
# durable PostgreSQL primary with one streaming replica; a third of the way into the run
# the primary crashes (pg_ctl stop -m immediate: no shutdown, nothing more sent to the
# replica) and the replica is promoted (pg_ctl promote). The server holds both servers
# in one URL with target_session_attrs=read-write, so its pool reconnects to whichever
# accepts writes: it follows the promotion without a reload or a restart. Afterwards
# every ballot answered 201 is looked up on the new primary.
#
#   bench/failover.sh [sync|async] [seconds] [connections]
#
# LAG_MS (default 200): for that long before the crash the replica's WAL receiver is
# stopped (SIGSTOP), as a network slower than this machine's loopback would hold it
# back; 0 crashes with the replica as close behind as loopback keeps it.
#
# sync: synchronous_standby_names = '*' on the primary, so that a commit (and so a 201)
# waits for the replica's flush: no acknowledged ballot may be lost. async: the
# replica's default, which may lose what it had not received. The cost of sync in
# ballots/s: BENCH_REPLICA=sync bench/ballot_submit.sh, against async (docs/benchmarks.md).
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

mode=${1:-sync}
duration=${2:-30}
connections=${3:-100}
[[ $mode == sync || $mode == async ]] || die "the first argument is sync or async (got '$mode')"
for n in "$duration" "$connections"; do
  [[ $n =~ ^[0-9]+$ ]] || die "seconds and connections are whole numbers (got '$n')"
done
((duration >= 6)) || die "run for at least 6 seconds"
lag_ms=${LAG_MS:-200}
[[ $lag_ms =~ ^[0-9]+$ ]] || die "LAG_MS is a whole number of milliseconds (got '$lag_ms')"

export BENCH_REPLICA=$mode
BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON)
bench_begin
url=http://127.0.0.1:$BENCH_PORT
id=$(bench_open_election <"$ROOT/bench/ballot_election.json")
tokens=$THROWAWAY_DIR/tokens.txt
bench_direct_tokens "$id" "$((duration * 15000))" "$tokens"
sync
bench_machine
echo "replication: $mode; $connections connections for $duration s; the primary crashes at $((duration / 3)) s, its replica held back for $lag_ms ms before"

accepted() {
  curl -s "$url/metrics" | awk '$1 == "vote_submissions_total{result=\"accepted\"}" { print $2 + 0 }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

receipts=$THROWAWAY_DIR/receipts
TOKENS=$tokens ELECTION=$id WRK_THREADS=1 RECEIPTS=$receipts \
  wrk --threads 1 --connections "$connections" --duration "${duration}s" --timeout 10s \
  --latency -s "$ROOT/bench/submit.lua" "$url" >"$THROWAWAY_DIR/wrk.txt" &
wrk_pid=$!
start=$(now_ms)
sleep 1
before_count=$(accepted) before_at=$(now_ms)
sleep $((duration / 3 - 1))
receiver=$(pgrep -P "$(sed -n 1p -- "$THROWAWAY_REPLICA_DIR/postmaster.pid")" -f 'walreceiver') ||
  die "the replica has no WAL receiver"
held_count=$(accepted) held_at=$(now_ms)
if ((lag_ms > 0)); then
  kill -STOP "$receiver"
  sleep "$(awk -v ms="$lag_ms" 'BEGIN { print ms / 1000 }')"
fi
crash_count=$(accepted) crash_at=$(now_ms)
sh -c "$(pg_stop_cmd "$THROWAWAY_PG_DIR" immediate)" >/dev/null
kill -CONT "$receiver"
as_pg_user "$PG_BIN/pg_ctl" -D "$THROWAWAY_REPLICA_DIR" -w -t 60 promote >/dev/null
promoted_at=$(now_ms)
# The first ballot taken by the new primary.
until (($(accepted) > crash_count)); do sleep 0.02; done
resumed_at=$(now_ms)
resumed_count=$(accepted)
wait "$wrk_pid" || die "wrk failed: $(cat "$THROWAWAY_DIR/wrk.txt")"
end_count=$(accepted) end_at=$(now_ms)
cat -- "$THROWAWAY_DIR/wrk.txt"

cat -- "$receipts".* >"$receipts"
acknowledged=$(wc -l <"$receipts")
new_primary_url=$THROWAWAY_REPLICA_DATABASE_URL
read -r stored lost < <("$PG_BIN/psql" "$new_primary_url" -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE acknowledged (receipt text);
\copy acknowledged FROM '$receipts'
SELECT (SELECT count(*) FROM ballots WHERE election_id = '$id')
         + (SELECT count(*) FROM ballots_staged WHERE election_id = '$id'),
       count(*) FILTER (WHERE NOT EXISTS (SELECT FROM ballots b WHERE b.receipt = decode(a.receipt, 'hex'))
                          AND NOT EXISTS (SELECT FROM ballots_staged s WHERE s.receipt = decode(a.receipt, 'hex')))
  FROM acknowledged a;
SQL
)
echo
echo "== Failover ($mode replication)"
awk -v n="$((held_count - before_count))" -v ms="$((held_at - before_at))" \
  'BEGIN { printf "before the crash: %.0f ballots/s\n", n * 1000 / ms }'
echo "acknowledged while the replica was held back: $((crash_count - held_count))"
echo "promotion done $((promoted_at - crash_at)) ms after the crash; first ballot on the new primary $((resumed_at - crash_at)) ms after the crash"
awk -v n="$((end_count - resumed_count))" -v ms="$((end_at - resumed_at))" \
  'BEGIN { printf "after: %.0f ballots/s\n", n * 1000 / ms }'
echo "acknowledged (201): $acknowledged; on the new primary: $stored ballots; acknowledged and lost: $lost"
echo "run: $((end_at - start)) ms"
if [[ $mode == sync ]] && ((lost > 0)); then die "synchronous replication lost $lost acknowledged ballots"; fi
