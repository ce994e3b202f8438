#!/usr/bin/env bash
# Streams a 1 GiB upload (with a client certificate, HTTP/1.1 chunked) through the gateway to a
# deliberately slow backend and samples the gateway's RSS, to show that back-pressure keeps memory
# flat. Loopback only; stops by itself.
#   usage: scripts/upload-rss.sh [size-MiB] [backend-read-delay-ms]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
READ_DELAY_MS=${2:-1}
BIN=${DRAWBRIDGE_BIN:-.build/debug/drawbridge}
[ -x "$BIN" ] || swift build --product drawbridge
WORK=$(mktemp -d)
GW_PORT=18443; BE_PORT=18081
cleanup() { kill "${GW_PID:-}" "${BE_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# A small PKI with openssl: CA, server certificate for localhost, client certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=rss-ca" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
for who in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
    -keyout "$WORK/$who.key" -out "$WORK/$who.csr" 2>/dev/null
  ext=$([ "$who" = server ] && echo "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth" || echo "extendedKeyUsage=clientAuth")
  openssl x509 -req -in "$WORK/$who.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf '%s\n' "$ext") -out "$WORK/$who.pem" 2>/dev/null
done

cat > "$WORK/gateway.yaml" <<YAML
listen: { address: 127.0.0.1, port: $GW_PORT }
hostnames:
  - { name: localhost, certificate: server.pem, key: server.key, clientCertificate: negotiate, trustedCAs: ca.pem }
apis:
  - { name: upload, path: /upload, backend: "http://127.0.0.1:$BE_PORT", requireTrustedClientCertificate: true }
backend: { timeout: 1h }
accessLog: false
# This throw-away PKI publishes no CRLs: without fail-open the gate (which checks revocation as
# Verify() does) would refuse the client certificate.
policies: { revocation: { mode: fail-open } }
YAML

"$BIN" echo-backend --port $BE_PORT > "$WORK/backend.log" 2>&1 & BE_PID=$!
"$BIN" serve --config "$WORK/gateway.yaml" > "$WORK/gateway.log" 2>&1 & GW_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null --cacert "$WORK/ca.pem" "https://localhost:$GW_PORT/" && break; sleep 0.2; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
BASE=$(rss); PEAK=$BASE
start=$(date +%s.%N)
head -c $((SIZE_MIB * 1024 * 1024)) /dev/zero | curl -sS -o "$WORK/answer.json" -T - -X POST \
  --cacert "$WORK/ca.pem" --cert "$WORK/client.pem" --key "$WORK/client.key" \
  -H "x-echo-read-delay-ms: $READ_DELAY_MS" "https://localhost:$GW_PORT/upload/big" & CURL_PID=$!
ticks=0
echo "RSS timeline (KiB, every 5 s):"
while kill -0 $CURL_PID 2>/dev/null; do
  now=$(rss); [ "$now" -gt "$PEAK" ] && PEAK=$now
  ticks=$((ticks + 1)); [ $((ticks % 10)) -eq 0 ] && printf ' %s' "$now"
  sleep 0.5
done
echo
wait $CURL_PID
end=$(date +%s.%N)
cat "$WORK/answer.json" | head -c 300; echo
BYTES=$(python3 -c "import json,sys; print(json.load(open('$WORK/answer.json'))['bodyBytes'])")
echo "uploaded: $BYTES bytes in $(python3 -c "print(round($end-$start,1))") s (backend read delay ${READ_DELAY_MS} ms per chunk)"
echo "gateway RSS: before ${BASE} KiB, peak during upload ${PEAK} KiB, growth $((PEAK - BASE)) KiB"
[ "$BYTES" -eq $((SIZE_MIB * 1024 * 1024)) ]
