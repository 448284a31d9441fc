#!/usr/bin/env bash
# The engine and peer tests under a sanitizer (issue 14):
#   scripts/sanitize.sh address|thread [swift test --filter]
# Builds into .build/<mode>san (its own scratch path: the normal debug build is untouched),
# then runs the filtered tests. The default filter is the set recorded in
# docs/SANITIZERS.md as run; a finding fails the run with the sanitizer's report.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-address}
case "$mode" in
  address) filter=${2:-'StorageTests|FrameTests|FrameFuzzTests|RESPParserTests|RESPFuzzTests|RESP3FuzzTests|KeyRecordTests|KeyRecordFuzzTests|PacketCodecTests|GossipTests.FuzzTests|RequestGateTests|SegmentBoundsTests'} ;;
  thread)  filter=${2:-'StoreTests|StoreMaintenanceRaceTests|StoreDiskFaultTests|ManifestFailureTests|PeerRPCTests|RequestGateTests|CoarseTimerTests'} ;;
  *) echo "usage: scripts/sanitize.sh address|thread [filter]" >&2; exit 2 ;;
esac
scratch=.build/${mode}san
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=0 halt_on_error=1"
echo "sanitize: building with -sanitize=$mode into $scratch"
# Thread mode swaps Synchronization.Mutex for a pthread-backed one TSan can see
# (Sources/*/TSanMutex.swift; docs/SANITIZERS.md).
extra=(); [ "$mode" = thread ] && extra=(-Xswiftc -DCHORUS_TSAN_LOCKS)
flock -o /tmp/chorus-build.lock swift build --build-tests --sanitize="$mode" --scratch-path "$scratch" "${extra[@]}" >"$scratch.build.log" 2>&1 \
  || { tail -30 "$scratch.build.log"; echo "sanitize: FAIL: build"; exit 1; }
echo "sanitize: running '$filter'"
flock /tmp/chorus-build.lock swift test --skip-build --sanitize="$mode" --scratch-path "$scratch" --filter "$filter" >"$scratch.test.log" 2>&1
status=$?
grep -E "Executed [0-9]+ tests|ERROR: (Address|Thread)Sanitizer|WARNING: ThreadSanitizer|SUMMARY:" "$scratch.test.log" | sort | uniq -c | tail -20
[ $status = 0 ] && ! grep -qE "ERROR: AddressSanitizer|WARNING: ThreadSanitizer" "$scratch.test.log" \
  && { echo "sanitize $mode: PASS"; exit 0; }
echo "sanitize $mode: FAIL (full log: $scratch.test.log)"; exit 1
