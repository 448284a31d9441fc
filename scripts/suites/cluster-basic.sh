#!/usr/bin/env bash
# Multi-process suite (issue 5): three real `chorus serve` processes in a private network
# namespace; redis-cli SET/GET through each peer; W=2 writes while one peer is cut off by
# iptables; after healing, every acknowledged write reads back with R all; a kill -9 of every
# peer loses no acknowledged write. Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns cluster-basic "$@"
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "cluster-basic: FAIL: redis-cli missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-cluster-XXXXXX")
pids=()
fail() { echo "cluster-basic: FAIL: $*"; cleanup; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
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
settled() {  # all three alive and joined, seen from peer $1
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
wait_settled() {
  for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && return 0; sleep 0.5; done
  return 1
}
cli() { local i=$1; shift; redis-cli -h "127.0.0.$i" -p 6380 "$@"; }

start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not settle in 40 s"
echo "cluster-basic: 3 peers settled"

# SET through each peer, GET through every peer.
for i in 1 2 3; do
  [ "$(cli "$i" SET "via$i" "value$i")" = OK ] || fail "SET via peer $i"
done
for i in 1 2 3; do for j in 1 2 3; do
  [ "$(cli "$i" GET "via$j")" = "value$j" ] || fail "GET via$j through peer $i"
done; done
echo "cluster-basic: SET/GET through every peer ok"

# A namespace with N=2: with three peers every key has a fallback, so writes for a peer
# that is cut off become hints on the third one.
[ "$(cli 1 NS.CREATE two N 2 W 2)" = OK ] || fail "NS.CREATE two"
sleep 1

# Cut peer 3 off (both directions) and keep writing with W=2.
acked=()
if iptables -A INPUT -s 127.0.0.3 -j DROP 2>/dev/null && iptables -A INPUT -d 127.0.0.3 -j DROP 2>/dev/null; then
  partitioned=1
else
  partitioned=0
  echo "cluster-basic: iptables unavailable; running the write phase without a partition"
fi
for k in $(seq 1 40); do
  out=$(cli $(( (k % 2) + 1 )) SET "p$k" "v$k" W 2 TIMEOUT 3000)
  [ "$out" = OK ] && acked+=("p$k")
done
[ "${#acked[@]}" -ge 30 ] || fail "only ${#acked[@]} of 40 W=2 writes acknowledged during the partition"
hinted=()
for k in $(seq 1 30); do
  out=$(redis-cli -h 127.0.0.1 -p 6380 -c <<<"NS.USE two
SET h$k v$k W 2 TIMEOUT 3000" | tail -n 1)
  [ "$out" = OK ] && hinted+=("h$k")
done
stored=$(cli 1 INFO | tr -d '\r' | awk -F: '$1=="hints_stored"{print $2}')
stored2=$(cli 2 INFO | tr -d '\r' | awk -F: '$1=="hints_stored"{print $2}')
echo "cluster-basic: ${#hinted[@]} of 30 N=2 writes acknowledged; hints stored on peers 1 and 2: ${stored:-0} + ${stored2:-0}"
echo "cluster-basic: ${#acked[@]} of 40 writes acknowledged with peer 3 cut off"
[ "$partitioned" = 1 ] && iptables -F
wait_settled || fail "cluster did not heal in 40 s"
for k in "${acked[@]}"; do
  [ "$(cli 3 GET "$k" R all)" = "v${k#p}" ] || fail "$k not readable with R all after healing"
done
missing=0
for k in "${acked[@]}"; do [ "$(cli 3 GET "$k" R one)" = "v${k#p}" ] || missing=$((missing + 1)); done
[ "$missing" = 0 ] || fail "peer 3 still misses $missing keys after read repair"
echo "cluster-basic: after healing every acknowledged write reads back with R all; peer 3 caught up"
if [ "$partitioned" = 1 ]; then
  [ $(( ${stored:-0} + ${stored2:-0} )) -gt 0 ] || fail "no hints were stored while peer 3 was cut off"
  for _ in $(seq 1 40); do
    p1=$(cli 1 INFO | tr -d '\r' | awk -F: '$1=="hints_pending"{print $2}')
    p2=$(cli 2 INFO | tr -d '\r' | awk -F: '$1=="hints_pending"{print $2}')
    [ "${p1:-1}" = 0 ] && [ "${p2:-1}" = 0 ] && break
    sleep 0.5
  done
  [ "${p1:-1}" = 0 ] && [ "${p2:-1}" = 0 ] || fail "hints still pending 20 s after healing ($p1, $p2)"
  for k in "${hinted[@]}"; do
    out=$(redis-cli -h 127.0.0.1 -p 6380 <<<"NS.USE two
GET $k R all" | tail -n 1)
    [ "$out" = "v${k#h}" ] || fail "$k (N=2) not readable with R all after hint delivery"
  done
  echo "cluster-basic: hints delivered to peer 3 and deleted; every N=2 write reads back"
fi

# kill -9 every peer, restart, and check every acknowledged write.
for i in 1 2 3; do kill -9 "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null; done
pids=()
start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not come back after kill -9"
for k in "${acked[@]}"; do [ "$(cli 1 GET "$k" R all)" = "v${k#p}" ] || fail "$k lost after kill -9 of every peer"; done
for i in 1 2 3; do [ "$(cli 2 GET "via$i")" = "value$i" ] || fail "via$i lost after kill -9"; done
echo "cluster-basic: PASS (no acknowledged write lost across partition and kill -9)"
cleanup
rm -rf "$work"
