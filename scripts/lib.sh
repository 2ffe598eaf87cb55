#!/usr/bin/env bash
# shellcheck shell=bash
# Shared helpers for scripts/run and scripts/test. Meant to be sourced (running
# it directly only defines functions and exits).
#
# Everything both scripts need lives here, so that "how we build" or "how we
# start PostgreSQL" is written exactly once.

set -euo pipefail
# Without this, `x=$(f)` ignores failures inside f even under `set -e`.
shopt -s inherit_errexit

# Repository root as a physical path (symlinks resolved): the /var/tmp
# relocation below hashes it, so it must not depend on how we were called.
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)

# PostgreSQL 15 is what Debian 12 ships; overridable for other hosts.
PG_BIN=${OBSERVERNET_PG_BIN:-/usr/lib/postgresql/15/bin}
# The application's roles and database. The superuser is only used to create them. The
# owner role owns the schema and runs the migrations; the server runs as the runtime
# role, which may only INSERT and SELECT the history (docs/security.md, Append-only
# history). The owner is a member of the runtime role, so that the migrations may hand
# it the staging table.
PG_APP_ROLE=observernet
PG_OWNER_ROLE=observernet_owner
PG_APP_DB=observernet
# More initdb options for a new cluster (the disk-pressure test's WAL directory).
PG_INITDB_EXTRA=()

# Debian packages needed to build, test and run ObserverNet.
OBSERVERNET_PACKAGES=(
  build-essential cmake pkg-config clang-format openssl git
  libboost1.81-dev libpqxx-dev libhiredis-dev libssl-dev nlohmann-json3-dev
  prometheus-cpp-dev libgtest-dev libjemalloc-dev libtomlplusplus-dev
  postgresql redis-server
)

# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

# Progress goes to stderr so that functions can return values on stdout.
# `|| true`: if stderr is gone (closed terminal or pipe), a cleanup that logs
# must still run to the end under `set -e`.
log() { printf '==> %s\n' "$*" >&2 || true; }
warn() { printf '==> WARNING: %s\n' "$*" >&2 || true; }
die() {
  printf '==> ERROR: %s\n' "$*" >&2 || true
  exit 1
}

# on_exit <function>: run <function> once when the script ends, however it
# ends: normally, on error (set -e), Ctrl-C, kill, closed terminal (HUP) or
# a vanished output pipe (PIPE, which would otherwise kill us without running
# any trap). The signal traps only exit, with the conventional 128+N status,
# which runs the EXIT trap; the function should start with `trap '' INT TERM
# HUP PIPE` so that a second Ctrl-C cannot cut the cleanup short.
on_exit() {
  # shellcheck disable=SC2064  # expand $1 now, on purpose
  trap "$1" EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (and sudo is not installed)"
  fi
}

# Quote one word for POSIX sh. The PostgreSQL stop/start strings are run by
# the tests with `sh -c`, where bash's `printf %q` output ($'...') is not valid.
sh_quote() {
  printf "'%s'" "${1//\'/\'\\\'\'}"
}

# Short, stable id of this checkout, to name its directories outside the repo.
repo_hash() {
  printf '%s' "$ROOT" | sha256sum | cut -c1-12
}

# ensure_secret_file <file> [bytes]: create once a random hex secret readable
# only by us, and reuse it afterwards. Hex needs no escaping in URLs or SQL.
ensure_secret_file() {
  local file=$1 bytes=${2:-24} dir
  dir=$(dirname -- "$file")
  mkdir -p -- "$dir"
  chmod 700 -- "$dir"
  if [[ ! -s $file ]]; then
    (umask 077 && openssl rand -hex "$bytes" >"$file")
  fi
  chmod 600 -- "$file"
}

# Keep build output and local state out of git. Appends only missing lines, so
# a .gitignore written by someone else is otherwise left alone.
ensure_gitignore() {
  local file=$ROOT/.gitignore line
  touch -- "$file"
  for line in /build/ /.local/; do
    if ! grep -qxF -- "$line" "$file"; then
      printf '%s\n' "$line" >>"$file"
    fi
  done
}

# wait_gone <pid> <tenths-of-a-second>: wait for a process to exit; false if it
# is still there after the timeout.
wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Packages and build
# ---------------------------------------------------------------------------

# Install whichever of OBSERVERNET_PACKAGES are missing. Checking first keeps
# the usual case (everything present) fast and offline.
ensure_packages() {
  local pkg status missing=()
  for pkg in "${OBSERVERNET_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi

  log "installing missing packages: ${missing[*]}"
  as_root apt-get update
  # `env` so that the variable survives sudo's environment reset.
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# build <dir> <cmake args...>
build() {
  local dir=$1
  shift
  log "configuring $dir ($*)"
  cmake -S "$ROOT" -B "$dir" "$@"
  log "building $dir"
  cmake --build "$dir" -j2
}

# ---------------------------------------------------------------------------
# The web front end (web/README.md)
# ---------------------------------------------------------------------------

# Node >= 18 with npm builds web/dist; the browser tests also need Debian's Chromium
# (`ensure_web_packages chromium`). Node counts when the command is there: NodeSource's
# nodejs package bundles npm and conflicts with Debian's npm package, so Debian's pair is
# only asked for when there is no node at all. Call before ensure_packages.
# shellcheck disable=SC2120  # the extra packages are optional
ensure_web_packages() {
  if ! command -v node >/dev/null 2>&1; then
    OBSERVERNET_PACKAGES+=(nodejs npm)
  fi
  OBSERVERNET_PACKAGES+=("$@")
}

# check_node: node >= 18 and npm present (after ensure_packages).
check_node() {
  local major
  command -v npm >/dev/null 2>&1 || die "npm is missing (Debian package npm)"
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= 18)) || die "node $(node --version) is too old: the web build needs node >= 18"
}

# npm_ci <dir>: <dir>/node_modules (dir relative to the repository: web, tests/contract)
# exactly as its committed package-lock.json says. Skipped when the last `npm ci` there
# installed this very lock file (its hash is kept in node_modules), so repeated local runs
# stay offline; OBSERVERNET_NPM_CI=always forces it.
npm_ci() {
  local dir=$ROOT/$1 want
  local stamp=$dir/node_modules/.observernet-lock.sha256
  want=$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)
  if [[ ${OBSERVERNET_NPM_CI:-} != always && -f $stamp && $(<"$stamp") == "$want" ]]; then
    log "$1/node_modules already installed from this package-lock.json"
    return 0
  fi
  log "npm ci in $1/"
  # SCARF_ANALYTICS: one of the linter's dependencies would report the install otherwise.
  (cd -- "$dir" && SCARF_ANALYTICS=false npm ci --no-audit --no-fund)
  printf '%s\n' "$want" >"$stamp"
}

# web_npm_ci: web/node_modules (the front end's build and tests).
web_npm_ci() { npm_ci web; }

# web_build: web/src -> web/dist (web/build.mjs).
web_build() {
  log "building web/dist"
  (cd -- "$ROOT/web" && node build.mjs)
}

# ---------------------------------------------------------------------------
# Phases: a script's steps, each timed
# ---------------------------------------------------------------------------

