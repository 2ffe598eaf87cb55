#!/usr/bin/env bash
# Checks the monitoring configuration under config/:
#   - config/prometheus/alerts.yml is valid (promtool check rules) and its unit tests,
#     config/prometheus/alerts.test.yml, pass (promtool test rules);
#   - each Grafana dashboard under config/grafana/dashboards/ is valid JSON with the
#     expected uid and schemaVersion, and every panel has a datasource and at least one
#     target with a non-empty expr, and every query is valid PromQL.
# Installs what is missing (Debian 12, as root): promtool (package prometheus) and jq.
# One line per check; exit status non-zero if any failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
failures=0
pass() { echo "PASS  $*"; }
fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}
indent() { sed 's/^/      /'; }

# shellcheck source=common.sh source-path=SCRIPTDIR
source "$ROOT/scripts/checks/common.sh"

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]} > 0)); then
  echo "installing ${missing[*]} (apt-get)"
  apt_install "${missing[@]}"
fi

# --- Prometheus rules -------------------------------------------------------------------
rules=$ROOT/config/prometheus/alerts.yml
rule_tests=$ROOT/config/prometheus/alerts.test.yml
if out=$(promtool check rules "$rules" 2>&1); then
  pass "promtool check rules config/prometheus/alerts.yml ($(grep -o '[0-9]* rules found' <<<"$out"))"
else
  fail "promtool check rules config/prometheus/alerts.yml:"
  indent <<<"$out"
fi
# promtool resolves rule_files relative to the test file's directory.
if out=$(cd "$(dirname "$rule_tests")" && promtool test rules "$(basename "$rule_tests")" 2>&1); then
  pass "promtool test rules config/prometheus/alerts.test.yml"
else
  fail "promtool test rules config/prometheus/alerts.test.yml:"
  indent <<<"$out"
fi

# Every alert carries what Alertmanager routes on and what people read. promtool does
# not require these; no YAML parser is at hand, so awk reads alerts.yml's own layout
# (one "- alert:" line per rule, one key per line).
if out=$(awk '
    function finish() {
      if (name == "") return
      if (!has_for) print name ": no for:"
      if (severity !~ /^(page|ticket)$/) print name ": severity is not page or ticket"
      if (!has_summary) print name ": no summary annotation"
      if (!has_description) print name ": no description annotation"
      if (!has_runbook) print name ": no runbook_url annotation"
    }
    /^ *- alert:/ { finish(); name = $3; has_for = has_summary = has_description = has_runbook = 0; severity = "" }
    /^ *for:/ { has_for = 1 }
    /^ *severity:/ { severity = $2 }
    /^ *summary:/ { has_summary = 1 }
    /^ *description:/ { has_description = 1 }
    /^ *runbook_url: https:\/\/github.com\/observernet\/observernet\/blob\/main\/docs\/operations.md#/ { has_runbook = 1 }
    END { finish() }' "$rules") && [[ -z $out ]]; then
  pass "every alert has for:, severity page|ticket, summary, description and runbook_url"
else
  fail "alerts missing required fields:"
  indent <<<"$out"
fi

# --- Grafana dashboards -----------------------------------------------------------------
check_dashboard() {
  local file=$1 uid=$2 rel=${1#"$ROOT"/} problems
  if [[ ! -f $file ]]; then
    fail "$rel: missing"
    return
  fi
  if ! jq -e . "$file" >/dev/null 2>&1; then
    fail "$rel: not valid JSON"
    return
  fi
  problems=$(jq -r --arg uid "$uid" '
      (if .uid != $uid then "uid is \(.uid), expected \($uid)" else empty end),
      (if .schemaVersion != 39 then "schemaVersion is \(.schemaVersion), expected 39" else empty end),
      (if ((.panels // []) | length) == 0 then "no panels" else empty end),
      (if ([.panels[]?.id] | length) != ([.panels[]?.id] | unique | length) then "panel ids repeat" else empty end),
      (.panels[]? |
        "panel \(.id) \"\(.title)\"" as $p |
        (if (.datasource.type != "prometheus" or .datasource.uid != "prometheus")
           then "\($p): datasource is not {type: prometheus, uid: prometheus}" else empty end),
        (if ((.targets // []) | length) == 0 then "\($p): no targets" else empty end),
        ((.targets // [])[] | select((.expr // "") == "") | "\($p): target \(.refId) has no expr"))
    ' "$file" 2>&1) || problems="unexpected structure: $problems"
  if [[ -z $problems ]]; then
    pass "$rel: uid $uid, $(jq '.panels | length' "$file") panels, each with a datasource and targets"
  else
    fail "$rel:"
    indent <<<"$problems"
  fi

  # The queries parse: each becomes a recording rule of a throw-away rules file (JSON is
  # YAML) for promtool, with the template variables replaced by their "All" values.
  local tmp out
  tmp=$(mktemp --suffix=.json)
  if jq '{groups: [{name: "dashboard", rules: [
        [.panels[]?.targets[]?.expr | select(. != null)] | to_entries[] |
        {record: "dashboard_query_\(.key)",
         expr: (.value | gsub("\\$job"; "observernet-.*") | gsub("\\$instance"; ".*"))}]}]}' \
    "$file" >"$tmp" 2>&1 && out=$(promtool check rules "$tmp" 2>&1); then
    pass "$rel: every query is valid PromQL (promtool)"
  else
    fail "$rel: invalid PromQL:"
    indent <<<"${out:-$(cat "$tmp")}"
  fi
  rm -f "$tmp"
}
dashboards=$ROOT/config/grafana/dashboards
check_dashboard "$dashboards/api-performance.json" observernet-api
check_dashboard "$dashboards/worker-performance.json" observernet-workers
check_dashboard "$dashboards/infrastructure.json" observernet-infra

if ((failures > 0)); then
  echo "monitoring: $failures check(s) failed"
  exit 1
fi
echo "monitoring: all checks passed"
