#!/usr/bin/env bash
# OpenAPI conformance of the admin API: schemathesis (PyPI) generates requests from the served
# document (GET /admin/openapi.json) against `drawbridge serve --store` on an empty, throwaway store,
# and checks every answer against the document (status codes, content types, schemas, no 5xx).
# Usage: scripts/admin-openapi-conformance.sh [max examples per operation, default 25]
# Needs schemathesis: python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install schemathesis
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${1:-25}; shift || true
ST=${SCHEMATHESIS:-$(command -v schemathesis || echo /tmp/st-venv/bin/schemathesis)}
[ -x "$ST" ] || { echo "schemathesis not found (set SCHEMATHESIS=path)" >&2; exit 2; }
swift build >/dev/null
BIN=$(swift build --show-bin-path)/drawbridge
WORK=$(mktemp -d /tmp/drawbridge-openapi.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OPS=$(free_port)
"$BIN" serve --store "$WORK/store" --port "$(free_port)" --operations-port "$OPS" >"$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$WORK/store/admin-token" ] && grep -q "operations listener" "$WORK/serve.log" && break; sleep 0.1; done
TOKEN=$(cat "$WORK/store/admin-token")
cd "$WORK"  # (schemathesis keeps its state in ./.schemathesis)
"$ST" run "http://127.0.0.1:$OPS/admin/openapi.json" --url "http://127.0.0.1:$OPS" \
  -H "Authorization: Bearer $TOKEN" --checks all --max-examples "$EXAMPLES" --generation-deterministic \
  --report junit --report-dir "$WORK/report" "$@" | tee "$WORK/schemathesis.txt"
