#!/usr/bin/env bash
# Node-wide queued-command bound (issue 14): three real peers in a private network namespace;
# peer 1 runs with --max-queued-commands 300. Peers 2 and 3 are paused (SIGSTOP), so writes
# coordinated at peer 1 wait for replicas; 40 connections each pipeline 100 SETs (each under
# its own bound of 128, 4,000 together). scripts/queued_check.py samples /metrics: the queued
# count must reach and never pass 300. Then the replicas resume; every command is answered,
# a fresh client is served, and peer 1's RSS growth stays under RSS_BOUND_MB.
# Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns queued "$@"
bin=$(pwd)/.build/debug/chorus
py=$(command -v python3) || { echo "queued: FAIL: python3 missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-queued-XXXXXX")
bound=300
RSS_BOUND_MB=${RSS_BOUND_MB:-100}
pids=()
fail() { echo "queued: FAIL: $*"; [ -f "$work/n1.log" ] && tail -n 5 "$work/n1.log"; cleanup; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
trap cleanup EXIT
start() {
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" --max-queued-commands "$bound" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/${pids[$1]}/status"; }

start 1; sleep 1; start 2; start 3
ok=0; for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && { ok=1; break; }; sleep 0.5; done
[ $ok = 1 ] || fail "cluster did not settle in 40 s"
before=$(rss_mb 1)
echo "queued: 3 peers settled; peer 1 RSS before: $before MB"
kill -STOP "${pids[2]}" "${pids[3]}"
$py scripts/queued_check.py 127.0.0.1 127.0.0.1:8080 "$bound" 40 100 "$work/resume" &
checker=$!
for _ in $(seq 1 200); do [ -f "$work/resume" ] && break; kill -0 "$checker" 2>/dev/null || break; sleep 0.1; done
during=$(rss_mb 1)
kill -CONT "${pids[2]}" "${pids[3]}"
timeout 120 tail --pid="$checker" -f /dev/null
wait "$checker" || fail "check failed"
kill -0 "${pids[1]}" 2>/dev/null || fail "peer 1 died"
after=$(rss_mb 1)
echo "queued: peer 1 RSS (MB): before=$before at-bound=$during after=$after (bound: +$RSS_BOUND_MB MB)"
[ $(( during - before )) -le "$RSS_BOUND_MB" ] || fail "peer 1 grew by $(( during - before )) MB at the bound"
echo "queued: PASS (queued count held at the bound, every command answered, fresh client served)"
cleanup
rm -rf "$work"
