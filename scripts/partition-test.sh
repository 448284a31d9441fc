#!/usr/bin/env bash
# Partition test (SPEC section 7): real `chorus serve` peers in a private network namespace
# (`unshare -n`), traffic between their loopback addresses cut with iptables while a workload
# runs, then scripts/partition_check.py checks: no acknowledged write lost, siblings hold
# every concurrent write, replicas converge after healing (details in the checker's header).
#
# usage: scripts/partition-test.sh [--bin PATH] [--peers N] [--pre S] [--cut S] [--bridge S]
#                                  [--post S] [--contended K] [--rate OPS] [--seed N] [--keep]
#   --bin PATH   chorus binary (default .build/debug/chorus, built under the shared lock)
#   --peers N    3 (default) to 5; peer i is 127.0.0.i with default ports
#   --keep       keep the work directory (peer logs, history.json) even when it passes
# Other flags go to the checker (seconds of each phase, keys, rate, seed). Needs root (for
# unshare -n and iptables), ip, python3. After a pass the checker's --selftest re-checks the
# run with injected faults. Bounded: every wait is capped; every process is stopped by PID
# on exit. Exit 0 = pass (or SKIP without a netns), 1 = violation or failure (work kept).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
name=partition-test

bin=""; peers=3; keep=0; check_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --peers) peers=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --pre|--cut|--bridge|--post|--contended|--rate|--seed) check_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$name: FAIL: unknown flag $1 (see --help)"; exit 2 ;;
  esac
done
case "$peers" in 3|4|5) ;; *) echo "$name: FAIL: --peers must be 3..5"; exit 2 ;; esac

if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  if [ -z "$bin" ]; then
    flock /tmp/chorus-build.lock swift build >/tmp/chorus-ptest-build.$$.log 2>&1 \
      || { tail -20 /tmp/chorus-ptest-build.$$.log; rm -f /tmp/chorus-ptest-build.$$.log; echo "$name: FAIL: build failed"; exit 1; }
    rm -f /tmp/chorus-ptest-build.$$.log
    bin=$root/.build/debug/chorus
  fi
  if ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
    echo "$name: SKIP (cannot create a private network namespace here)"
    exit 0
  fi
  exec unshare -n env CHORUS_IN_NETNS=1 CHORUS_PTEST_BIN="$bin" bash "$0" --peers "$peers" \
    $([ $keep = 1 ] && echo --keep) "${check_args[@]}"
fi

bin=${CHORUS_PTEST_BIN:-${bin:-$root/.build/debug/chorus}}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
[ -x "$bin" ] || { echo "$name: FAIL: $bin is not an executable"; exit 1; }
for tool in ip iptables python3; do
  command -v "$tool" >/dev/null || { echo "$name: SKIP ($tool missing)"; exit 0; }
done
ip link set lo up
iptables -S >/dev/null 2>&1 || { echo "$name: SKIP (iptables does not work here)"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-partition-XXXXXX")
pids=()
checker=""
cleanup() {
  if [ -n "$checker" ]; then kill -9 "$checker" 2>/dev/null; wait "$checker" 2>/dev/null; checker=""; fi
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  iptables -F 2>/dev/null
}
trap cleanup EXIT
trap 'echo "$name: FAIL: interrupted"; exit 1' INT TERM
fail() {
  echo "$name: FAIL: $*"
  for i in $(seq 1 "$peers"); do
    [ -f "$work/n$i.log" ] && tail -4 "$work/n$i.log" | sed "s/^/  n$i: /"
  done
  echo "$name: logs and history kept in $work"
  cleanup
  exit 1
}
start() {  # start peer i
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {  # all peers alive and joined and owning partitions, seen from peer $1
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = "$peers" ]
}
wait_settled() {
  local i ok
  for _ in $(seq 1 120); do
    ok=1
    for i in $(seq 1 "$peers"); do settled "$i" || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.5
  done
  return 1
}

t0=$(date +%s)
start 1; sleep 1
for i in $(seq 2 "$peers"); do start "$i"; done
wait_settled || fail "$peers peers did not settle in 60 s"
echo "$name: $peers peers settled in $(( $(date +%s) - t0 )) s ($bin)"
list=$(seq -s, -f "127.0.0.%g" 1 "$peers")
# The checker runs in the background so that a signal (a suite timeout) stops it too.
python3 "$root/scripts/partition_check.py" --peers "$list" --bin "$bin" --history "$work/history.json" \
  "${check_args[@]}" >"$work/check.log" 2>&1 &
checker=$!
tail -n +1 -f --pid="$checker" "$work/check.log" &
tailer=$!
wait "$checker"; status=$?
checker=""
wait "$tailer" 2>/dev/null
if [ $status = 0 ]; then
  # The checks must be able to fail: re-check this run's history with faults injected.
  python3 "$root/scripts/partition_check.py" --selftest "$work/history.json" >"$work/selftest.log" 2>&1 \
    || { cat "$work/selftest.log"; fail "checker selftest: an injected fault went unreported"; }
  echo "$name: checker selftest: $(tail -n 1 "$work/selftest.log" | sed 's/^partition-check: //')"
fi
for i in $(seq 1 "$peers"); do
  kill -0 "${pids[$i]}" 2>/dev/null || fail "peer $i exited during the test"
done
case $status in
  0) echo "$name: PASS ($(grep -m1 'summary:' "$work/check.log" | sed 's/.*summary: //'))"
     cleanup
     [ $keep = 1 ] && echo "$name: work directory $work" || rm -rf "$work"
     exit 0 ;;
  1) fail "$(grep -m1 'VIOLATIONS' "$work/check.log" | sed 's/^partition-check: //') (see above; history in $work/history.json)" ;;
  *) fail "the checker could not run (status $status)" ;;
esac