# phase_begin <name> ... phase_end: prints "==> phase <name>: <seconds> s" and keeps
# the line for phase_summary, which also prints the total since the first phase.
PHASE_NAME=
PHASE_START=
PHASE_FIRST_START=
PHASE_LINES=()
phase_begin() {
  PHASE_NAME=$1
  PHASE_START=${EPOCHREALTIME/,/.}
  PHASE_FIRST_START=${PHASE_FIRST_START:-$PHASE_START}
}
_phase_seconds() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}
phase_end() {
  local line
  line="phase $PHASE_NAME: $(_phase_seconds "$PHASE_START" "${EPOCHREALTIME/,/.}") s"
  PHASE_LINES+=("$line")
  log "$line"
}
phase_summary() {
  local line
  for line in "${PHASE_LINES[@]}"; do echo "==> $line"; done
  if [[ -n $PHASE_FIRST_START ]]; then
    echo "==> total: $(_phase_seconds "$PHASE_FIRST_START" "${EPOCHREALTIME/,/.}") s"
  fi
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# True when something accepts TCP connections on 127.0.0.1:<port>.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port [port-to-avoid...]: print a random port from 20000 up to the kernel's
# ephemeral range that nothing listens on (the C++ tests' own free_port picks in
# 10000-19999). Random rather than sequential so that parallel runs rarely collide; the
# avoid list keeps two calls in one script from returning the same port before either
# is bound.
free_port() {
  local port i low=32768 span
  # Stay below the kernel's ephemeral range: a port the kernel may hand to an
  # outgoing connection (ours to PostgreSQL, wrk's) can be taken between our check
  # and the server's bind, which happened in benchmarks.
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 20000 + 1000)) || low=32768
  span=$((low - 20000))
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % span))
    if [[ " $* " == *" $port "* ]] || port_in_use "$port"; then
      continue
    fi
    echo "$port"
    return 0
  done
  die "no free TCP port found on 127.0.0.1"
}

# ---------------------------------------------------------------------------
# PostgreSQL
#
# PostgreSQL refuses to run as root, so when we are root every server-side
# command runs as the `postgres` OS user; otherwise as ourselves. A cluster
# listens on 127.0.0.1 only. Its Unix socket lives inside the data dir (owned
# by the server user, mode 700), so only that user - and root - can use it:
# the superuser logs in there by peer auth and has no password. The
# application role logs in over TCP with scram-sha-256 and a generated
# password.
#
# Usage:  dir=$(pg_datadir WANTED); pg_start "$dir" PORT PWFILE; ...; pg_stop "$dir"
# ---------------------------------------------------------------------------

pg_os_user() {
  if ((EUID == 0)); then echo postgres; else id -un; fi
}

# Run a command as the server user. `cd /` first: the caller's cwd may be a
# place that user cannot enter (e.g. /root/...), which makes tools complain.
as_pg_user() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# The same as a prefix for command strings run with `sh -c`.
pg_user_prefix() {
  if ((EUID == 0)); then echo "cd / && runuser -u postgres --"; else echo "cd / &&"; fi
}

# Can the server user enter <dir>? access(2) fails on any component of the
# path it cannot traverse, so this checks the whole path, not only the leaf.
pg_user_can_reach() {
  as_pg_user test -x "$1" 2>/dev/null
}

# Create a dir owned by the server user with mode 700 (initdb insists on it).
_pg_mkdir() {
  mkdir -p -- "$1"
  chmod 700 -- "$1"
  if ((EUID == 0)); then chown postgres:postgres -- "$1"; fi
}

