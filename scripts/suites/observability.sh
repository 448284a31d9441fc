#!/usr/bin/env bash
# Multi-process suite (issue 16): three real `chorus serve` processes in a private network
# namespace. After a SET/GET load through peer 1, every peer's GET /metrics must parse with
# prometheus-client's text parser and pass scripts/metrics_check.py (HELP and TYPE for every
# family, counters ending _total, cumulative histograms, command latency buckets 100 us to
# 10 s with the load counted, peer RPC round trips per peer, WAL fsyncs timed), and
# `promtool check metrics` when promtool can be had (scripts/lib/promtool.sh). Then the logs:
# logfmt, JSON and --log-level filtering, and a stopped peer's state change logged once.
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
  for p in "${pids[@]}"; do [ -n "$p" ] && { kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; }; done
  pids=()
  [ -n "${KEEP_WORK:-}" ] && echo "observability: kept $work" || rm -rf "$work"
}
fail() { echo "observability: FAIL: $*"; for i in 1 2 3; do tail -n 5 "$work/n$i.log" 2>/dev/null; done; cleanup; exit 1; }
trap cleanup EXIT
logflags=([1]="" [2]="--log-format json --log-level debug" [3]="--log-level warn")
start() {
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  # shellcheck disable=SC2086
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" ${logflags[$i]} >>"$work/n$i.log" 2>&1 &
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

# Logs: peer 1 logfmt, peer 2 JSON at debug, peer 3 warn and above only. Stop peer 3; peer 1
# logs its state change once per transition.
kill -9 "${pids[3]}" 2>/dev/null; wait "${pids[3]}" 2>/dev/null; pids[3]=""
seen=0
for _ in $(seq 1 60); do
  grep -q 'msg="member state changed" node=127.0.0.1:7946 member=127.0.0.3:7946 from=alive to=suspect' "$work/n1.log" && { seen=1; break; }
  sleep 0.5
done
[ "$seen" = 1 ] || fail "peer 1 did not log peer 3 turning suspect within 30 s"
sleep 1
"$CHORUS_PY" - "$work/n1.log" "$work/n2.log" "$work/n3.log" <<'PY' || fail "log lines"
import json, re, sys
n1, n2, n3 = (open(p).read().splitlines() for p in sys.argv[1:4])
logfmt = re.compile(r'^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) msg="(?:[^"\\]|\\.)*" node=127\.0\.0\.1:7946( [a-z_.-]+=("(?:[^"\\]|\\.)*"|[^ "=]+))*$')
bad = [l for l in n1 if not logfmt.match(l)]
assert not bad, f"peer 1 lines not in logfmt: {bad[:3]}"
def count(msg, *parts):
    return sum(1 for l in n1 if f'msg="{msg}"' in l and all(p in l for p in parts))
assert count("peer started") == 1, "peer started not logged once"
for peer in ("127.0.0.2:7946", "127.0.0.3:7946"):
    assert count("member seen", f"member={peer}") == 1, f"member seen {peer} not logged exactly once"
assert count("member state changed", "member=127.0.0.3:7946", "from=alive", "to=suspect") == 1, "alive->suspect not logged exactly once"
assert 1 <= count("ring loaded") + count("ring changed") <= 10, "ring events missing or logged per tick"
assert len(n1) < 60, f"peer 1 logged {len(n1)} lines for a short run: per-request logging?"
objs = [json.loads(l) for l in n2]
assert objs and all({"ts", "level", "msg", "node"} <= o.keys() and o["node"] == "127.0.0.2:7946" for o in objs), "peer 2 JSON lines"
assert any(o["msg"] == "peer started" for o in objs), "peer 2 did not log its start in JSON"
rounds = [o for o in objs if o["msg"] in ("handoff started", "handoff finished")]
assert 1 <= len(rounds) <= 4 and all(o["level"] == "info" for o in rounds), f"peer 2 handoff rounds: {rounds}"
assert sum(1 for o in objs if o["msg"] == "partition handoff started" and o["level"] == "debug") >= 1, "no per-partition debug events at debug level"
assert n3 and all(" level=warn " in l or " level=error " in l for l in n3), f"peer 3 at --log-level warn logged: {n3[:3]}"
print(f"observability: logs ok: peer 1 {len(n1)} logfmt lines, peer 2 {len(objs)} JSON lines, peer 3 {len(n3)} warn lines")
PY
echo "observability: PASS"
