#!/usr/bin/env bash
# libFuzzer harnesses for Drawbridge's parsers (Fuzz/<target>, declared when DRAWBRIDGE_FUZZ=1).
#
#   scripts/fuzz.sh <target> <seconds> [extra libFuzzer args...]   build (once) and run one target
#   scripts/fuzz.sh build                                           build every target only
#   scripts/fuzz.sh list                                            list the targets
#
# Targets: FuzzPolicyXML FuzzExpression FuzzCertificates FuzzGatewayConfig FuzzJSON
#
# Environment:
#   FUZZ_SANITIZE=fuzzer,address (default) | fuzzer   (address sanitizer on/off)
#   FUZZ_JOBS=<n>          swift build -j (default 2)
#   FUZZ_WORK=<dir>        where the growing corpus and artifacts go (default .build-fuzz/work/<target>)
#   FUZZ_NICE=<n>          nice level of the fuzzer process (default 10)
#
# The committed seeds (Fuzz/corpus/<target>) are only read; new inputs go to the work corpus, so the
# repository never grows. Crashes/timeouts are written to $FUZZ_WORK/artifacts/: copy a reproducer to
# Fuzz/crashes/<target>/ to commit it. Reproduce one input: .build-fuzz/release/<target> <file> (ASAN_OPTIONS=detect_leaks=0)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(FuzzPolicyXML FuzzExpression FuzzCertificates FuzzGatewayConfig FuzzJSON)
SCRATCH=.build-fuzz
SANITIZE=${FUZZ_SANITIZE:-fuzzer,address}
JOBS=${FUZZ_JOBS:-2}

build() {
    DRAWBRIDGE_FUZZ=1 swift build -c release -j "$JOBS" \
        -Xswiftc -sanitize="$SANITIZE" -Xswiftc -parse-as-library \
        --scratch-path "$SCRATCH" "$@"
}

max_len() {
    case "$1" in
        FuzzPolicyXML) echo 16384 ;;     # policy documents: a few KB is plenty to reach every rule
        FuzzExpression) echo 2048 ;;     # one expression or block
        FuzzCertificates) echo 16384 ;;  # a certificate chain / CRL / PFX
        FuzzGatewayConfig) echo 8192 ;;
        FuzzJSON) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

case "${1:-}" in
    list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
    build) build; exit 0 ;;
    ""|-h|--help) sed -n 2,18p "$0"; exit 2 ;;
esac

target=$1; seconds=${2:?usage: scripts/fuzz.sh <target> <seconds>}; shift 2
[[ " ${TARGETS[*]} " == *" $target "* ]] || { echo "unknown target '$target' (scripts/fuzz.sh list)" >&2; exit 2; }

bin=$(DRAWBRIDGE_FUZZ=1 swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
binary="$bin/$target"
if [[ ! -x "$binary" || -n "${FUZZ_REBUILD:-}" ]]; then
    build --product "$target" 2>&1 | tail -n 5
fi

work=${FUZZ_WORK:-$SCRATCH/work/$target}
mkdir -p "$work/corpus" "$work/artifacts"
seeds=Fuzz/corpus/$target
dict=Fuzz/dict/$target.dict
args=(
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")"
    -print_final_stats=1 -artifact_prefix="$work/artifacts/"
)
[[ -f "$dict" ]] && args+=(-dict="$dict")
log="$work/fuzz-$(date +%Y%m%d-%H%M%S).log"
echo "running $binary for ${seconds}s (log: $log)"
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1} \
    nice -n "${FUZZ_NICE:-10}" "$binary" "${args[@]}" "$@" "$work/corpus" "$seeds" >"$log" 2>&1
status=$?
set -e
# The last status line (#N DONE/pulse: cov, ft, corp, exec/s) and libFuzzer's final statistics.
grep -E '^#[0-9]+' "$log" | tail -n 1
grep -E '^stat::' "$log" || true
grep -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|Fatal error|Test unit written|SUMMARY' "$log" || true
exit $status
