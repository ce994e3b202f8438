#!/usr/bin/env bash
# The release build of drawbridge, as the benchmarks, the container image and the README make it.
#   scripts/build-release.sh [swift build options…]     e.g. --scratch-path DIR
#
# - The Swift runtime and Foundation linked in (`--static-swift-stdlib`): the binary the container
#   image ships, so the benchmarks measure what runs in production. It is also the leaner one: with
#   1,000 idle mTLS connections the process is ~6–8 MiB smaller than the same build linked against
#   the shared Swift libraries (their relocated data and scattered code pages stay resident), and the
#   runtime's and Foundation's functions can be placed by the order file below too.
# - `-enforce-exclusivity=unchecked` for every target, dependencies included: the run-time
#   exclusivity checks were the largest single saving on the request path (issue "Data plane").
# - Every function in its own section (Swift and C), linked by lld in the order of
#   bench/drawbridge.order — the functions a serving gateway runs, measured by bench/symbol-order —
#   so that they sit together instead of scattered over ~21 MB of code: the binary's resident code
#   with 1,000 idle connections fell from ~16.5 MiB to ~10 MiB (README, Benchmarking). Names the
#   file lists and the binary lacks are ignored, so a stale file costs locality, never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
# SwiftPM does not know the order file is an input of the link: link again when it changed.
bin="$(swift build -c release --static-swift-stdlib --show-bin-path "$@")/drawbridge"
if [ -e "$bin" ] && [ bench/drawbridge.order -nt "$bin" ]; then rm -f "$bin"; fi
exec swift build -c release --static-swift-stdlib --product drawbridge \
  -Xswiftc -enforce-exclusivity=unchecked \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
  -Xswiftc -use-ld=lld \
  -Xlinker "--symbol-ordering-file=$PWD/bench/drawbridge.order" -Xlinker --no-warn-symbol-ordering \
  "$@"
