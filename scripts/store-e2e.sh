#!/usr/bin/env bash
# The configuration store end to end, with curl only (issue 15's done-when), on loopback ports:
#   an empty SQLite store → through the admin API: CA certificates, a server certificate, a hostname
#   in negotiate mode, an API with the seed's policy → 200 with the demo client certificate, 403
#   without; 401 without a token; a policy with a C# error refused with line:col while the running
#   configuration stays; commit-to-enforcement latency (N changes); kill -9 during writes, restart,
#   every acknowledged write still there. Prints figures; exits non-zero on the first failure.
# Usage: scripts/store-e2e.sh [N changes for the latency figure, default 50]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
swift build >/dev/null
BIN=$(swift build --show-bin-path)/drawbridge
WORK=$(mktemp -d /tmp/drawbridge-store-e2e.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; fail "timeout waiting for '$2' in $1"; }

# The demo makes a PKI and serves its echo backend (and CRLs) on ECHO; its own gateway is not used.
ECHO=$(free_port)
"$BIN" serve --demo-directory "$WORK/demo" --port 0 --echo-port "$ECHO" --operations-port 0 >"$WORK/demo.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/demo.log" "Drawbridge demo is running"
PKI=$WORK/demo/pki

PORT=$(free_port); OPS=$(free_port)
start_store() {
  "$BIN" serve --store "$WORK/store" --port "$PORT" --operations-port "$OPS" >"$WORK/store-$1.log" 2>&1 &
  STORE_PID=$!; PIDS+=($STORE_PID)
  wait_for "$WORK/store-$1.log" "\[Gateway\] listening"
}
start_store 1
TOKEN=$(cat "$WORK/store/admin-token")
ADMIN=http://127.0.0.1:$OPS/admin
json() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
put() { # put PATH JSON|@file [content-type] → status on stdout, body in $WORK/last
  curl -s -o "$WORK/last" -D "$WORK/last-headers" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: ${3:-application/json}" --data-binary "$2" "$ADMIN$1"
}
get_gateway() { # get_gateway PATH [client-cert] → HTTP status (000: no TLS session)
  local args=(--cacert "$PKI/root-ca.pem" --resolve "localhost:$PORT:127.0.0.1" -s -o /dev/null -w '%{http_code}')
  [ "${2:-}" = cert ] && args+=(--cert "$PKI/client.pem" --key "$PKI/client-key.pem")
  curl "${args[@]}" "https://localhost:$PORT$1" || true
}

code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{}' "$ADMIN/named-values/x"); [ "$code" = 401 ] || fail "no token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$ADMIN/hostnames"); [ "$code" = 401 ] || fail "wrong token: $code"
echo "admin API without credentials: 401"

[ "$(put /ca-certificates/demo-root "$(json pem "$(cat "$PKI/root-ca.pem")")")" = 201 ] || fail "CA: $(cat "$WORK/last")"
[ "$(put /ca-certificates/demo-intermediate "$(json pem "$(cat "$PKI/intermediate-ca.pem")")")" = 201 ] || fail "CA: $(cat "$WORK/last")"
[ "$(put /certificates/localhost "$(json pem "$(cat "$PKI/server.pem")" key "$(cat "$PKI/server-key.pem")")")" = 201 ] || fail "certificate: $(cat "$WORK/last")"
[ "$(put /hostnames/localhost '{"certificate":"localhost","clientCertificate":"negotiate"}')" = 201 ] || fail "hostname: $(cat "$WORK/last")"
[ "$(put /apis/echo "{\"path\":\"/echo\",\"backend\":\"http://127.0.0.1:$ECHO\"}")" = 201 ] || fail "api: $(cat "$WORK/last")"
[ "$(put /apis/echo/policy "@$WORK/demo/policies/echo.xml" application/xml)" = 201 ] || fail "policy: $(cat "$WORK/last")"
[ "$(get_gateway /echo/users/42 cert)" = 200 ] || fail "client certificate: not 200"
[ "$(get_gateway /echo/users/42)" = 403 ] || fail "no client certificate: not 403"
echo "through the admin API only: client certificate 200, none 403"

sed 's/Certificate.Verify()/Certificate.Verify(/' "$WORK/demo/policies/echo.xml" >"$WORK/broken.xml"
[ "$(put /apis/echo/policy "@$WORK/broken.xml" application/xml)" = 422 ] || fail "broken policy accepted"
echo "C# error refused: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["details"][0])' "$WORK/last")"
[ "$(get_gateway /echo/users/42 cert)" = 200 ] && [ "$(get_gateway /echo/users/42)" = 403 ] || fail "running configuration changed"

# Commit to enforcement: PUT a policy, then one request; N times, alternating 418 and the seed's.
cat >"$WORK/teapot.xml" <<'XML'
<policies><inbound><return-response><set-status code="418" reason="Changed" /></return-response></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
XML
: >"$WORK/latency"; : >"$WORK/reload"
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) = 1 ]; then file=$WORK/teapot.xml; want=418; else file=$WORK/demo/policies/echo.xml; want=200; fi
  t0=$(date +%s%N)
  [ "$(put /apis/echo/policy "@$file" application/xml)" = 200 ] || fail "change $i: $(cat "$WORK/last")"
  t1=$(date +%s%N)
  got=$(get_gateway /echo/users/42 cert)
  [ "$got" = "$want" ] || fail "change $i not enforced on the next request ($got, wanted $want)"
  echo $(( (t1 - t0) / 1000 )) >>"$WORK/latency"
  grep -i '^server-timing' "$WORK/last-headers" | sed 's/.*reload;dur=\([0-9.]*\).*/\1/' | tr -d '\r' >>"$WORK/reload"
done
python3 - "$WORK/latency" "$WORK/reload" <<'PY'
import sys, statistics
put = sorted(int(x) / 1000 for x in open(sys.argv[1]))
reload = sorted(float(x) for x in open(sys.argv[2]))
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print(f"commit to enforcement over {len(put)} policy changes: the change is in force when the PUT is answered;"
      f" PUT round trip (curl, check + commit + reload) median {statistics.median(put):.1f} ms, p95 {q(put, .95):.1f} ms, max {put[-1]:.1f} ms;"
      f" commit→new snapshot in force (Server-Timing reload) median {statistics.median(reload):.2f} ms, max {reload[-1]:.2f} ms")
PY

# kill -9 in the middle of writes; a restart keeps every acknowledged one.
: >"$WORK/acked"
( for i in $(seq 1 100000); do
    [ "$(put "/named-values/v$i" "{\"value\":\"value $i\"}")" = 201 ] && echo "$i" >>"$WORK/acked" || break
  done ) &
WRITER=$!
sleep 1.5
kill -9 "$STORE_PID"
wait "$WRITER" 2>/dev/null || true
ACKED=$(wc -l <"$WORK/acked")
start_store 2
stored=$(curl -s -H "Authorization: Bearer $TOKEN" "$ADMIN/named-values" | python3 -c 'import json,sys; print(" ".join(v["id"] for v in json.load(sys.stdin)))')
for i in $(cat "$WORK/acked"); do case " $stored " in *" v$i "*) ;; *) fail "acknowledged v$i lost";; esac; done
[ "$(get_gateway /echo/users/42 cert)" = 200 ] && [ "$(get_gateway /echo/users/42)" = 403 ] || fail "restart serves another configuration"
echo "kill -9 during writes: $ACKED acknowledged, all present after the restart ($(echo "$stored" | wc -w) stored); same answers (200 / 403)"
echo "OK ($WORK)"
