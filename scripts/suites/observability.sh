#!/usr/bin/env bash
# Multi-process suite (issue 16): three real `chorus serve` processes in a private network
# namespace. After a SET/GET load through peer 1, every peer's GET /metrics must parse with
# prometheus-client's text parser and pass scripts/metrics_check.py (HELP and TYPE for every
# family, counters ending _total, cumulative histograms, command latency buckets 100 us to
# 10 s with the load counted, peer RPC round trips per peer, WAL fsyncs timed), and
# `promtool check metrics` when promtool can be had (scripts/lib/promtool.sh).
# Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/venv.sh
. scripts/lib/promtool.sh
if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  # Network first: the namespace below has none.
  chorus_venv || true
  chorus_promtool || true
fi
. scripts/lib/netns.sh
enter_private_netns observability "$@"
bin=$(pwd)/.build/debug/chorus
[ -x "$bin" ] || { echo "observability: FAIL: $bin is missing (scripts/test.sh builds it first)"; exit 1; }
command -v redis-cli >/dev/null || { echo "observability: FAIL: redis-cli missing"; exit 1; }
chorus_venv 2>/dev/null || true
[ -n "${CHORUS_PY:-}" ] || { echo "observability: SKIP (no test venv with prometheus-client)"; exit 0; }
chorus_promtool 2>/dev/null || true
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-observability-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  rm -rf "$work"
}
fail() { echo "observability: FAIL: $*"; for i in 1 2 3; do tail -n 5 "$work/n$i.log" 2>/dev/null; done; cleanup; exit 1; }
trap cleanup EXIT
start() {
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
start 1; sleep 1; start 2; start 3
ok=0
for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || fail "cluster did not settle in 40 s"

n=200
for k in $(seq 1 $n); do echo "SET m$k v$k"; done | timeout 60 redis-cli -h 127.0.0.1 -p 6380 >"$work/sets.out" || fail "SET load"
[ "$(grep -c '^OK$' "$work/sets.out")" = "$n" ] || fail "not every SET answered OK"
for k in $(seq 1 $n); do echo "GET m$k"; done | timeout 60 redis-cli -h 127.0.0.1 -p 6380 >"$work/gets.out" || fail "GET load"
[ "$(grep -c '^v' "$work/gets.out")" = "$n" ] || fail "not every GET returned its value"
redis-cli -h 127.0.0.1 -p 6380 NO-SUCH-COMMAND >/dev/null 2>&1

"$CHORUS_PY" scripts/metrics_check.py http://127.0.0.1:8080/metrics --expect-sets "$n" \
  --expect-peer 127.0.0.2:7946 --expect-peer 127.0.0.3:7946 --members 3 || fail "peer 1's /metrics"
for i in 2 3; do
  "$CHORUS_PY" scripts/metrics_check.py "http://127.0.0.$i:8080/metrics" --members 3 || fail "peer $i's /metrics"
done

if [ -n "${PROMTOOL:-}" ]; then
  for i in 1 2 3; do
    "$CHORUS_PY" -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
      "http://127.0.0.$i:8080/metrics" >"$work/m$i.txt" || fail "fetch /metrics from peer $i"
    out=$("$PROMTOOL" check metrics <"$work/m$i.txt" 2>&1) || fail "promtool check metrics on peer $i: $out"
    [ -z "$out" ] || fail "promtool check metrics on peer $i complained: $out"
  done
  echo "observability: promtool check metrics clean on all 3 peers"
else
  echo "observability: promtool not available (not root or no apt); checked with prometheus-client only"
fi
echo "observability: PASS"