# pg_datadir <wanted>: make sure a data dir exists for <wanted>; print the
# physical path the server must be given (pass it to the other pg_* helpers).
#
# Normally that is <wanted> itself. But when the server user cannot reach
# <wanted> (repo in a mode-700 home such as /root), or the path is too long
# for the Unix socket we keep inside it (sun_path holds 107 bytes), the data
# goes to /var/tmp/observernet-<repo hash>/<name> and <wanted> becomes a
# symlink to it. The server always gets the physical path: it could not
# follow the symlink through the parent it cannot enter.
pg_datadir() {
  local wanted=$1 parent real
  # Longest socket file name is "/.s.PGSQL.NNNNN.lock", 21 bytes.
  local max_len=$((107 - 21))

  if [[ -L $wanted ]]; then
    real=$(readlink -f -- "$wanted")
    # The target may have been wiped (e.g. /var/tmp cleaned): recreate it
    # empty, and pg_start will initialise it again.
    if [[ ! -d $real ]]; then _pg_mkdir "$real"; fi
    echo "$real"
    return 0
  fi

  mkdir -p -- "$(dirname -- "$wanted")"
  parent=$(cd -- "$(dirname -- "$wanted")" && pwd -P)
  real=$parent/$(basename -- "$wanted")

  if pg_user_can_reach "$parent" && ((${#real} <= max_len)); then
    # New, or not yet initialised: (re)claim it for the server user.
    if [[ ! -f $real/PG_VERSION ]]; then _pg_mkdir "$real"; fi
    echo "$real"
    return 0
  fi

  # Relocate. An existing dir here is only safe to replace when empty.
  if [[ -d $wanted ]] && ! rmdir -- "$wanted" 2>/dev/null; then
    die "the server user cannot use $wanted and it is not empty; move it away"
  fi
  real=/var/tmp/observernet-$(repo_hash)/$(basename -- "$wanted")
  log "server user cannot use $wanted; keeping its data in $real (symlinked)"
  _pg_mkdir "$(dirname -- "$real")"
  _pg_mkdir "$real"
  ln -s -- "$real" "$wanted"
  echo "$real"
}

# pg_is_running <data-dir>: is a postmaster serving this data dir?
# "PID in postmaster.pid is alive" is not enough: after a crash, or on a
# machine where PIDs got recycled, it may be some other process. The
# postmaster chdirs into its data dir, so we also compare its cwd.
pg_is_running() {
  local dir=$1 pid cwd
  [[ -f $dir/postmaster.pid ]] || return 1
  pid=$(head -n 1 -- "$dir/postmaster.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null); then
    [[ $cwd == "$dir" ]]
  else
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]
  fi
}

pg_log_file() { echo "$1/postgresql.log"; }

# Command strings (for `sh -c`) that stop / start the cluster in <data-dir>.
# `-w`: start returns once the server accepts connections, stop once it is
# gone. Port, addresses and socket are in the data dir's config, so these
# restart the cluster exactly as pg_start left it.
# pg_stop_cmd <dir> [mode]: fast by default; immediate is a crash (no checkpoint).
pg_stop_cmd() {
  printf '%s %s -D %s -m %s -w -t 60 stop' \
    "$(pg_user_prefix)" "$(sh_quote "$PG_BIN/pg_ctl")" "$(sh_quote "$1")" "${2:-fast}"
}
pg_start_cmd() {
  printf '%s %s -D %s -w -t 60 -l %s start' \
    "$(pg_user_prefix)" "$(sh_quote "$PG_BIN/pg_ctl")" "$(sh_quote "$1")" \
    "$(sh_quote "$(pg_log_file "$1")")"
}

# pg_tuning: the settings of a durable cluster beyond PostgreSQL's defaults: room for the
# ballot load's WAL. At 10,000 ballots/s PostgreSQL writes about 11 MiB of WAL a second
# (docs/benchmarks.md), so the default max_wal_size (1GB) starts a checkpoint every
# minute and a half, after which every first change to a page writes the whole page to
# the WAL again. The scaling guide's memory settings are for a database server of its
# own (docs/operations.md); on a machine that PostgreSQL shares with the server, as here,
# shared_buffers = 4GB measured slower than the default (docs/benchmarks.md).
pg_tuning() {
  echo "max_wal_size = 16GB"
  echo "checkpoint_timeout = 15min"
  # Pages a backend evicts go to the disk as it writes them, not 30 s later in one burst
  # of the kernel's flusher that WAL fsyncs (every commit) queue behind.
  echo "backend_flush_after = 256kB"
}

# pg_start <data-dir> <port> <password-file> [ephemeral]
# Start a private cluster on 127.0.0.1:<port>, running initdb the first time
# only, and make sure role and database `observernet` exist with the password
# kept in <password-file> (generated once, then reused). A cluster already
# running on that port is reused. "ephemeral" trades durability for speed
# (throw-away test clusters).
pg_start() {
  local dir=$1 port=$2 pwfile=$3 mode=${4:-durable}

  if [[ ! -f $dir/PG_VERSION ]]; then
    log "initialising PostgreSQL cluster in $dir"
    as_pg_user "$PG_BIN/initdb" -D "$dir" -U "$(pg_os_user)" \
      --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --no-locale --no-instructions "${PG_INITDB_EXTRA[@]}" >/dev/null
    # Our settings live in a file of their own, rewritten at every start;
    # the generated postgresql.conf only gains this include.
    printf '\n%s\n' "include_if_exists = 'observernet.conf'" |
      as_pg_user tee -a "$dir/postgresql.conf" >/dev/null
  fi

  if pg_is_running "$dir"; then
    # 4th line of postmaster.pid is the port it listens on.
    if [[ $(sed -n 4p -- "$dir/postmaster.pid") == "$port" ]]; then
      log "PostgreSQL already running in $dir on port $port; reusing it"
    else
      log "PostgreSQL in $dir runs on another port; restarting it on $port"
      pg_stop "$dir"
    fi
  elif [[ -e $dir/postmaster.pid ]]; then
    # Left behind by a killed run. Removed here because PostgreSQL itself
    # refuses to start when the PID inside was recycled by another process.
    log "removing stale postmaster.pid in $dir"
    rm -f -- "$dir/postmaster.pid" "$dir"/.s.PGSQL.*
  fi

  if ! pg_is_running "$dir"; then
    if port_in_use "$port"; then
      die "port $port is already in use; cannot start PostgreSQL there"
    fi
    {
      echo "# Written by scripts/lib.sh at every start: edits here are lost."
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$dir'"
      echo "unix_socket_permissions = 0700"
      if [[ $mode == ephemeral ]]; then
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      else
        pg_tuning
      fi
      # Benchmarks compare settings with this: "name = value; name = value".
      if [[ -n ${OBSERVERNET_PG_SETTINGS:-} ]]; then tr ';' '\n' <<<"$OBSERVERNET_PG_SETTINGS"; fi
    } | as_pg_user tee "$dir/observernet.conf" >/dev/null

    log "starting PostgreSQL on 127.0.0.1:$port (log: $(pg_log_file "$dir"))"
    if ! sh -c "$(pg_start_cmd "$dir")" >/dev/null; then
      tail -n 20 -- "$(pg_log_file "$dir")" >&2 || true
      die "PostgreSQL failed to start"
    fi
  fi

  _pg_ensure_app_role "$dir" "$port" "$pwfile"
}

# Create the roles and database `observernet` if missing. The passwords are set at every
# start so that the cluster always matches the password files (the owner's is kept next
# to the runtime role's, see pg_owner_password_file). The SQL goes through stdin so that
# no password ever appears in `ps`. A database from before the roles were split, owned by
# the runtime role, passes to the owner role.
_pg_ensure_app_role() {
  local dir=$1 port=$2 pwfile=$3 pw owner_pw owner_pwfile
  owner_pwfile=$(pg_owner_password_file "$pwfile")
  ensure_secret_file "$pwfile"
  ensure_secret_file "$owner_pwfile"
  pw=$(<"$pwfile")
  owner_pw=$(<"$owner_pwfile")
  [[ $pw =~ ^[0-9a-f]+$ && $owner_pw =~ ^[0-9a-f]+$ ]] || die "$pwfile must hold a hex password"
  as_pg_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$dir" -p "$port" -U "$(pg_os_user)" -d postgres -f - >/dev/null <<SQL
SELECT 'CREATE ROLE $PG_APP_ROLE LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_ROLE')\gexec
ALTER ROLE $PG_APP_ROLE WITH LOGIN PASSWORD '$pw';
SELECT 'CREATE ROLE $PG_OWNER_ROLE LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_OWNER_ROLE')\gexec
ALTER ROLE $PG_OWNER_ROLE WITH LOGIN PASSWORD '$owner_pw';
SELECT 'GRANT $PG_APP_ROLE TO $PG_OWNER_ROLE'
 WHERE NOT EXISTS (SELECT FROM pg_auth_members
   WHERE roleid = '$PG_APP_ROLE'::regrole AND member = '$PG_OWNER_ROLE'::regrole)\gexec
SELECT 'CREATE DATABASE $PG_APP_DB OWNER $PG_OWNER_ROLE'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_APP_DB')\gexec
SELECT 'ALTER DATABASE $PG_APP_DB OWNER TO $PG_OWNER_ROLE'
 FROM pg_database WHERE datname = '$PG_APP_DB'
 AND datdba = (SELECT oid FROM pg_roles WHERE rolname = '$PG_APP_ROLE')\gexec
\connect $PG_APP_DB
SELECT 'REASSIGN OWNED BY $PG_APP_ROLE TO $PG_OWNER_ROLE'
 WHERE EXISTS (SELECT FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events'
   AND tableowner = '$PG_APP_ROLE')\gexec
SQL
}

# pg_owner_password_file <password-file>: where the owner role's password is kept.
pg_owner_password_file() {
  printf '%s\n' "${1%/*}/pg-owner-password"
}

# pg_url <port> <password-file>: connection URI for the runtime role.
pg_url() {
  printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' \
    "$PG_APP_ROLE" "$(<"$2")" "$1" "$PG_APP_DB"
}

# pg_owner_url <port> <password-file>: connection URI for the owner role (migrations).
pg_owner_url() {
  printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' \
    "$PG_OWNER_ROLE" "$(<"$(pg_owner_password_file "$2")")" "$1" "$PG_APP_DB"
}

# pg_stop <data-dir>: fast shutdown (clients disconnected, clean checkpoint).
# A no-op when not running, so traps can call it unconditionally.
pg_stop() {
  local dir=$1
  if [[ -d $dir ]] && pg_is_running "$dir"; then
    log "stopping PostgreSQL in $dir"
    sh -c "$(pg_stop_cmd "$dir")" >/dev/null
  fi
}

# ---------------------------------------------------------------------------
# Redis
#
# Started without a config file, so /etc/redis/redis.conf cannot interfere.
# ---------------------------------------------------------------------------

# redis-cli with a timeout: a non-Redis listener on the port must not hang us.
_redis_cli() {
  local port=$1
  shift
  timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# Print the PID of the Redis whose pidfile is in <dir>, if it is alive (and
# really a redis-server, not a recycled PID).
_redis_pid() {
  local pid
  pid=$(cat -- "$1/redis.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server ]] || return 1
  echo "$pid"
}

# Last resort when SHUTDOWN did not work: SIGTERM (Redis shuts down cleanly
# on it), then SIGKILL.
_redis_kill() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  wait_gone "$pid" 100 && return 0
  warn "Redis (pid $pid) ignored SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# redis_start <dir> <port> [ephemeral|durable] [redis-server options...]: daemonized
# Redis on 127.0.0.1:<port> with data, pidfile and log in <dir>. "ephemeral" turns
# persistence off (tests); otherwise Redis's default RDB snapshots keep dev data across
# runs.
redis_start() {
  local dir=$1 port=$2 mode=${3:-durable} pid i extra=()
  shift 2
  if (($#)); then shift; fi
  mkdir -p -- "$dir"
  if pid=$(_redis_pid "$dir"); then
    if [[ $(_redis_cli "$port" ping) == PONG ]]; then
      log "Redis already running in $dir on port $port; reusing it"
      return 0
    fi
    log "Redis from $dir is not on port $port; stopping it"
    _redis_kill "$pid"
  fi
  if port_in_use "$port"; then
    die "port $port is already in use; cannot start Redis there"
  fi
  if [[ $mode == ephemeral ]]; then extra=(--save '' --appendonly no); fi
  extra+=("$@")

  log "starting Redis on 127.0.0.1:$port (log: $dir/redis.log)"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    "${extra[@]}"
  for ((i = 0; i < 100; i++)); do
    if [[ $(_redis_cli "$port" ping) == PONG ]]; then return 0; fi
    sleep 0.1
  done
  tail -n 20 -- "$dir/redis.log" >&2 || true
  die "Redis did not answer PING on port $port"
}

# redis_cluster_start <dir> <port>...: a Redis Cluster of the six (or more) given ports
# on 127.0.0.1, half of them primaries and half their replicas (redis-cli --cluster
# create), each node ephemeral in <dir>/<port> with a node timeout of a second, so that a
# replica takes over within about two. Each node's cluster bus takes a free port of its
# own (not port + 10,000, which may be in the kernel's ephemeral range). <dir>/<port>/start
# starts that node again as it was (it rejoins the cluster it knew). Returns once every
# node sees the cluster up and every replica has its primary's data (a replica that has
# not may not take over).
redis_cluster_start() {
  local dir=$1 port bus i ok nodes=() taken=("$@")
  shift
  mkdir -p -- "$dir"
  for port in "$@"; do
    bus=$(free_port "${taken[@]}")
    taken+=("$bus")
    local options=(--cluster-enabled yes --cluster-port "$bus"
      --cluster-config-file "$dir/$port/nodes.conf" --cluster-node-timeout 1000
      --repl-diskless-sync-delay 0)
    redis_start "$dir/$port" "$port" ephemeral "${options[@]}"
    printf '%s\n' "redis-server --bind 127.0.0.1 --port $port --dir $dir/$port --daemonize yes" \
      "--pidfile $dir/$port/redis.pid --logfile $dir/$port/redis.log --save '' --appendonly no" \
      "${options[*]}" | paste -sd' ' >"$dir/$port/start"
    nodes+=("127.0.0.1:$port")
  done
  log "creating a Redis Cluster of ${#nodes[@]} nodes (one replica each primary)"
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$dir/create.log" 2>&1 || {
    tail -n 20 -- "$dir/create.log" >&2
    die "redis-cli --cluster create failed"
  }
  for ((i = 0; i < 200; i++)); do
    ok=1
    for port in "$@"; do
      [[ $(_redis_cli "$port" cluster info) == *cluster_state:ok* ]] || ok=0
      if [[ $(_redis_cli "$port" info replication) == *role:slave* ]]; then
        [[ $(_redis_cli "$port" info replication) == *master_link_status:up* ]] || ok=0
      fi
    done
    ((ok)) && return 0
    sleep 0.1
  done
  die "the Redis Cluster did not come up"
}

# redis_cluster_stop <dir> <port>...
redis_cluster_stop() {
  local dir=$1 port
  shift
  for port in "$@"; do redis_stop "$dir/$port" "$port" || true; done
}

# redis_stop <dir> <port> [nosave|save]: SHUTDOWN NOSAVE by default (tests);
# `save` for the dev instance so that its data survives. Falls back to
# signals via the pidfile. A no-op when not running.
redis_stop() {
  local dir=$1 port=$2 how=${3:-nosave} pid
  pid=$(_redis_pid "$dir") || return 0
  log "stopping Redis on port $port"
  _redis_cli "$port" shutdown "$how" >/dev/null || true
  wait_gone "$pid" 50 || _redis_kill "$pid"
}

# ---------------------------------------------------------------------------
# Sanitizers
# ---------------------------------------------------------------------------

# lsan_usable <scratch-dir>: can LeakSanitizer run here? It needs to ptrace
# the process's threads, which some sandboxes forbid; every ASan binary would
# then die at exit with "LeakSanitizer has encountered a fatal error". So we
# build a program that leaks on purpose and require a leak report from it.
lsan_usable() {
  local dir=$1 out
  printf '%s\n' '#include <cstdlib>' 'void* volatile p;' \
    'int main() { p = std::malloc(64); p = nullptr; return 0; }' >"$dir/lsan-probe.cpp"
  "${CXX:-c++}" -fsanitize=address -g -o "$dir/lsan-probe" "$dir/lsan-probe.cpp" || return 1
  out=$(ASAN_OPTIONS=detect_leaks=1 "$dir/lsan-probe" 2>&1) || true
  grep -q 'detected memory leaks' <<<"$out"
}

# ---------------------------------------------------------------------------
# Throw-away services (tests, benchmarks)
# ---------------------------------------------------------------------------

# throwaway_services_start [ephemeral|durable]: a PostgreSQL and a Redis on free ports
# with data in a new temp dir under /tmp (reachable by the postgres user). ephemeral
# (the default, for tests) turns fsync off; durable (benchmarks) keeps PostgreSQL's
# production settings, so the numbers mean what they say. Sets THROWAWAY_DIR, THROWAWAY_PG_DIR, THROWAWAY_PG_PORT,
# THROWAWAY_REDIS_PORT, THROWAWAY_DATABASE_URL and THROWAWAY_REDIS_URL. The caller
# registers throwaway_services_stop with on_exit (through its own cleanup).
THROWAWAY_DIR=
THROWAWAY_PG_DIR=
THROWAWAY_REDIS_PORT=
throwaway_services_start() {
  local mode=${1:-ephemeral}
  THROWAWAY_DIR=$(mktemp -d /tmp/observernet-test.XXXXXX)
  # 711: the postgres user may traverse it without listing it.
  chmod 711 -- "$THROWAWAY_DIR"
  THROWAWAY_PG_PORT=$(free_port)
  THROWAWAY_REDIS_PORT=$(free_port "$THROWAWAY_PG_PORT")
  THROWAWAY_PG_DIR=$(pg_datadir "$THROWAWAY_DIR/pg")
    pg_start "$THROWAWAY_PG_DIR" "$THROWAWAY_PG_PORT" "$THROWAWAY_DIR/secrets/pg-password" "$mode"
  redis_start "$THROWAWAY_DIR/redis" "$THROWAWAY_REDIS_PORT" "$mode"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  THROWAWAY_DATABASE_URL=$(pg_url "$THROWAWAY_PG_PORT" "$THROWAWAY_DIR/secrets/pg-password")
  # shellcheck disable=SC2034
  THROWAWAY_OWNER_DATABASE_URL=$(pg_owner_url "$THROWAWAY_PG_PORT" "$THROWAWAY_DIR/secrets/pg-password")
  # shellcheck disable=SC2034
  THROWAWAY_REDIS_URL=redis://127.0.0.1:$THROWAWAY_REDIS_PORT/0
}

# throwaway_replica_start: a streaming replica of the throw-away PostgreSQL on a free port
# (pg_basebackup -R, the primary's superuser over its Unix socket), which may pause its
# replay at the runtime role's request (tests of docs/operations.md, Read replicas). Sets
# THROWAWAY_REPLICA_DIR and THROWAWAY_REPLICA_DATABASE_URL; stopped with the services.
THROWAWAY_REPLICA_DIR=
throwaway_replica_start() {
  local port primary_port=$THROWAWAY_PG_PORT out
  port=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT")
  as_pg_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$THROWAWAY_PG_DIR" -p "$primary_port" \
    -U "$(pg_os_user)" -d "$PG_APP_DB" \
    -c "GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO $PG_APP_ROLE" \
    >/dev/null
  THROWAWAY_REPLICA_DIR=$(pg_datadir "$THROWAWAY_DIR/replica")
  log "making a streaming replica of the throw-away PostgreSQL (pg_basebackup -R)"
  # Its warnings about the primary's sockets (they live in its data directory, which is
  # copied) are left out; anything else it says is shown.
  if ! out=$(as_pg_user "$PG_BIN/pg_basebackup" -h "$THROWAWAY_PG_DIR" -p "$primary_port" \
    -U "$(pg_os_user)" -D "$THROWAWAY_REPLICA_DIR" -R -X stream -c fast 2>&1); then
    printf '%s\n' "$out" >&2
    die "pg_basebackup of the throw-away PostgreSQL failed"
  fi
  grep -v 'skipping special file' <<<"$out" >&2 || true
  # The primary's settings came with the copy: its own address, port and socket.
  {
    echo "# Written by scripts/lib.sh: a streaming replica of the throw-away PostgreSQL."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$THROWAWAY_REPLICA_DIR'"
    echo "unix_socket_permissions = 0700"
  } | as_pg_user tee "$THROWAWAY_REPLICA_DIR/observernet.conf" >/dev/null
  log "starting the replica on 127.0.0.1:$port (log: $(pg_log_file "$THROWAWAY_REPLICA_DIR"))"
  if ! sh -c "$(pg_start_cmd "$THROWAWAY_REPLICA_DIR")" >/dev/null; then
    tail -n 20 -- "$(pg_log_file "$THROWAWAY_REPLICA_DIR")" >&2 || true
    die "the PostgreSQL replica failed to start"
  fi
  # shellcheck disable=SC2034  # read by the scripts that source this file
  THROWAWAY_REPLICA_DATABASE_URL=$(pg_url "$port" "$THROWAWAY_DIR/secrets/pg-password")
}

# throwaway_redis_cluster_start: a six-node Redis Cluster (redis_cluster_start) on free
# ports, in the throw-away dir. Sets THROWAWAY_REDIS_CLUSTER_DIR and
# THROWAWAY_REDIS_CLUSTER_URL (redis+cluster://, every node a seed); stopped with the
# services.
THROWAWAY_REDIS_CLUSTER_PORTS=()
throwaway_redis_cluster_start() {
  local i
  for ((i = 0; i < 6; i++)); do
    THROWAWAY_REDIS_CLUSTER_PORTS+=("$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT" \
      "${THROWAWAY_REDIS_CLUSTER_PORTS[@]}")")
  done
  THROWAWAY_REDIS_CLUSTER_DIR=$THROWAWAY_DIR/redis-cluster
  redis_cluster_start "$THROWAWAY_REDIS_CLUSTER_DIR" "${THROWAWAY_REDIS_CLUSTER_PORTS[@]}"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  THROWAWAY_REDIS_CLUSTER_URL=redis+cluster://$(printf '127.0.0.1:%s,' \
    "${THROWAWAY_REDIS_CLUSTER_PORTS[@]}" | sed 's/,$//')
}

# throwaway_psql [psql args...]: psql on the throw-away database as its owner, unaligned,
# tuples only, stopping at the first error.
throwaway_psql() {
  "$PG_BIN/psql" "$THROWAWAY_OWNER_DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# throwaway_migrate <observernet binary>: the throw-away database's schema, migrated by its
# owner for the runtime role.
throwaway_migrate() {
  OBSERVERNET_DATABASE_URL=$THROWAWAY_OWNER_DATABASE_URL \
    OBSERVERNET_DATABASE_RUNTIME_ROLE=$PG_APP_ROLE \
    OBSERVERNET_LOG_LEVEL=warn "$1" migrate
}

# throwaway_services_stop: stop them (and PgBouncer, if started); safe to call twice
# and before (or half-way through) throwaway_services_start.
throwaway_services_stop() {
  if [[ -n $THROWAWAY_DIR ]]; then pgbouncer_stop "$THROWAWAY_DIR/pgbouncer" || true; fi
  if [[ -n $THROWAWAY_REPLICA_DIR ]]; then
    pg_stop "$THROWAWAY_REPLICA_DIR" || true
    THROWAWAY_REPLICA_DIR=
  fi
  if ((${#THROWAWAY_REDIS_CLUSTER_PORTS[@]})); then
    redis_cluster_stop "$THROWAWAY_REDIS_CLUSTER_DIR" "${THROWAWAY_REDIS_CLUSTER_PORTS[@]}"
    THROWAWAY_REDIS_CLUSTER_PORTS=()
  fi
  if [[ -n $THROWAWAY_REDIS_PORT ]]; then
    redis_stop "$THROWAWAY_DIR/redis" "$THROWAWAY_REDIS_PORT" || true
    THROWAWAY_REDIS_PORT=
  fi
  if [[ -n $THROWAWAY_PG_DIR ]]; then
    pg_stop "$THROWAWAY_PG_DIR" || true
    THROWAWAY_PG_DIR=
  fi
}

# throwaway_services_remove: stop them and delete their data.
throwaway_services_remove() {
  throwaway_services_stop
  if [[ -n $THROWAWAY_DIR ]]; then
    rm -rf -- "$THROWAWAY_DIR"
    THROWAWAY_DIR=
  fi
}

# ---------------------------------------------------------------------------
# PgBouncer in front of the throw-away PostgreSQL (docs/operations.md, PgBouncer)
# ---------------------------------------------------------------------------

# pgbouncer_start <dir> <port>: Debian's PgBouncer on 127.0.0.1:<port> in transaction
# pooling, serving the throw-away database to the runtime role (scram-sha-256, the
# password it has in PostgreSQL), with its files in <dir>; run as the server user, since
# PgBouncer refuses to run as root. Sets THROWAWAY_POOLED_DATABASE_URL.
# A server's own statement_timeout lands on whichever server connection its SET went
# through, so, as in production (docs/operations.md, PgBouncer), the server side sets it:
# each server connection starts at the server's default, 5 s (connect_query). Without
# it, a connection no server had SET ran without a timeout, and a statement whose call
# was cut ran on, holding its locks.
# pgbouncer_stop <dir> stops it; the throw-away dir goes with the services.
pgbouncer_start() {
  local dir=$1 port=$2 i
  mkdir -p -- "$dir"
  printf '"%s" "%s"\n' "$PG_APP_ROLE" "$(<"$THROWAWAY_DIR/secrets/pg-password")" \
    >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
$PG_APP_DB = host=127.0.0.1 port=$THROWAWAY_PG_PORT dbname=$PG_APP_DB connect_query='SET statement_timeout = 5000'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  chmod 700 -- "$dir"
  if ((EUID == 0)); then chown -R postgres: -- "$dir"; fi
  log "starting PgBouncer on 127.0.0.1:$port (transaction pooling; log: $dir/pgbouncer.log)"
  as_pg_user /usr/sbin/pgbouncer -q -d "$dir/pgbouncer.ini"
  for ((i = 0; i < 100; i++)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d "$PG_APP_DB"; then
      # shellcheck disable=SC2034  # read by the scripts that source this file
      THROWAWAY_POOLED_DATABASE_URL=$(pg_url "$port" "$THROWAWAY_DIR/secrets/pg-password")
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 -- "$dir/pgbouncer.log" >&2 || true
  die "PgBouncer did not accept connections on port $port"
}

# pgbouncer_stop <dir>: SIGINT (PgBouncer's safe shutdown), then SIGKILL. A no-op when
# it is not running.
pgbouncer_stop() {
  local pid
  pid=$(cat -- "$1/pgbouncer.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == pgbouncer ]] || return 0
  log "stopping PgBouncer"
  kill -INT "$pid" 2>/dev/null || return 0
  wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# nginx in front of several servers: the Compose topology without Docker
# ---------------------------------------------------------------------------

# nginx_front_start <dir> <port> <server port>...: Debian's nginx on 127.0.0.1:<port> with
# docker/nginx/nginx.conf, its upstream the servers on 127.0.0.1 (round robin, idle
# connections kept) instead of Docker's `api`, its files in <dir>. The Compose file's
# per-address limit_req lines are left out: every request of a local test or benchmark
# comes from 127.0.0.1, and the servers' own limits, which read X-Forwarded-For (nginx
# appends its peer), still apply. Returns once it answers /livez through a server.
# nginx_front_stop <dir> stops it.
nginx_front_start() {
  local dir=$1 port=$2 server i upstream
  shift 2
  mkdir -p -- "$dir"
  upstream="upstream local_servers {"
  for server in "$@"; do upstream+=" server 127.0.0.1:$server;"; done
  upstream+=" keepalive 64; }"
  sed -e "s|^http {|http {\n    $upstream|" \
    -e "s|listen 80 default_server;|listen 127.0.0.1:$port;|" \
    -e "s|set \$api api:8080;|set \$api local_servers;|" \
    -e "s|access_log /dev/stdout main;|access_log $dir/access.log main;|" \
    -e "s|error_log /dev/stderr error;|error_log $dir/error.log error;|" \
    -e '/limit_req/d' \
    "$ROOT/docker/nginx/nginx.conf" >"$dir/nginx.conf"
  log "starting nginx on 127.0.0.1:$port in front of $# servers (log: $dir/error.log)"
  /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid;" 2>>"$dir/error.log" ||
    die "nginx did not start: $(tail -n 5 -- "$dir/error.log")"
  for ((i = 0; i < 100; i++)); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/livez"; then return 0; fi
    sleep 0.1
  done
  die "nginx on port $port did not answer /livez"
}

nginx_front_stop() {
  local pid
  pid=$(cat -- "$1/nginx.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == nginx ]] || return 0
  kill -QUIT "$pid" 2>/dev/null || return 0
  wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Fuzzing: the libFuzzer harnesses of tests/fuzz (docs/reliability.md, Fuzzing)
# ---------------------------------------------------------------------------

FUZZ_BUILD_DIR=$ROOT/build/fuzz

# fuzz_build: Debian's clang and its libFuzzer runtime (a recommendation of clang's, which
# ensure_packages leaves out), then the harnesses with ASan and UBSan in build/fuzz.
fuzz_build() {
  OBSERVERNET_PACKAGES+=(clang libclang-rt-14-dev)
  ensure_packages
  build "$FUZZ_BUILD_DIR" -DOBSERVERNET_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER=clang++
}

# fuzz_harnesses: the name of each harness, tests/fuzz/<name>_fuzz.cpp, one a line.
fuzz_harnesses() {
  local source
  for source in "$ROOT"/tests/fuzz/*_fuzz.cpp; do
    source=${source##*/}
    printf '%s\n' "${source%_fuzz.cpp}"
  done
}

# fuzz_run <harness> <seconds> <corpus-dir> <crash-dir>: runs the harness for <seconds>
# over its committed corpus, tests/fuzz/corpus/<harness>, and <corpus-dir>, where the
# inputs it finds go (the committed corpus is left as it is). An input that crashes it or
# breaks one of its properties is saved as <crash-dir>/<harness>-crash-*, and its report
# shown. Prints one line: executions, seconds, crashes, corpus size. False on a crash.
fuzz_run() {
  local name=$1 seconds=$2 corpus=$3 crashes=$4 rc=0 start log runs corpus_size found earlier
  mkdir -p -- "$corpus" "$crashes"
  log=$corpus.log
  earlier=$(find "$crashes" -maxdepth 1 -name "$name-*" | wc -l)
  start=${EPOCHREALTIME/,/.}
  "$FUZZ_BUILD_DIR/tests/fuzz/${name}_fuzz" -max_total_time="$seconds" -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$crashes/$name-" \
    "$corpus" "$ROOT/tests/fuzz/corpus/$name" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1 || true)
  # The corpus as libFuzzer holds it at the end: every input that adds coverage.
  corpus_size=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
  corpus_size=${corpus_size:-?/?}
  found=$(($(find "$crashes" -maxdepth 1 -name "$name-*" | wc -l) - earlier))
  printf '%-18s %9s executions in %s s, %s crashes, corpus of %s inputs (%s)\n' "$name" \
    "${runs:-?}" "$(_phase_seconds "$start" "${EPOCHREALTIME/,/.}")" "$found" \
    "${corpus_size%%/*}" "${corpus_size#*/}"
  if ((rc != 0 || found > 0)); then
    tail -n 40 -- "$log" >&2 || true
    warn "$name failed (exit status $rc); the input is in $crashes/, the log in $log"
    return 1
  fi
}

# fuzz_all <seconds> <corpus-root> <crash-dir> [harness...]: fuzz_run for each harness
# (every one unless some are named), one after the other, with <corpus-root>/<harness> as
# its corpus. Sets FUZZ_RESULTS (fuzz_run's lines) and FUZZ_FAILED (the harnesses that
# failed).
FUZZ_RESULTS=()
FUZZ_FAILED=()
fuzz_all() {
  local seconds=$1 corpus_root=$2 crashes=$3 name result names
  shift 3
  names=("$@")
  if ((${#names[@]} == 0)); then mapfile -t names < <(fuzz_harnesses); fi
  for name in "${names[@]}"; do
    if ! result=$(fuzz_run "$name" "$seconds" "$corpus_root/$name" "$crashes"); then
      FUZZ_FAILED+=("$name")
    fi
    printf '%s\n' "$result"
    FUZZ_RESULTS+=("$result")
  done
}

# ---------------------------------------------------------------------------
# Benchmarks: the Release server on throw-away services
# ---------------------------------------------------------------------------

# bench_server_start [VAR=value ...]: build Release, start throw-away PostgreSQL and
# Redis and `observernet serve` on a free port with the default configuration plus
# BENCH_RATE_LIMITS_LIFTED and the given environment. Sets BENCH_PORT, BENCH_PID,
# BENCH_ADMIN_KEY, BENCH_LOG and BENCH_SERVER_ENV (for bench_server_another).
# Stop with bench_server_stop (register it with on_exit through your cleanup).
# BENCH_CMAKE_ARGS adds configure arguments, e.g. (-DOBSERVERNET_BENCH=ON) for a script
# that needs a load generator built from bench/.
#
# Every benchmark's load comes from one address, 127.0.0.1, which the API's rate limits (600
# submits a minute per address...) would stop at once. The limits are lifted by config,
# not turned off: each limit admits 1,000,000 requests a second
# (the largest limit the limiter takes, over its shortest window), so the limiter still
# checks every request in Redis as in production and never refuses one.
BENCH_RATE_LIMITS_LIFTED=()
for _group in submit token elections public global token_per_voter submit_per_token; do
  _group_env=OBSERVERNET_RATELIMIT_${_group^^}
  BENCH_RATE_LIMITS_LIFTED+=("$_group_env=1000000" "${_group_env}_WINDOW_S=1")
done
unset _group _group_env
BENCH_PID=
BENCH_OTHER_PIDS=()
BENCH_CMAKE_ARGS=()
# shellcheck disable=SC2034  # read by the bench/ scripts
BENCH_TOOLS=${OBSERVERNET_BENCH_TOOLS:-$ROOT/build/release}
# shellcheck disable=SC2120  # the environment arguments are optional
bench_server_start() {
  OBSERVERNET_PACKAGES+=(wrk curl)
  if [[ ${BENCH_PGBOUNCER:-0} == 1 ]]; then OBSERVERNET_PACKAGES+=(pgbouncer); fi
  if [[ -n ${BENCH_STACK:-} ]]; then OBSERVERNET_PACKAGES+=(nginx); fi
  ensure_packages
  # OBSERVERNET_BENCH_BINARY=<file> runs that server and builds nothing, to compare two
  # builds run by run (an old and a new binary); the load generators built from bench/
  # then come from OBSERVERNET_BENCH_TOOLS (a build folder; default build/release).
  if [[ -z ${OBSERVERNET_BENCH_BINARY:-} ]]; then
    build "$ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DOBSERVERNET_TESTS=OFF \
      "${BENCH_CMAKE_ARGS[@]}"
  fi
  throwaway_services_start durable
  BENCH_ADMIN_KEY=$(openssl rand -hex 32)
  # Kept for benchmarks' admin-only fast paths (bench_tokens --direct).
  BENCH_MASTER_KEY=$(openssl rand -hex 32)
  BENCH_SERVER_ENV=(
    OBSERVERNET_DATABASE_URL="$THROWAWAY_DATABASE_URL"
    OBSERVERNET_REDIS_URL="$THROWAWAY_REDIS_URL"
    OBSERVERNET_AUTH_VOTER_PEPPER="$(openssl rand -hex 32)"
    OBSERVERNET_AUTH_MASTER_KEY="$BENCH_MASTER_KEY"
    OBSERVERNET_AUTH_LOG_KEY="$(openssl rand -hex 32)"
    OBSERVERNET_AUTH_ADMIN_KEY_HASHES="$(printf '%s' "$BENCH_ADMIN_KEY" | sha256sum | cut -d' ' -f1)"
    OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS=0
    "${BENCH_RATE_LIMITS_LIFTED[@]}")
  BENCH_LOG=$THROWAWAY_DIR/server.log
  BENCH_PORT=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT")
  throwaway_migrate "${OBSERVERNET_BENCH_BINARY:-$ROOT/build/release/observernet}"
  # BENCH_PGBOUNCER=1: the servers reach PostgreSQL through PgBouncer (Debian's, in
  # transaction pooling) with prepared statements off (docs/operations.md, PgBouncer).
  # BENCH_REPLICA=async|sync: a streaming replica too, synchronous (every commit waits
  # for the replica's flush: synchronous_standby_names = '*') or not, and the servers get
  # both in one URL that connects to whichever accepts writes (target_session_attrs), so
  # that they follow a promotion without a restart (bench/failover.sh).
  if [[ -n ${BENCH_REPLICA:-} ]]; then
    [[ $BENCH_REPLICA == sync || $BENCH_REPLICA == async ]] || die "BENCH_REPLICA: sync or async"
    throwaway_replica_start
    if [[ $BENCH_REPLICA == sync ]]; then
      as_pg_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$THROWAWAY_PG_DIR" \
        -p "$THROWAWAY_PG_PORT" -U "$(pg_os_user)" -d postgres \
        -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" \
        >/dev/null
    fi
    local secret replica_port
    secret=$(<"$THROWAWAY_DIR/secrets/pg-password")
    replica_port=$(sed -n 4p -- "$THROWAWAY_REPLICA_DIR/postmaster.pid")
    BENCH_SERVER_ENV+=(OBSERVERNET_DATABASE_URL="postgresql://$PG_APP_ROLE:$secret@127.0.0.1:$THROWAWAY_PG_PORT,127.0.0.1:$replica_port/$PG_APP_DB?target_session_attrs=read-write")
  fi
  # BENCH_STACK=N: the local stack (scripts/cluster): N servers sharing the PostgreSQL,
  # with a streaming replica for the public reads, and a six-node Redis Cluster, behind
  # nginx (nginx_front_start). BENCH_PORT is then nginx's; BENCH_SERVER_PORTS the servers'.
  if [[ -n ${BENCH_STACK:-} ]]; then
    [[ $BENCH_STACK =~ ^[1-9][0-9]?$ ]] || die "BENCH_STACK: the number of servers, 1 to 99"
    [[ -n $THROWAWAY_REPLICA_DIR ]] || throwaway_replica_start
    throwaway_redis_cluster_start
    BENCH_SERVER_ENV+=(OBSERVERNET_DATABASE_REPLICA_URLS="$THROWAWAY_REPLICA_DATABASE_URL"
      OBSERVERNET_REDIS_URL="$THROWAWAY_REDIS_CLUSTER_URL")
  fi
  if [[ ${BENCH_PGBOUNCER:-0} == 1 ]]; then
    pgbouncer_start "$THROWAWAY_DIR/pgbouncer" \
      "$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT" "$BENCH_PORT")"
    BENCH_SERVER_ENV+=(OBSERVERNET_DATABASE_URL="$THROWAWAY_POOLED_DATABASE_URL"
      OBSERVERNET_DATABASE_PREPARED_STATEMENTS=false)
  fi
  if [[ -z ${BENCH_STACK:-} ]]; then
    _bench_launch "$BENCH_PORT" "$BENCH_LOG" "$@"
    BENCH_PID=$_BENCH_LAUNCHED
    return 0
  fi
  local i port
  BENCH_SERVER_PORTS=()
  for ((i = 0; i < BENCH_STACK; i++)); do
    port=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT" "$BENCH_PORT" \
      "${THROWAWAY_REDIS_CLUSTER_PORTS[@]}" "${BENCH_SERVER_PORTS[@]}")
    BENCH_SERVER_PORTS+=("$port")
    if ((i == 0)); then
      _bench_launch "$port" "$BENCH_LOG" "$@"
      BENCH_PID=$_BENCH_LAUNCHED
    else
      _bench_launch "$port" "$THROWAWAY_DIR/server-$port.log" "$@"
      BENCH_OTHER_PIDS+=("$_BENCH_LAUNCHED")
    fi
  done
  nginx_front_start "$THROWAWAY_DIR/nginx" "$BENCH_PORT" "${BENCH_SERVER_PORTS[@]}"
}

# bench_server_another [VAR=value ...]: a second server on the same services with the
# same secrets and the given environment on top (to compare configurations in one
# run). Sets BENCH_OTHER_PORT; bench_server_stop stops it too.
bench_server_another() {
  BENCH_OTHER_PORT=$(free_port "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT" "$BENCH_PORT")
  _bench_launch "$BENCH_OTHER_PORT" "$THROWAWAY_DIR/server-$BENCH_OTHER_PORT.log" "$@"
  BENCH_OTHER_PIDS+=("$_BENCH_LAUNCHED")
}

# _bench_launch PORT LOG [VAR=value ...]: starts a server on the migrated throw-away
# database and waits until it is ready; sets _BENCH_LAUNCHED to its pid.
_bench_launch() {
  local port=$1 log_file=$2 i
  shift 2
  env "${BENCH_SERVER_ENV[@]}" "$@" \
    "${OBSERVERNET_BENCH_BINARY:-$ROOT/build/release/observernet}" serve --port "$port" \
    >"$log_file" 2>&1 &
  _BENCH_LAUNCHED=$!
  for ((i = 0; i < 300; i++)); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 -- "$log_file" >&2 || true
  die "the server on port $port did not become ready"
}

bench_server_stop() {
  local pid
  for pid in "${BENCH_OTHER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
  done
  BENCH_OTHER_PIDS=()
  if [[ -n $BENCH_PID ]]; then
    # Its log goes with the throw-away dir: show why before it is gone.
    if ! kill -0 "$BENCH_PID" 2>/dev/null; then
      local status=0
      wait "$BENCH_PID" || status=$?
      warn "the server had exited (status $status)"
      tail -n 20 -- "$BENCH_LOG" >&2 || true
    fi
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" || true
    BENCH_PID=
  fi
  if [[ -n $THROWAWAY_DIR ]]; then nginx_front_stop "$THROWAWAY_DIR/nginx"; fi
  throwaway_services_remove
}

# bench_begin [VAR=value ...]: bench_server_start, with the server and services
# stopped however the script ends.
# shellcheck disable=SC2317  # only reached through the trap
_bench_cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  bench_server_stop
  exit "$rc"
}
# shellcheck disable=SC2120  # the environment arguments are optional
bench_begin() {
  on_exit _bench_cleanup
  bench_server_start "$@"
}

# bench_admin METHOD PATH [curl args...]: an admin API call; prints the body.
bench_admin() {
  local method=$1 path=$2
  shift 2
  curl -sS -X "$method" -H "Authorization: Bearer $BENCH_ADMIN_KEY" "$@" \
    "http://127.0.0.1:$BENCH_PORT$path"
}

# bench_create_election: creates the election whose JSON definition is on stdin, a draft;
# prints its id.
bench_create_election() {
  local election id
  election=$(bench_admin POST /api/v1/elections -H 'Content-Type: application/json' \
    --data-binary @-)
  id=$(sed -E 's/.*"id":"([0-9a-f-]{36})".*/\1/' <<<"$election")
  [[ $id =~ ^[0-9a-f-]{36}$ ]] || die "creating the election failed: $election"
  printf '%s\n' "$id"
}

# bench_import_voters ID CSV CREDENTIALS: imports the voters of CSV (a voterId column)
# into election ID, the import's answer (each voter's credential) into CREDENTIALS.
bench_import_voters() {
  local status
  status=$(bench_admin POST "/api/v1/elections/$1/voters" -H 'Content-Type: text/csv' \
    --data-binary "@$2" -o "$3" -w '%{http_code}')
  [[ $status == 201 ]] || die "the voter import of $2 answered $status"
}

# bench_roll_and_open ID CSV CREDENTIALS: imports the voters of CSV (a voterId column)
# into election ID, the import's answer (each voter's credential) into CREDENTIALS, and
# opens it.
bench_roll_and_open() {
  local status
  bench_import_voters "$1" "$2" "$3"
  status=$(bench_admin POST "/api/v1/elections/$1/open" -o /dev/null -w '%{http_code}')
  [[ $status == 200 ]] || die "opening the election answered $status"
}

# bench_open_election: bench_create_election with one voter, opened; prints its id.
bench_open_election() {
  local id
  id=$(bench_create_election)
  printf 'voterId\nvoter-1\n' >"$THROWAWAY_DIR/one-voter.csv"
  bench_roll_and_open "$id" "$THROWAWAY_DIR/one-voter.csv" /dev/null
  printf '%s\n' "$id"
}

# bench_stage_stand_in_leaves ELECTION N: N ballots of ELECTION written straight into
# ballots_staged, as the group commit stages them, for its sequencer to publish as one set.
# Not ballots: receipt k (0 to N - 1) is the SHA-256 of the number k, and the leaf a
# stand-in of a ballot's size, JSON with no selections for the running tally to parse.
# (bench/growth.sh makes real ballots.)
bench_stage_stand_in_leaves() {
  throwaway_psql -c "INSERT INTO ballots_staged (election_id, token_message, leaf, receipt)
        SELECT '$1', sha256(('t' || k)::bytea), '{\"selections\":[],\"x\":\"' || repeat('x', 540) || '\"}',
               sha256(k::text::bytea)
        FROM generate_series(0, $(($2 - 1))) AS k"
}

# bench_direct_tokens ELECTION COUNT FILE [bench_tokens options...]: COUNT tokens for
# ELECTION, signed directly with its key (bench_tokens --direct, the admin-only fast path:
# the sealed key unsealed with the master key, as the signers do), one "message
# signature" line each (or what the options ask for: --staged-ballots), into FILE.
# Needs BENCH_CMAKE_ARGS=(-DOBSERVERNET_BENCH=ON) before bench_begin.
bench_direct_tokens() {
  throwaway_psql -c "SELECT encode(private_key_sealed, 'hex') FROM election_keys
    WHERE election_id = '$1'" >"$THROWAWAY_DIR/sealed-key.hex"
  OBSERVERNET_AUTH_MASTER_KEY=$BENCH_MASTER_KEY "$BENCH_TOOLS/bench_tokens" \
    --direct "$2" --sealed-key "$THROWAWAY_DIR/sealed-key.hex" --election "$1" \
    --threads "$(nproc)" --out "$3" "${@:4}"
}

# bench_cpu_ticks: CPU time in clock ticks (user + system) of the servers (BENCH_PID and
# BENCH_OTHER_PIDS), of the throw-away PostgreSQL (the postmaster and its children), and
# of the whole machine: busy, idle, and stolen (time the hypervisor gave to other guests
# while this one wanted to run).
bench_cpu_ticks() {
  local postmaster servers
  postmaster=$(sed -n 1p "$THROWAWAY_PG_DIR/postmaster.pid")
  servers=$(printf '%s|' "$BENCH_PID" "${BENCH_OTHER_PIDS[@]}")
  # shellcheck disable=SC2046  # one argument per process
  set -- $(printf '/proc/%s/stat ' "$BENCH_PID" "${BENCH_OTHER_PIDS[@]}") \
    $(pgrep -P "$postmaster" | sed 's|.*|/proc/&/stat|') "/proc/$postmaster/stat"
  awk -v servers="^/proc/(${servers%|})/" \
    'FILENAME != "/proc/stat" && FNR == 1 { t = $14 + $15; if (FILENAME ~ servers) s += t; else p += t }
     FILENAME == "/proc/stat" && $1 == "cpu" { idle = $5 + $6; busy = $2 + $3 + $4 + $7 + $8; steal = $9 }
     END { print s + 0, p + 0, busy + 0, idle + 0, steal + 0 }' "$@" /proc/stat 2>/dev/null
}

# bench_machine: one line on what the numbers were measured on.
bench_machine() {
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load generator and server share them"
}
