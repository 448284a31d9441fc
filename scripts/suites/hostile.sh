#!/usr/bin/env bash
# Hostile-client suite (issue 14): three real peers in a private network namespace, with a
# cluster secret and a client password, attacked over real sockets by
# scripts/hostile_client.py: oversized, truncated and garbage frames, 2^31- and
# million-element array headers, a 10 MB frame before AUTH, clients that never read their
# replies, idle connections past the AUTH deadline, a connection flood past --max-clients,
# forged and 1,025-entry contexts, huge and too many namespace names, and strangers
# dripping bytes into the peer RPC port. After each attack a canary client connected
# before it must still be served. Then every peer is restarted and must serve again
# (the persisted state of the attacks included). RSS of each peer is printed before and
# after; the growth must stay under RSS_BOUND_MB.
# Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns hostile "$@"
bin=$(pwd)/.build/debug/chorus
py=$(command -v python3) || { echo "hostile: FAIL: python3 missing"; exit 1; }
client="$py scripts/hostile_client.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-hostile-XXXXXX")
pw=hostile-pw
secret=hostile-secret
max_clients=300
RSS_BOUND_MB=${RSS_BOUND_MB:-200}
pids=()
fail() { echo "hostile: FAIL: $*"; for i in 1 2 3; do [ -f "$work/n$i.log" ] && tail -n 5 "$work/n$i.log"; done; cleanup; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
trap cleanup EXIT
start() {  # start peer i
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" --requirepass "$pw" \
    --cluster-secret "$secret" --max-clients "$max_clients" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {  # all three alive and joined, seen from peer $1
  [ "$("$bin" -h "127.0.0.$1" -a "$pw" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
wait_settled() {
  for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && return 0; sleep 0.5; done
  return 1
}
rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/${pids[$1]}/status"; }
run() {
  $client "$@" --password "$pw" || fail "scenario $1"
  echo "hostile:   RSS after $1 (MB): peer1=$(rss_mb 1) peer2=$(rss_mb 2) peer3=$(rss_mb 3)"
}

start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not settle in 40 s"
echo "hostile: 3 peers settled"
before=()
for i in 1 2 3; do before[$i]=$(rss_mb "$i"); done
echo "hostile: RSS before (MB): peer1=${before[1]} peer2=${before[2]} peer3=${before[3]}"

run frames --host 127.0.0.1
run preauth --host 127.0.0.1
run slow_readers --host 127.0.0.1
run idle --host 127.0.0.2 --count 100
run flood --host 127.0.0.3 --count 400 --max-clients "$max_clients"
run forged --host 127.0.0.1 --victim 127.0.0.2:7946
run namespaces --host 127.0.0.1
run peer_drip --host 127.0.0.1 --via 127.0.0.2 --count 300
for i in 1 2 3; do kill -0 "${pids[$i]}" 2>/dev/null || fail "peer $i died during the attacks"; done

after=()
for i in 1 2 3; do after[$i]=$(rss_mb "$i"); done
echo "hostile: RSS after  (MB): peer1=${after[1]} peer2=${after[2]} peer3=${after[3]} (bound: +$RSS_BOUND_MB MB each)"
for i in 1 2 3; do
  [ $(( after[i] - before[i] )) -le "$RSS_BOUND_MB" ] || fail "peer $i grew by $(( after[i] - before[i] )) MB (bound $RSS_BOUND_MB)"
done

# Every peer restarts on the state the attacks left (namespaces at the bound, the forged
# and wide keys) and serves writes it coordinates.
for i in 1 2 3; do kill -TERM "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null; done
pids=()
start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not come back after the restart"
for i in 1 2 3; do run writes --host "127.0.0.$i" --count 5; done
echo "hostile: PASS (every attack answered, canaries served, peers up, restart clean)"
cleanup
rm -rf "$work"
