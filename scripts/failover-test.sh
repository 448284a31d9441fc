#!/usr/bin/env bash
# Availability in the first seconds of a failure (SPEC 6): real `chorus serve` peers in a
# private network namespace, a steady SET/GET load through the peers that stay up, and one
# fault on peer 1 at a known moment; scripts/failover_check.py reports what clients saw.
#
# usage: scripts/failover-test.sh [--bin PATH] [--scenario cut|stop|all] [--check] [driver flags]
#   cut   3 peers; every packet between peer 1 and the others dropped with iptables (both
#         directions); load through peers 2 and 3. Target: 0 failed requests in the first
#         5 s, none lost.
#   stop  5 peers; peer 1 paused with SIGSTOP for 10 s under a write load through peers 2-5.
#         Target: at least 99% of the requests succeed, none lost.
#   --bin PATH   chorus binary (default .build/debug/chorus, built under the shared lock)
#   --check      exit 1 when a target is missed (the test suite); without it, figures only
# Other flags go to the driver (--threads, --pause-ms, --fault-secs, --window, ...). Needs root
# (unshare -n, iptables), ip, python3. Bounded; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
name=failover-test

bin=""; scenario=all; check=(); driver=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --scenario) scenario=$2; shift 2 ;;
    --check) check=(--check); shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) driver+=("$1"); shift ;;
  esac
done
case "$scenario" in cut|stop|all) ;; *) echo "$name: FAIL: --scenario cut|stop|all"; exit 2 ;; esac

if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  if [ -z "$bin" ]; then
    flock -o /tmp/chorus-build.lock swift build >/tmp/chorus-failover-build.$$.log 2>&1 \
      || { tail -20 /tmp/chorus-failover-build.$$.log; rm -f /tmp/chorus-failover-build.$$.log; echo "$name: FAIL: build failed"; exit 1; }
    rm -f /tmp/chorus-failover-build.$$.log
    bin=$root/.build/debug/chorus
  fi
  if ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
    echo "$name: SKIP (cannot create a private network namespace here)"
    exit 0
  fi
  exec unshare -n env CHORUS_IN_NETNS=1 CHORUS_FAILOVER_BIN="$bin" CHORUS_FAILOVER_OUT="${CHORUS_FAILOVER_OUT:-}" bash "$0" --scenario "$scenario" "${check[@]}" "${driver[@]}"
fi

bin=${CHORUS_FAILOVER_BIN:-$bin}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
[ -x "$bin" ] || { echo "$name: FAIL: $bin is not an executable"; exit 1; }
for tool in ip iptables python3; do
  command -v "$tool" >/dev/null || { echo "$name: SKIP ($tool missing)"; exit 0; }
done
ip link set lo up
iptables -S >/dev/null 2>&1 || { echo "$name: SKIP (iptables does not work here)"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-failover-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  iptables -F 2>/dev/null
}
trap cleanup EXIT

start() {  # start peer i
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {  # peers 1..$1 alive and joined with partitions, seen from peer $2
  [ "$("$bin" -h "127.0.0.$2" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = "$1" ]
}
wait_settled() {  # n
  for _ in $(seq 1 120); do
    local all=1
    for i in $(seq 1 "$1"); do settled "$1" "$i" || { all=0; break; }; done
    [ $all = 1 ] && return 0
    sleep 0.5
  done
  return 1
}

run_scenario() {  # cut|stop
  local fault=$1 peers via extra=()
  if [ "$fault" = cut ]; then peers=3; via=2,3; else peers=5; via=2,3,4,5; fi
  cleanup
  rm -rf "$work"/n*
  start 1; sleep 1
  for i in $(seq 2 "$peers"); do start "$i"; done
  if ! wait_settled "$peers"; then
    echo "$name: FAIL: $peers peers did not settle in 60 s (logs in $work)"
    return 1
  fi
  [ "$fault" = stop ] && extra=(--victim-pid "${pids[1]}" --fault-secs 10)
  echo "$name: $fault: $peers peers, fault on peer 1, load through peers $via"
  python3 scripts/failover_check.py --peers "$peers" --via "$via" --fault "$fault" "${extra[@]}" \
    "${check[@]}" --json "$work/$fault.json" "${driver[@]}"
  local rc=$?
  # The benchmark reads the figures from here.
  [ -n "${CHORUS_FAILOVER_OUT:-}" ] && cp "$work/$fault.json" "$CHORUS_FAILOVER_OUT/" 2>/dev/null
  return $rc
}

status=0
for s in cut stop; do
  [ "$scenario" = all ] || [ "$scenario" = "$s" ] || continue
  if run_scenario "$s"; then echo "$name: $s: PASS"; else echo "$name: $s: FAIL"; status=1; fi
done
cleanup
if [ $status = 0 ]; then rm -rf "$work"; else echo "$name: work kept in $work"; fi
exit $status
