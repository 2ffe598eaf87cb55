#!/usr/bin/env bash
# Checks the container files without a Docker engine:
#   - docker/docker-compose.production.yaml passes `docker-compose config` (Debian 12's
#     docker-compose 1.29) with docker/observernet.env.example as its env file, and its
#     parts agree with each other (trusted proxies = network subnet, the mounts that
#     Prometheus' and Grafana's files expect);
#   - docker/nginx/nginx.conf passes `nginx -t`, and, run in front of a stand-in server,
#     passes the server's caching headers through, hides clients in its access log on
#     the voting API, the booth and the receipt page, and refuses /metrics;
#   - the image holds the web pages where OBSERVERNET_WEB_ROOT points;
#   - every package the runtime stage of docker/Dockerfile installs exists in Debian 12.
# Installs docker-compose and nginx (Debian packages) when missing. One line per check;
# exit status 1 if any failed. Runs from any directory: the repository is the one
# this script is in.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COMPOSE_FILE=$ROOT/docker/docker-compose.production.yaml
ENV_EXAMPLE=$ROOT/docker/observernet.env.example
NGINX_CONF=$ROOT/docker/nginx/nginx.conf
DOCKERFILE=$ROOT/docker/Dockerfile

failures=0
ok() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  failures=$((failures + 1))
}

# shellcheck source=common.sh source-path=SCRIPTDIR
source "$ROOT/scripts/checks/common.sh"

