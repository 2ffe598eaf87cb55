#!/usr/bin/env bash
# Benchmark of the web front end's static serving: GET of the booth's HTML (/vote/{id})
# and of its main script (/assets/booth.<hash>.js, named in web/dist/booth.html), with
# `Accept-Encoding: gzip`, wrk at 100 connections, against the Release server (pages
# from memory, web.root = web/dist) and Debian's nginx serving the same web/dist
# (gzip_static: the same .gz files; Debian's nginx has no brotli, so gzip against
# gzip), in one run, interleaved: each run measures both paths on both servers in turn,
# so a slower spell of the machine hits both alike. Goal: observernet at least 90 % of
# nginx's requests/s, with p99 under 10 ms. Numbers go in docs/benchmarks.md.
#
#   bench/web_static.sh [seconds-per-measurement] [runs]     (default 10 s, 3 runs)
#
# Both sides are set up alike:
#   - as many server threads as nginx workers (BENCH_THREADS, default: the cores);
#   - access logs off on both (BENCH_ACCESS_LOG=on: both on, to a file, nginx buffered
#     as the server's log thread is);
#   - nginx sends the same response headers as the server (its CSP, nosniff, ETag,
#     Cache-Control, Vary, X-Request-Id...), copied from the server's own answer, with
#     open_file_cache, sendfile, reuseport and unlimited keep-alive requests;
#   - the server keeps its production defaults otherwise, rate limiter included (with
#     the limits lifted as in every benchmark, see scripts/lib.sh).
# wrk, the server and nginx share the machine's cores (one wrk thread).
# Builds web/dist when it is missing (BENCH_WEB_DIST=<dir>: serve that build instead);
# installs wrk and nginx-light when missing.
set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/..
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# apt_install: nginx's postinst must not start a system nginx on port 80.
# shellcheck source=scripts/checks/common.sh source-path=SCRIPTDIR/..
source "$ROOT/scripts/checks/common.sh"

duration=${1:-10}
runs=${2:-3}
connections=100
threads=${BENCH_THREADS:-$(nproc)}
access_log=${BENCH_ACCESS_LOG:-off}
# BENCH_WEB_DIST: another build's dist/ (used as it is, never built here).
DIST=${BENCH_WEB_DIST:-$ROOT/web/dist}

# --- tools and web/dist ------------------------------------------------------------------
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || apt_install nginx-light
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# shellcheck disable=SC2119  # no extra packages
ensure_web_packages
OBSERVERNET_PACKAGES+=(wrk curl)
ensure_packages
if [[ -z ${BENCH_WEB_DIST:-} && ! -s $DIST/booth.html ]]; then
  check_node
  web_npm_ci
  web_build
fi
script=$(grep -o '<script type="module" src="/assets/[^"]*\.js"' "$DIST/booth.html" |
  head -n 1 | sed -E 's/.*src="([^"]*)"/\1/' || true)
[[ -n $script && -s $DIST$script.gz ]] ||
  die "no module script with a .gz sibling found in web/dist/booth.html"
vote_path=/vote/$(cat /proc/sys/kernel/random/uuid)

# --- the server -----------------------------------------------------------------------
server_env=(OBSERVERNET_WEB_ROOT="$DIST" OBSERVERNET_HTTP_THREADS="$threads")
if [[ $access_log == on ]]; then
  server_env+=(OBSERVERNET_LOG_ACCESS=true)
else
  server_env+=(OBSERVERNET_LOG_ACCESS=false)
fi
NGINX_DIR=
NGINX_PID=
# bench_begin's cleanup, with nginx stopped first.
# shellcheck disable=SC2317  # only reached through the trap
_web_bench_cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  if [[ -n $NGINX_PID ]]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  [[ -z $NGINX_DIR ]] || rm -rf -- "$NGINX_DIR"
  bench_server_stop
  exit "$rc"
}
bench_begin "${server_env[@]}"
on_exit _web_bench_cleanup
server_url=http://127.0.0.1:$BENCH_PORT

# --- nginx ----------------------------------------------------------------------------
NGINX_DIR=$(mktemp -d /tmp/observernet-web-bench.XXXXXX)
chmod 755 -- "$NGINX_DIR"
NGINX_PORT=$(free_port "$BENCH_PORT" "$THROWAWAY_PG_PORT" "$THROWAWAY_REDIS_PORT")
# The server's headers, as nginx add_header lines: those nginx makes itself (status line,
# Date, Content-*, ETag, Last-Modified, Connection, Keep-Alive, Server, Accept-Ranges)
# are left to it, and X-Request-Id gets nginx's own per-request id.
server_headers() {
  curl -sS -o /dev/null -D - -H 'Accept-Encoding: gzip' "$server_url$1" |
    tr -d '\r' | tail -n +2 |
    grep -viE '^(date|content-(length|type|encoding)|etag|last-modified|connection|keep-alive|server|accept-ranges|transfer-encoding|vary|x-request-id):' |
    grep -v '^$' |
    sed -E -e 's/"/\\"/g' -e 's/^([^:]+): (.*)$/add_header \1 "\2" always;/' || true
}
page_headers=$(server_headers "$vote_path")
asset_headers=$(server_headers "$script")
[[ -n $page_headers && -n $asset_headers ]] || die "the server sent no headers for $vote_path or $script"
if [[ $access_log == on ]]; then
  nginx_log="access_log $NGINX_DIR/access.log combined buffer=64k flush=200ms;"
else
  nginx_log="access_log off;"
