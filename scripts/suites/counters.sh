#!/usr/bin/env bash
# Multi-process suite (issue 13, counters): three real `chorus serve` processes in a private
# network namespace; writers INCR/DECR/INCRBY/DECRBY through every peer at once, peer 3 is
# cut off with iptables while both sides increment, the cut heals, peer 2 is killed with
# SIGKILL and restarted, and after repair every counter reads exactly the sum of its
# acknowledged increments (plus, at most, some unanswered ones) through every peer
# (scripts/counters_check.py says how; Python stdlib), then redis-cli INCRBY/GET through
# every peer. About 60 s; hard bound 300 s.
# Every process is stopped by its PID. Env: COUNTERS_SEED replays the writers' choices.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. scripts/lib/netns.sh
enter_private_netns counters "$@"
for tool in iptables python3; do
  command -v "$tool" >/dev/null || { echo "counters: SKIP ($tool missing)"; exit 0; }
done
iptables -S >/dev/null 2>&1 || { echo "counters: SKIP (iptables does not work here)"; exit 0; }
bin=$root/.build/debug/chorus
[ -x "$bin" ] || { echo "counters: FAIL: $bin missing (swift build first)"; exit 1; }
seed=${COUNTERS_SEED:-$(( $(date +%s) % 100000 ))}
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-counters-XXXXXX")
pids=()
checker=""
cleanup() {
  [ -n "$checker" ] && { kill -9 "$checker" 2>/dev/null; wait "$checker" 2>/dev/null; checker=""; }
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  iptables -F 2>/dev/null
}
fail() {
  echo "counters: FAIL: $* (seed $seed; rerun: COUNTERS_SEED=$seed bash scripts/suites/counters.sh)"
  for i in 1 2 3; do [ -f "$work/n$i.log" ] && tail -n 4 "$work/n$i.log" | sed "s/^/  n$i: /"; done
  echo "counters: logs kept in $work"
  cleanup
  exit 1
}
trap cleanup EXIT
trap 'echo "counters: FAIL: interrupted"; exit 1' INT TERM
start() {
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
ip addr add 127.0.0.200/8 dev lo 2>/dev/null || true  # the checker's client address (already on lo: 127/8)
start 1; sleep 1; start 2; start 3
ok=0
for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || fail "cluster did not settle in 40 s"
echo "counters: 3 peers settled"

kill_file=$work/kill-peer-2
python3 scripts/counters_check.py --bin "$bin" --seed "$seed" --kill-file "$kill_file" >"$work/check.log" 2>&1 &
checker=$!
tail -n +1 -f --pid="$checker" "$work/check.log" &
tailer=$!
t0=$(date +%s)
while kill -0 "$checker" 2>/dev/null; do
  if [ -f "$kill_file" ]; then
    kill -9 "${pids[2]}" 2>/dev/null; wait "${pids[2]}" 2>/dev/null
    echo "counters: peer 2 killed with SIGKILL"
    sleep 1
    start 2
    for _ in $(seq 1 60); do [ "$(timeout 2 "$bin" -h 127.0.0.2 status 2>/dev/null | wc -l)" -gt 2 ] && break; sleep 0.5; done
    echo "counters: peer 2 restarted"
    rm -f "$kill_file"
  fi
  [ $(( $(date +%s) - t0 )) -gt 280 ] && fail "the checker did not finish in 280 s"
  sleep 0.2
done
wait "$checker"; status=$?
checker=""
wait "$tailer" 2>/dev/null
for i in 1 2 3; do kill -0 "${pids[$i]}" 2>/dev/null || fail "peer $i exited during the test"; done
# redis-cli, as a user would: INCR through every peer, then the exact total through every peer.
if [ "$status" = 0 ] && command -v redis-cli >/dev/null; then
  for i in 1 2 3; do
    for _ in $(seq 1 10); do
      out=$(timeout 10 redis-cli -h "127.0.0.$i" -p 6380 INCRBY cli-counter "$i")
      case "$out" in ''|*[!0-9-]*) fail "redis-cli INCRBY through peer $i answered '$out'" ;; esac
    done
  done
  for i in 1 2 3; do
    out=$(timeout 10 redis-cli -h "127.0.0.$i" -p 6380 GET cli-counter R all)
    [ "$out" = 60 ] || fail "redis-cli GET cli-counter through peer $i: '$out', want 60"
  done
  out=$(timeout 10 redis-cli -h 127.0.0.2 -p 6380 INCRBYFLOAT cli-counter 1.5 2>&1)
  case "$out" in *"INCRBYFLOAT is not supported"*) ;; *) fail "redis-cli INCRBYFLOAT: '$out'" ;; esac
  echo "counters: redis-cli INCRBY/GET through every peer ok"
fi
case $status in
  0) echo "counters: PASS ($(grep -m1 'summary:' "$work/check.log" | sed 's/.*summary: //'); seed $seed)"
     cleanup
     rm -rf "$work"
     exit 0 ;;
  1) fail "counters differ from the acknowledged sums (above)" ;;
  *) fail "the checker could not run (status $status)" ;;
esac
