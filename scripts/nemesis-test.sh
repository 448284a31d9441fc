#!/usr/bin/env bash
# The nemesis suite (issue 15): named fault scenarios against real `chorus serve` peers in a
# private network and mount namespace (`unshare -n -m`), each checked for lost acknowledged
# writes, phantom values, sibling completeness, resurrected deletes and convergence after
# healing (scripts/nemesis.py; scenarios and checks are described there; --list names them).
#
# usage: scripts/nemesis-test.sh [--bin PATH] [--scenario NAME]... [--soak MINUTES] [--seed N]
#                                [--short] [--json FILE] [--list]
#   --scenario NAME  run this scenario (repeatable); default: every scenario once
#   --soak MINUTES   run every scenario in random order, again and again, for MINUTES; the
#                    seed printed first replays the order and the workloads' choices
#   --short          short fault holds (what CI runs: scripts/suites/nemesis.sh)
#   --json FILE      append each scenario's figures (one JSON object a line)
# Needs root (unshare -n -m, iptables, mount), ip, python3, gcc (the clock shim). Bounded:
# every wait is capped; every process is stopped by its PID. Exit 0 = pass, 1 = a violation.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
name=nemesis-test

bin=""; args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --scenario|--soak|--seed|--json) args+=("$1" "$2"); shift 2 ;;
    --short|--list) args+=("$1"); shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$name: FAIL: unknown flag $1 (see --help)"; exit 2 ;;
  esac
done
for a in "${args[@]}"; do [ "$a" = --list ] && exec python3 "$root/scripts/nemesis.py" --list; done

if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  if [ -z "$bin" ]; then
    flock -o /tmp/chorus-build.lock swift build >/tmp/chorus-nemesis-build.$$.log 2>&1 \
      || { tail -20 /tmp/chorus-nemesis-build.$$.log; rm -f /tmp/chorus-nemesis-build.$$.log; echo "$name: FAIL: build failed"; exit 1; }
    rm -f /tmp/chorus-nemesis-build.$$.log
    bin=$root/.build/debug/chorus
  fi
  case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
  if ! command -v unshare >/dev/null || ! unshare -n -m true 2>/dev/null; then
    echo "$name: SKIP (cannot create a private network and mount namespace here)"
    exit 0
  fi
  exec unshare -n -m env CHORUS_IN_NETNS=1 bash "$0" --bin "$bin" "${args[@]}"
fi

[ -x "$bin" ] || { echo "$name: FAIL: $bin is not an executable"; exit 1; }
for tool in ip iptables python3 mount; do
  command -v "$tool" >/dev/null || { echo "$name: SKIP ($tool missing)"; exit 0; }
done
ip link set lo up
iptables -S >/dev/null 2>&1 || { echo "$name: SKIP (iptables does not work here)"; exit 0; }
# A private mount namespace: the disk-full scenario's tmpfs is seen by this run only.
mount --make-rprivate / 2>/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-nemesis-XXXXXX")
shim=()
cc=$(command -v gcc || command -v cc || command -v clang)
if [ -n "$cc" ] && "$cc" -shared -fPIC -O2 -o "$work/clockshift.so" scripts/lib/clockshift.c -ldl; then
  shim=(--shim "$work/clockshift.so")
else
  echo "$name: FAIL: the clock shim (scripts/lib/clockshift.c) does not build"; exit 1
fi
python3 "$root/scripts/nemesis.py" --bin "$bin" --work "$work" "${shim[@]}" "${args[@]}" &
driver=$!
trap 'kill -INT "$driver" 2>/dev/null; wait "$driver" 2>/dev/null; iptables -F 2>/dev/null' INT TERM
wait "$driver"; status=$?
iptables -F 2>/dev/null
if [ $status = 0 ]; then rm -rf "$work"; else echo "$name: work directory kept: $work"; fi
exit $status
