#!/usr/bin/env bash
# Multi-process suite (issue 14): a peer loses its data directory and comes back under the
# same node id (the default, host:port). Its new writes must not reuse the dots its old
# incarnation issued: a replica whose context already covers (id, c) would merge such a
# write away as "already seen", and an acknowledged write would be lost. Three peers, N=3:
# 30 keys written three times (peer 3 coordinates about a third of them, its counters
# reach ~30), peer 3 killed, its directory wiped, restarted with the same id, every key
# written once more through it; every acknowledged last write must read back (GETV R all
# through another peer). Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns id-reuse "$@"
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "id-reuse: FAIL: redis-cli missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-idreuse-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
fail() { echo "id-reuse: FAIL: $*"; for i in 1 2 3; do tail -n 5 "$work/n$i.log" 2>/dev/null; done; cleanup; exit 1; }
trap cleanup EXIT
start() {  # start peer i (id: the default 127.0.0.i:7946)
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {  # all three alive and joined, seen from peer $1
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
wait_settled() {
  for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && return 0; sleep 0.5; done
  return 1
}
cli() { local i=$1; shift; redis-cli -h "127.0.0.$i" -p 6380 "$@"; }
actor() { cli "$1" INFO server | tr -d '\r' | sed -n 's/^dot_actor://p'; }

start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not settle in 40 s"
old_actor=$(actor 3)
[ -n "$old_actor" ] || fail "INFO has no dot_actor"
for round in 1 2 3; do
  for k in $(seq 1 30); do
    [ "$(cli 3 SET "k$k" "old$round-$k" W 3 TIMEOUT 3000)" = OK ] || fail "SET k$k round $round"
  done
done
echo "id-reuse: 30 keys written 3 times through peer 3 (dot actor $old_actor)"

kill -9 "${pids[3]}"; wait "${pids[3]}" 2>/dev/null
rm -rf "$work/n3"
start 3
wait_settled || fail "peer 3 did not rejoin after its data directory was wiped"
new_actor=$(actor 3)
[ -n "$new_actor" ] && [ "$new_actor" != "$old_actor" ] || fail "peer 3 kept dot actor '$new_actor' after losing its data"
echo "id-reuse: peer 3 back with the same id and an empty data directory (dot actor $new_actor)"

acked=()
for k in $(seq 1 30); do
  [ "$(cli 3 SET "k$k" "new-$k" W 2 TIMEOUT 3000)" = OK ] && acked+=("$k")
done
[ "${#acked[@]}" -ge 25 ] || fail "only ${#acked[@]} of 30 writes through the restarted peer acknowledged"
lost=()
for k in "${acked[@]}"; do
  for i in 1 2; do
    cli "$i" --no-raw GETV "k$k" R all | grep -qx "[0-9]*) \"new-$k\"" || { lost+=("k$k@$i"); break; }
  done
done
[ "${#lost[@]}" = 0 ] || fail "${#lost[@]} of ${#acked[@]} acknowledged writes through the restarted peer are gone: ${lost[*]}"
echo "id-reuse: PASS (${#acked[@]} acknowledged writes through the wiped peer all read back with R all through peers 1 and 2)"
cleanup
rm -rf "$work"