fi
nginx_user=
((EUID != 0)) || nginx_user="user nobody nogroup;"
cat >"$NGINX_DIR/nginx.conf" <<EOF
$nginx_user
worker_processes $threads;
worker_rlimit_nofile 65536;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log error;
events {
    worker_connections 16384;
}
http {
    types {
        text/html                html;
        text/css                 css;
        text/javascript          js;
        application/json         json;
        image/svg+xml            svg;
    }
    charset utf-8;
    charset_types text/css text/javascript application/json;
    default_type application/octet-stream;
    $nginx_log
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    gzip_static on;
    gzip_vary on;
    etag on;
    client_body_temp_path $NGINX_DIR/body;
    proxy_temp_path $NGINX_DIR/proxy;
    fastcgi_temp_path $NGINX_DIR/fastcgi;
    uwsgi_temp_path $NGINX_DIR/uwsgi;
    scgi_temp_path $NGINX_DIR/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
        root $DIST;
        location /vote/ {
            try_files /booth.html =404;
$page_headers
            add_header X-Request-Id \$request_id always;
        }
        location /assets/ {
$asset_headers
            add_header X-Request-Id \$request_id always;
        }
    }
}
EOF
"$NGINX" -q -t -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" 2>"$NGINX_DIR/t.err" ||
  die "nginx -t: $(cat "$NGINX_DIR/t.err")"
"$NGINX" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
for ((i = 0; i < 50; i++)); do
  port_in_use "$NGINX_PORT" && break
  sleep 0.1
done
port_in_use "$NGINX_PORT" || die "nginx did not start: $(cat "$NGINX_DIR/error.log" 2>/dev/null)"
nginx_url=http://127.0.0.1:$NGINX_PORT

# --- both answer the same bytes ---------------------------------------------------------
# status, Content-Encoding and body size of a gzip GET
probe() {
  curl -sS -o /dev/null -D - -w 'size=%{size_download}\n' -H 'Accept-Encoding: gzip' "$1" |
    tr -d '\r' | awk 'NR == 1 { status = $2 } tolower($1) == "content-encoding:" { enc = $2 }
      /^size=/ { sub("size=", ""); print status, (enc == "" ? "identity" : enc), $0 }'
}
echo "web/dist: booth HTML $(stat -c %s "$DIST/booth.html.gz") bytes gzip, $script $(stat -c %s "$DIST$script.gz") bytes gzip"
# the names of the header fields of a gzip GET, one a line, sorted
field_names() {
  curl -sS -o /dev/null -D - -H 'Accept-Encoding: gzip' "$1" | tr -d '\r' | tail -n +2 |
    sed -n 's/^\([^:]*\):.*/\1/p' | tr '[:upper:]' '[:lower:]' | sort
}
for path in "$vote_path" "$script"; do
  a=$(probe "$server_url$path")
  b=$(probe "$nginx_url$path")
  echo "GET $path: observernet $a, nginx $b"
  [[ $a == "200 gzip "* && $a == "$b" ]] || die "the two servers do not answer $path alike (status, encoding, size)"
  only_server=$(comm -23 <(field_names "$server_url$path") <(field_names "$nginx_url$path") | tr '\n' ' ')
  only_nginx=$(comm -13 <(field_names "$server_url$path") <(field_names "$nginx_url$path") | tr '\n' ' ')
  echo "  header fields only observernet sends: ${only_server:-none}; only nginx: ${only_nginx:-none}"
done

# --- measurements ---------------------------------------------------------------------
bench_machine
echo "wrk: 1 thread, $connections connections, ${duration}s a measurement, $runs runs;" \
  "server threads = nginx workers = $threads; access logs $access_log"
# wrk's "99%" latency in ms (it prints us, ms or s)
to_ms() {
  awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
         else if (v ~ /ms$/) { sub(/ms$/, "", v) }
         else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
         printf "%.2f", v }'
}
declare -A rps p99
for ((run = 1; run <= runs; run++)); do
  for what in html js; do
    path=$vote_path
    [[ $what == js ]] && path=$script
    for target in observernet nginx; do
      url=$server_url
      [[ $target == nginx ]] && url=$nginx_url
      out=$(wrk --threads 1 --connections "$connections" --duration "${duration}s" --latency \
        -H 'Accept-Encoding: gzip' "$url$path")
      r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
      l=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
      if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        warn "$target $what run $run: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ')"
      fi
      rps[$target.$what]+="$r "
      p99[$target.$what]+="$l "
      printf 'run %d  %-4s  %-11s  %8s req/s  p99 %6s ms\n' "$run" "$what" "$target" "$r" "$l"
    done
  done
done

# --- summary: median requests/s and median p99 of the runs --------------------------------
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "median of $runs runs          observernet             nginx            ratio   goal (>= 90 %, p99 < 10 ms)"
verdict=0
for what in html js; do
  o_r=$(median <<<"${rps[observernet.$what]}")
  n_r=$(median <<<"${rps[nginx.$what]}")
  o_l=$(median <<<"${p99[observernet.$what]}")
  n_l=$(median <<<"${p99[nginx.$what]}")
  ratio=$(awk -v o="$o_r" -v n="$n_r" 'BEGIN { printf "%.1f", (n > 0) ? 100 * o / n : 0 }')
  met=$(awk -v r="$ratio" -v l="$o_l" 'BEGIN { print (r >= 90 && l < 10) ? "met" : "missed" }')
  [[ $met == met ]] || verdict=1
  label="booth HTML (gzip)"
  [[ $what == js ]] && label="booth script (gzip)"
  printf '%-22s  %8.0f req/s %5.2f ms  %8.0f req/s %5.2f ms  %5s %%  %s\n' \
    "$label" "$o_r" "$o_l" "$n_r" "$n_l" "$ratio" "$met"
done
if ((verdict == 0)); then echo "goal met on both paths"; else echo "goal missed"; fi
