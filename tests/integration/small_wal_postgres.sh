#!/usr/bin/env bash
# A PostgreSQL of its own whose WAL lives on a small tmpfs, for the disk-pressure test
# (FaultsUnderLoadTest in tests/integration/fault_test.cpp, docs/reliability.md):
#
#   small_wal_postgres.sh start DIR SIZE_MIB BINARY  mounts, starts, migrates with BINARY;
#                                                    prints the runtime role's URL
#   small_wal_postgres.sh fill DIR     takes every byte the WAL's filesystem has left
#   small_wal_postgres.sh free DIR     gives them back
#   small_wal_postgres.sh running DIR  exit status 0 when PostgreSQL runs
#   small_wal_postgres.sh restart DIR  starts it again if it stopped (after a PANIC)
#   small_wal_postgres.sh stop DIR     stops it, unmounts, removes DIR
#
# Exit status 77 when no tmpfs can be mounted here (not root): the test skips, saying so.
# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

command=$1 dir=$2
pg=$dir/pg
[[ $command == start ]] || pg=$(cat -- "$dir/pg-dir" 2>/dev/null || echo "$pg")
case $command in
start)
  size=$3 binary=$4
  mkdir -p -- "$dir/wal" "$dir/secrets"
  chmod 711 -- "$dir"
  if ! mount -t tmpfs -o "size=${size}m,mode=0700" tmpfs "$dir/wal" 2>"$dir/mount.err"; then
    echo "cannot mount a tmpfs for the WAL: $(cat "$dir/mount.err")"
    exit 77
  fi
  chown "$(pg_os_user)" "$dir/wal"
  # Segments of 1 MiB: a new one is needed every few seconds of the test's load.
  # shellcheck disable=SC2034  # read by pg_start
  PG_INITDB_EXTRA=(--waldir="$dir/wal/pg_wal" --wal-segsize=1)
  pg=$(pg_datadir "$dir/pg")
  echo "$pg" >"$dir/pg-dir"
  port=$(free_port)
  pg_start "$pg" "$port" "$dir/secrets/pg-password" ephemeral >&2
  OBSERVERNET_DATABASE_URL=$(pg_owner_url "$port" "$dir/secrets/pg-password") \
    OBSERVERNET_DATABASE_RUNTIME_ROLE=$PG_APP_ROLE OBSERVERNET_LOG_LEVEL=warn \
    "$binary" migrate >&2
  pg_url "$port" "$dir/secrets/pg-password"
  ;;
fill)
  dd if=/dev/zero of="$dir/wal/filler" bs=64k status=none 2>/dev/null || true
  ;;
free)
  rm -f -- "$dir/wal/filler"
  ;;
running)
  pg_is_running "$pg"
  ;;
restart)
  pg_is_running "$pg" || sh -c "$(pg_start_cmd "$pg")" >/dev/null
  ;;
stop)
  pg_stop "$pg" >&2 || true
  umount "$dir/wal" 2>/dev/null || true
  rm -rf -- "$dir"
  ;;
*)
  die "usage: $0 start|fill|free|running|restart|stop DIR [SIZE_MIB BINARY]"
  ;;
esac