# --- tools -------------------------------------------------------------------
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
# For the cross-file checks below (docker-compose depends on it anyway).
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
# apt-cache show needs package lists, which a fresh container does not have.
if ((${#missing[@]} > 0)); then
  printf '==> installing %s\n' "${missing[*]}"
  apt_install "${missing[@]}"
elif ! apt-cache show libc6 >/dev/null 2>&1; then
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# --- Compose file --------------------------------------------------------------
# A copy of the two files only: the real docker/observernet.env (secrets) is never read.
mkdir -p "$tmp/compose/docker"
cp -- "$COMPOSE_FILE" "$tmp/compose/docker/"
cp -- "$ENV_EXAMPLE" "$tmp/compose/docker/observernet.env"
compose=(docker-compose --env-file "$tmp/compose/docker/observernet.env"
  -f "$tmp/compose/docker/$(basename -- "$COMPOSE_FILE")")
# `config` validates like `config -q` and also prints the resolved file for the
# checks after it.
if "${compose[@]}" config >"$tmp/compose.yaml" 2>"$tmp/compose.err"; then
  ok "docker-compose config accepts $(basename -- "$COMPOSE_FILE") with observernet.env.example"
else
  fail "docker-compose config: $(tr '\n' ' ' <"$tmp/compose.err")"
fi

# The resolved file's parts must agree with each other and with the files they mount.
if [[ -s $tmp/compose.yaml ]]; then
  python3 - "$tmp/compose.yaml" "$ROOT" <<'PY' || failures=$((failures + $?))
import sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
root = sys.argv[2]
services = compose["services"]
bad = 0

def check(cond, what):
    global bad
    print(("ok    " if cond else "FAIL  ") + what)
    bad += not cond

def mounts(service):
    """container path -> host path (relative to the repo) of a service's bind mounts"""
    out = {}
    for v in services[service].get("volumes", []):
        parts = v.split(":") if isinstance(v, str) else [v["source"], v["target"]]
        out[parts[1]] = parts[0]
    return out

want = {"api", "migrate", "nginx", "postgres", "pgbouncer", "redis", "prometheus", "grafana"}
check(want <= services.keys(), "services: " + ", ".join(sorted(want)))

api = services["api"]
env = api.get("environment", {})
subnets = [c["subnet"] for n in compose.get("networks", {}).values() if n
           for c in (n.get("ipam") or {}).get("config", [])]
check(env.get("OBSERVERNET_RATELIMIT_TRUSTED_PROXIES") in subnets,
      "api trusts the network's subnet (%s)" % ", ".join(subnets))
check("@pgbouncer:" in env.get("OBSERVERNET_DATABASE_URL", ""), "api reaches PostgreSQL through pgbouncer")
check("@postgres:" in services["migrate"].get("environment", {}).get("OBSERVERNET_DATABASE_URL", ""),
      "migrate reaches PostgreSQL directly (session advisory lock)")
check(api.get("depends_on", {}).get("migrate", {}).get("condition") == "service_completed_successfully",
      "api waits for migrate to succeed")
migrate_keys = sorted(k for k in services["migrate"].get("environment", {}) if k.startswith("OBSERVERNET_AUTH_"))
check(not migrate_keys and "env_file" not in services["migrate"],
      "migrate holds no auth key (docs/security.md, Keys)" +
      (": it has " + ", ".join(migrate_keys) if migrate_keys else ""))
# Append-only history (docs/security.md): the api runs as a role that is neither the
# owner migrate connects as nor unnamed, and migrate grants that very role.
def user_of(url):
    return url.split("://", 1)[-1].split(":", 1)[0]
api_user = user_of(env.get("OBSERVERNET_DATABASE_URL", ""))
migrate_env = services["migrate"].get("environment", {})
check(api_user != user_of(migrate_env.get("OBSERVERNET_DATABASE_URL", ""))
      and migrate_env.get("OBSERVERNET_DATABASE_RUNTIME_ROLE") == api_user
      and services["pgbouncer"].get("environment", {}).get("DB_USER") == api_user,
      "api and pgbouncer run as the runtime role (%s) that migrate grants, not as the owner" % api_user)
check(mounts("postgres").get("/docker-entrypoint-initdb.d/10-runtime-role.sh", "").endswith("postgres/10-runtime-role.sh"),
      "postgres creates the runtime role when it creates its data directory")
check("container_name" not in api and not api.get("ports"), "api has no container_name or host port (--scale)")
redis_args = services["redis"].get("command", [])
def arg(name):
    return redis_args[redis_args.index(name) + 1] if name in redis_args[:-1] else None
check(arg("--appendonly") == "no" and arg("--save") == "" and not services["redis"].get("volumes"),
      "redis persists nothing (no AOF, no RDB, no volume): the rate limits never reach a disk")

prom = yaml.safe_load(open(root + "/docker/prometheus/prometheus.yml"))
jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
sd = (jobs.get("observernet-api", {}).get("dns_sd_configs") or [{}])[0]
check(sd.get("names") == ["api"] and sd.get("type") == "A" and sd.get("port") == 8080,
      "prometheus job observernet-api finds replicas by DNS (api, A, 8080)")
m = mounts("prometheus")
check("/etc/prometheus/rules/alerts.yml" in prom.get("rule_files", [])
      and m.get("/etc/prometheus/rules", "").rstrip("/").endswith("/config/prometheus"),
      "prometheus loads /etc/prometheus/rules/alerts.yml from config/prometheus/")

ds = yaml.safe_load(open(root + "/config/grafana/provisioning/datasources/prometheus.yaml"))["datasources"][0]
check(ds.get("uid") == "prometheus" and ds.get("url") == "http://prometheus:9090",
      "grafana datasource uid prometheus at http://prometheus:9090")
prov = yaml.safe_load(open(root + "/config/grafana/provisioning/dashboards/observernet.yaml"))["providers"][0]
m = mounts("grafana")
check(m.get(prov["options"]["path"], "").rstrip("/").endswith("/config/grafana/dashboards")
      and m.get("/etc/grafana/provisioning", "").rstrip("/").endswith("/config/grafana/provisioning"),
      "grafana mounts config/grafana/provisioning and the dashboards path its provider reads")
sys.exit(bad)
PY
fi

# --- nginx -----------------------------------------------------------------------
# -p: a prefix of our own for relative paths; -g: pid and error log in it too, so
# nothing under /etc or /var is written.
if "$NGINX" -t -q -p "$tmp/" -c "$NGINX_CONF" \
  -g "pid $tmp/nginx.pid; error_log $tmp/nginx-error.log;" 2>"$tmp/nginx.err"; then
  ok "nginx -t accepts docker/nginx/nginx.conf ($("$NGINX" -v 2>&1 | sed 's/.*version: //'))"
else
  fail "nginx -t: $(tr '\n' ' ' <"$tmp/nginx.err")"
fi

# nginx in front of a stand-in server (a few lines of Python answering with the
# server's kind of headers), on loopback ports: it passes the server's caching and
# encoding headers through unchanged and adds none, gives the client's Host (with its
# port), hides the client's address in its access log on the voting API, the booth and
# the receipt page, and never passes /metrics on.
cat >"$tmp/stand_in.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"\x1f\x8b stand-in"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("ETag", '"stand-in"')
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$tmp/stand_in.py" >"$tmp/stand_in.port" &
stand_in_pid=$!
nginx_pid=
# Stops both however the script ends (expanded then, so nginx_pid counts once set).
trap 'kill "$stand_in_pid" $nginx_pid 2>/dev/null || true; rm -rf -- "$tmp"' EXIT
for _ in $(seq 50); do [[ -s $tmp/stand_in.port ]] && break; sleep 0.1; done
stand_in_port=$(cat "$tmp/stand_in.port" || true)
# The same file, pointed at the stand-in instead of Docker's DNS and `api`, and
# logging to files.
sed -e "s|listen 80 default_server;|listen 127.0.0.1:$nginx_port;|" \
  -e "s|set \$api api:8080;|set \$api 127.0.0.1:$stand_in_port;|" \
  -e "s|access_log /dev/stdout main;|access_log $tmp/access.log main;|" \
  -e "s|error_log /dev/stderr error;|error_log $tmp/nginx-run-error.log error;|" \
  "$NGINX_CONF" >"$tmp/nginx-run.conf"
"$NGINX" -p "$tmp/" -c "$tmp/nginx-run.conf" -g "pid $tmp/nginx-run.pid; daemon off;" \
  2>>"$tmp/nginx-run-error.log" &
nginx_pid=$!
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port/livez" && break
  sleep 0.1
done
headers=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$nginx_port/vote/x" |
  tr -d '\r' || true)
if [[ $(grep -ci '^cache-control:' <<<"$headers") == 1 ]] &&
  grep -qx 'Cache-Control: no-cache' <<<"$headers" &&
  grep -qx 'ETag: "stand-in"' <<<"$headers" &&
  grep -qx 'Content-Encoding: gzip' <<<"$headers" &&
  ! grep -qi '^expires:' <<<"$headers" &&
  grep -qx "X-Seen-Host: 127.0.0.1:$nginx_port" <<<"$headers"; then
  ok "nginx passes the server's Cache-Control, ETag and Content-Encoding unchanged, adds none, and the Host with its port"
else
  fail "nginx changed the server's headers or the Host: $(tr '\n' '|' <<<"$headers")"
fi
for path in /api/v1/voting/submit /vote/x /receipts /elections/x /assets/a.js /metrics \
  /api/v1/elections/x/token-key "/api/v1/public/elections/x/proofs/inclusion?receipt=abc"; do
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port$path" || true
done
kill -QUIT "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true
kill "$stand_in_pid" 2>/dev/null || true
wait "$stand_in_pid" 2>/dev/null || true
log_of() { grep -F " \"GET $1\" " "$tmp/access.log" 2>/dev/null | head -n 1 || true; }
if [[ $(log_of /api/v1/voting/submit) == hidden\ * && $(log_of /vote/x) == hidden\ * &&
  $(log_of /receipts) == hidden\ * && $(log_of /elections/x) == 127.0.0.1\ * &&
  $(log_of /api/v1/elections/x/token-key) == hidden\ * &&
  $(log_of /api/v1/public/elections/x/proofs/inclusion) == hidden\ * &&
  $(grep -c 'receipt=' "$tmp/access.log") == 0 &&
  $(log_of /assets/a.js) == "127.0.0.1 \"GET /assets/a.js\" 200 "* ]]; then
  ok "nginx's access log hides the client on /api/v1/voting, /api/v1/public, the token key, /vote/ and /receipts, writes no query string, serves the pages' paths"
else
  fail "nginx access log: $(tr '\n' '|' <"$tmp/access.log" 2>/dev/null || true)"
fi
if [[ $(log_of /metrics) == *'"GET /metrics" 403 '* ]]; then
  ok "nginx refuses /metrics"
else
  fail "nginx did not refuse /metrics: $(log_of /metrics)"
fi

# --- Dockerfile web pages ---------------------------------------------------------------
# The runtime image sets OBSERVERNET_WEB_ROOT to the folder the web stage's dist/ is
# copied to (the server refuses to start when an explicit web.root lacks the pages).
web_root=$(sed -n 's/^ *OBSERVERNET_WEB_ROOT=\([^ ]*\).*/\1/p' "$DOCKERFILE" | head -n 1)
if [[ -n $web_root ]] && grep -qx "COPY --from=web /src/web/dist/ ${web_root%/}/" "$DOCKERFILE"; then
  ok "the image holds web/dist at OBSERVERNET_WEB_ROOT ($web_root)"
else
  fail "docker/Dockerfile: no 'COPY --from=web /src/web/dist/ <dir>/' matching OBSERVERNET_WEB_ROOT (${web_root:-unset})"
fi

# --- Dockerfile runtime packages ----------------------------------------------------
# The runtime stage is everything after the last FROM; its `apt-get install` words
# that are not options, up to the next &&, are the packages.
mapfile -t packages < <(
  awk '/^FROM[ \t]/ { n = 0 } { stage[n++] = $0 } END { for (i = 0; i < n; i++) print stage[i] }' "$DOCKERFILE" |
    sed -e ':a' -e '/\\$/{N; s/\\\n/ /; ta}' |
    awk '/apt-get[ \t].*install/ {
           on = 0
           for (i = 1; i <= NF; i++) {
             if ($i == "&&") { if (on) break; continue }
             if (on && $i !~ /^-/) print $i
             if ($i == "install") on = 1
           }
         }'
)
# shellcheck source=/dev/null
. /etc/os-release
if ((${#packages[@]} == 0)); then
  fail "no apt-get install line found in the runtime stage of docker/Dockerfile"
else
  # One apt-cache call for all (each takes a second): the Package: lines it prints
  # are the names that exist (it fails when none does, hence `|| true`). A purely
  # virtual name prints none, which is right: apt could not install it by that name.
  found=" $({ apt-cache show --no-all-versions -- "${packages[@]}" 2>/dev/null || true; } |
    awk '/^Package:/ { printf "%s ", $2 }') "
  for pkg in "${packages[@]}"; do
    if [[ $found == *" $pkg "* ]]; then
      ok "runtime package $pkg exists in $PRETTY_NAME"
    else
      fail "runtime package $pkg not found by apt-cache show in $PRETTY_NAME"
    fi
  done
fi

if ((failures > 0)); then
  printf '%d check(s) failed\n' "$failures"
  exit 1
fi
echo "all compose checks passed"
