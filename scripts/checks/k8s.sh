#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/k8s: the base and every overlay render with
# `kubectl kustomize`, every object they render is valid against the Kubernetes, KEDA
# and prometheus-operator schemas, unknown (misspelt) fields included
# (scripts/checks/k8s-validate/validate.mjs), their Ingresses send the web pages,
# the API and the token route to the right Services and probes and /metrics nowhere
# (k8s-validate/routes.mjs), and each workload mounts a Secret of its own with only the
# keys it uses, matching base/secret.example.yaml (k8s-validate/secrets.mjs). No cluster
# is needed.
# Installs what is missing on Debian 12 (as root): kubectl, Node.js and npm, and the
# validator's npm packages (pinned by k8s-validate/package-lock.json) in .local/k8s-validate.
# One line per thing checked; exit status 1 if any check failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K8S=$ROOT/deploy/k8s
VALIDATOR_SRC=$ROOT/scripts/checks/k8s-validate
VALIDATOR=$ROOT/.local/k8s-validate

failed=0
fail() { echo "FAIL $*"; failed=1; }

# shellcheck source=common.sh source-path=SCRIPTDIR
source "$ROOT/scripts/checks/common.sh"

# kubectl comes from the machine's apt sources (the package `kubectl`). Debian 12 itself
# ships only kubernetes-client 1.20, whose kustomize v2 cannot read these kustomizations
# (patches with targets, configMapGenerator envs), so it is no fallback.
if ! command -v kubectl >/dev/null; then
  apt_install kubectl || true
fi
kustomize_version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v//p' || true)
if [[ ${kustomize_version%%.*} -ge 4 ]] 2>/dev/null; then
  echo "ok   kubectl with kustomize v$kustomize_version"
else
  echo "FAIL kubectl >= 1.21 (kustomize v4 or later) is needed; found kustomize:" \
    "${kustomize_version:-none}"
  exit 1
fi

if ! command -v node >/dev/null; then
  apt_install nodejs npm
elif ! command -v npm >/dev/null; then
  apt_install npm
fi
# npm ci again only when the lock file changed since the last successful install.
mkdir -p "$VALIDATOR"
if ! cmp -s "$VALIDATOR_SRC/package-lock.json" "$VALIDATOR/installed-lock.json"; then
  cp "$VALIDATOR_SRC/package.json" "$VALIDATOR_SRC/package-lock.json" "$VALIDATOR/"
  if ! (cd "$VALIDATOR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "FAIL npm ci of scripts/checks/k8s-validate/package-lock.json in .local/k8s-validate"
    exit 1
  fi
  cp "$VALIDATOR_SRC/package-lock.json" "$VALIDATOR/installed-lock.json"
fi
# Run from beside its node_modules: ES module imports resolve from the script's folder.
cp "$VALIDATOR_SRC/validate.mjs" "$VALIDATOR_SRC/routes.mjs" "$VALIDATOR_SRC/secrets.mjs" \
  "$VALIDATOR/"
echo "ok   node $(node --version) with the validator's packages in .local/k8s-validate"

node "$VALIDATOR/validate.mjs" --self-test || failed=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
trees=(base)
for overlay in "$K8S"/overlays/*/; do
  overlay=${overlay%/}
  trees+=("overlays/${overlay##*/}")
done
[[ ${#trees[@]} -gt 1 ]] || fail "deploy/k8s/overlays: no overlay found"
for tree in "${trees[@]}"; do
  out=$tmp/${tree//\//-}.yaml
  if ! kubectl kustomize "$K8S/$tree" >"$out" 2>"$tmp/stderr"; then
    fail "deploy/k8s/$tree: kubectl kustomize: $(tr '\n' ' ' <"$tmp/stderr")"
    continue
  fi
  # Deprecation notes and the like: shown, not fatal.
  [[ ! -s $tmp/stderr ]] || sed "s|^|note deploy/k8s/$tree: |" "$tmp/stderr"
  node "$VALIDATOR/validate.mjs" --name "deploy/k8s/$tree" "$out" || failed=1
  node "$VALIDATOR/routes.mjs" --name "deploy/k8s/$tree" "$out" || failed=1
  node "$VALIDATOR/secrets.mjs" --name "deploy/k8s/$tree" \
    --template "$K8S/base/secret.example.yaml" "$out" || failed=1
  # The Secret is created by hand (base/secret.example.yaml): never rendered, never committed.
  if grep -q '^kind: Secret$' "$out"; then
    fail "deploy/k8s/$tree: renders a Secret; secrets must not be in a kustomization"
  fi
done

# The template is not in the kustomization: validate it on its own.
node "$VALIDATOR/validate.mjs" --name deploy/k8s/base/secret.example.yaml \
  "$K8S/base/secret.example.yaml" || failed=1

exit "$failed"
