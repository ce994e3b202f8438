#!/usr/bin/env bash
# Builds drawbridge as the container image does (Dockerfile: release, Swift runtime linked in) and
# probes that binary as the image runs it: `serve --config gateway.yaml`, with an empty environment,
# checked to need no Swift shared library; then /healthz and /readyz on the operations listener,
# a proxied request over mutual TLS (200), and the same request without a client certificate
# (refused in the handshake: the hostname is `required`).
# Usage: scripts/static-build-check.sh [path/to/static/drawbridge]   (default: build it; a clean
# release build takes tens of minutes on two cores, so .ci/run does not run this script)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
  echo "== scripts/build-release.sh (the Dockerfile's command; it links the Swift runtime in)"
  start=$(date +%s)
  scripts/build-release.sh
  echo "build: $(( $(date +%s) - start )) s"
  bin="$(swift build -c release --show-bin-path)/drawbridge"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
echo "binary: $bin ($(stat -c %s "$bin") bytes)"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; [ -f "$work/gateway.log" ] && tail -20 "$work/gateway.log" >&2; exit 1; }

echo "== no Swift shared library needed"
if ldd "$bin" | grep -E 'libswift|libFoundation|libdispatch|/opt/swift' ; then fail "the binary links the Swift runtime dynamically"; fi
ldd "$bin" | sed 's/^/  /'

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port); ops=$(free_port); echo_port=$(free_port)

echo "== a PKI (the demo's), an echo backend, and gateway.yaml as mounted at /etc/drawbridge"
mkdir -p "$work/demo" "$work/etc"
(cd "$work/demo" && timeout 60 env -i "$bin" serve --port 0 --echo-port 0 --operations-port 0 >/dev/null 2>&1 & pid=$!
 for _ in $(seq 1 150); do [ -f "$work/demo/.drawbridge/pki/client-key.pem" ] && break; sleep 0.2; done
 sleep 0.5; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true)
pki="$work/demo/.drawbridge/pki"
[ -f "$pki/client-key.pem" ] || fail "the demo PKI was not written"
cp "$pki/server.pem" "$pki/server-key.pem" "$pki/root-ca.pem" "$pki/intermediate-ca.pem" "$work/etc/"
cat > "$work/etc/gateway.yaml" <<YAML
listen: { address: 127.0.0.1, port: $port }
defaultHostname: localhost
hostnames:
  - name: localhost
    certificate: server.pem
    key: server-key.pem
    clientCertificate: required
    trustedCAs: [root-ca.pem, intermediate-ca.pem]
apis:
  - { name: echo, path: /echo, backend: "http://127.0.0.1:$echo_port" }
policies:
  revocation: { mode: fail-open }
operations: { address: 127.0.0.1, port: $ops }
accessLog: json
YAML
env -i "$bin" echo-backend --port "$echo_port" > "$work/echo.log" 2>&1 & pids+=($!)

echo "== drawbridge check, then serve (empty environment, as user-less as this machine allows)"
(cd "$work/etc" && env -i "$bin" check --config gateway.yaml) || fail "drawbridge check"
(cd "$work/etc" && exec env -i "$bin" serve --config gateway.yaml) > "$work/gateway.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops/readyz" || true)" = 200 ] && break
  sleep 0.2
done
[ "$(curl -s "http://127.0.0.1:$ops/readyz")" = ready ] || fail "/readyz"
[ "$(curl -s "http://127.0.0.1:$ops/healthz")" = ok ] || fail "/healthz"
echo "/healthz ok, /readyz ready"

code=$(curl -s -o "$work/answer" -w '%{http_code}' --cacert "$work/etc/root-ca.pem" \
  --cert "$pki/client.pem" --key "$pki/client-key.pem" "https://localhost:$port/echo/static?x=1")
[ "$code" = 200 ] || fail "mTLS request: $code $(cat "$work/answer")"
grep -q '"path":"/static' "$work/answer" || fail "the echo backend's answer: $(cat "$work/answer")"
grep -q '"status":200' "$work/gateway.log" || fail "no access log line for the 200"
echo "mTLS request through the gateway: 200 from the backend"
if curl -s -o /dev/null --cacert "$work/etc/root-ca.pem" "https://localhost:$port/echo/static"; then
  fail "a request without a client certificate was served"
fi
echo "without a client certificate: refused in the handshake"
echo "static build OK"
