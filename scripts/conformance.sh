#!/bin/sh
# Runs the X.509 conformance suites (NIST PKITS, x509-limbo) against ClientCertificates.
# Usage: scripts/conformance.sh [CONFORMANCE_DIR] [--report-only] [--verbose]
# Prints "group: N passed, M failed" per group, each failure (id, reason code, message) above it.
# Exit status: 0 when the required groups pass (always with --report-only).
set -eu
cd "$(dirname "$0")/.."
dir="../shared/conformance"
for arg in "$@"; do
    case "$arg" in --*) ;; *) dir="$arg" ;; esac
done
exec env DRAWBRIDGE_ONLY=ClientCertificates,ConformanceRunner swift run ConformanceRunner "$dir" \
    $(for arg in "$@"; do case "$arg" in --*) printf '%s ' "$arg" ;; esac; done)
