#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free loopback port for the PostgreSQL store's tests and
# prints the `export DRAWBRIDGE_TEST_POSTGRES=…` line to eval; `scripts/postgres-for-tests.sh stop DIR`
# stops it (immediate) and removes it. Installs Debian's postgresql when no initdb is found.
# Usage: eval "$(scripts/postgres-for-tests.sh)"   …   scripts/postgres-for-tests.sh stop "$DRAWBRIDGE_TEST_POSTGRES_DIR"
set -euo pipefail
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
find_bin() { dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)"; }
if [ "${1:-}" = stop ]; then
  [ -n "${2:-}" ] && [ -d "$2" ] || exit 0
  as_postgres "$(find_bin)/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$2"
  exit 0
fi
BIN=$(find_bin)
if [ ! -x "$BIN/initdb" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null 2>&1
  BIN=$(find_bin)
fi
DIR=$(mktemp -d /tmp/drawbridge-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_postgres "$BIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
as_postgres "$BIN/pg_ctl" -D "$DIR/data" -o "-h 127.0.0.1 -p $PORT -k $DIR" -l "$DIR/log" -w start >/dev/null
echo "export DRAWBRIDGE_TEST_POSTGRES='postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable' DRAWBRIDGE_TEST_POSTGRES_DIR='$DIR'"
