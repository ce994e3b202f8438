#!/usr/bin/env bash
# Soak under mixed hostile load, on loopback, for a bounded time: keep-alive mTLS traffic plus
# trickled bodies, early-answered 50 MB uploads, Upgrade/CONNECT junk, path/Host/SNI spellings,
# slowloris, half-closed connections, clients vanishing mid-body, HTTP/2 rapid reset, abandoned
# TLS handshakes, hostile client certificates and backend restarts. Prints the normal traffic's
# error rate and latency, the gateway's peak RSS, per-attack outcomes; exits 1 if the gateway died.
#   usage: scripts/soak.sh [--quick | --duration SECONDS] [--binary PATH] [other scripts/soak.py options]
# Without --binary it uses .build/release/drawbridge (built with `nice` when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DRAWBRIDGE_BIN:-.build/release/drawbridge}
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BIN=$2; shift 2 ;;
    --binary=*) BIN=${1#--binary=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ! -x "$BIN" ]; then
  echo "building $BIN (release)" >&2
  nice -n 10 scripts/build-release.sh
fi
exec python3 scripts/soak.py --binary "$BIN" "${args[@]}"
