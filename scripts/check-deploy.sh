#!/usr/bin/env bash
# Validates the packaging files as far as this machine can (no container engine, no cluster):
#   - deploy/kubernetes/*.yaml against the Kubernetes schemas (kubernetes-validate, from PyPI);
#   - the ConfigMap's gateway.yaml and policy with `drawbridge check`, laid out as the pod mounts them
#     (certificates from a throw-away demo PKI standing in for the Secret);
#   - deploy/systemd/drawbridge.service with `systemd-analyze verify` and its exposure score.
# Usage: scripts/check-deploy.sh [path/to/drawbridge]   (default: a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
  swift build --product drawbridge >/dev/null
  bin="$(swift build --show-bin-path)/drawbridge"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== Kubernetes schemas"
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  python3 -m pip install -q kubernetes-validate
fi
(cd deploy/kubernetes && kubernetes-validate -k 1.31.0 --strict configmap.yaml secret.yaml deployment.yaml service.yaml pdb.yaml)

echo "== The ConfigMap's configuration, checked by drawbridge check"
mkdir -p "$work/config" "$work/tls" "$work/demo"
python3 - "$work/config" <<'PY'
import sys, yaml
data = yaml.safe_load(open("deploy/kubernetes/configmap.yaml"))["data"]
for name, text in data.items():
    open(f"{sys.argv[1]}/{name}", "w").write(text)
PY
# A demo PKI stands in for the Secret (the echo backend it starts is stopped at once).
(cd "$work/demo" && timeout 60 "$bin" serve --port 0 --echo-port 0 --operations-port 0 >/dev/null 2>&1 & pid=$!
 for _ in $(seq 1 100); do [ -f "$work/demo/.drawbridge/pki/server.pem" ] && break; sleep 0.2; done
 sleep 0.5; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true)
cp "$work/demo/.drawbridge/pki/server.pem" "$work/tls/tls.crt"
cp "$work/demo/.drawbridge/pki/server-key.pem" "$work/tls/tls.key"
cp "$work/demo/.drawbridge/pki/root-ca.pem" "$work/tls/ca.crt"
"$bin" check --config "$work/config/gateway.yaml"

echo "== systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  sed "s#/usr/local/bin/drawbridge#$bin#g" deploy/systemd/drawbridge.service > "$work/drawbridge.service"
  systemd-analyze verify "$work/drawbridge.service"
  systemd-analyze security --offline=true "$work/drawbridge.service" | tail -1
else
  echo "systemd-analyze not found: unit not verified"
fi
echo "deploy files OK"
