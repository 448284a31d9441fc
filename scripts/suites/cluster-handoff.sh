#!/usr/bin/env bash
# Multi-process suite (issue 6): a 4th `chorus serve` joins a loaded 3-peer cluster by
# --seed; `chorus status` shows its transfers progressing to done; every key reads back
# afterwards; then a peer is killed with SIGKILL, `chorus remove` drops it, and each
# surviving peer alone (the other two paused with SIGSTOP) holds every key: N = 3 replicas
# restored from the survivors. Private network namespace; bounded; processes stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns cluster-handoff "$@"
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "cluster-handoff: FAIL: redis-cli missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-handoff-XXXXXX")
keys=4000
pids=()
fail() { echo "cluster-handoff: FAIL: $*"; for i in 1 2 3 4; do [ -f "$work/n$i.log" ] && tail -5 "$work/n$i.log" | sed "s/^/  n$i: /"; done; cleanup; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
trap cleanup EXIT
start() {  # start peer i; slow handoff so its progress can be watched
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" --partitions 64 --handoff-rate 60000 "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
status() { "$bin" -h "127.0.0.$1" status 2>/dev/null; }
members_ok() {  # $1 = peer asked, $2 = expected members owning partitions
  [ "$(status "$1" | awk '$3=="alive" && $4=="joined" && $5>0' | wc -l)" = "$2" ]
}
cli() { local i=$1; shift; redis-cli -h "127.0.0.$i" -p 6380 "$@"; }

start 1; sleep 1; start 2; start 3
for _ in $(seq 1 80); do members_ok 1 3 && members_ok 3 3 && break; sleep 0.5; done
members_ok 1 3 || fail "3 peers did not settle in 40 s"

# Load: pipelined SETs (value 200 bytes) through peer 1.
python3 - "$keys" >"$work/load.txt" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    k = f"key:{i}"; v = f"value-{i}-" + "x" * 190
    out.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${len(v)}\r\n{v}\r\n")
PY
cli 1 --pipe <"$work/load.txt" >"$work/pipe.out" 2>&1 || fail "loading keys: $(tail -2 "$work/pipe.out")"
grep -q "errors: 0, replies: $keys" "$work/pipe.out" || fail "load not fully acknowledged: $(tail -1 "$work/pipe.out")"
echo "cluster-handoff: 3 peers settled, $keys keys loaded"

# Join a 4th peer; watch its transfers go from running to done.
start 4
seen_running=0; seen_done=0
for _ in $(seq 1 240); do
  s=$(status 1)
  { date +%T.%N; echo "$s"; } >>"$work/status.log"
  if echo "$s" | grep -Eq '^[0-9]+ +default .* (running|waiting) ' || echo "$s" | grep -Eq '^handoffs: [0-9]+ transfers, [1-9][0-9]* not done'; then seen_running=1; fi
  if echo "$s" | grep -Eq '^handoffs: [1-9][0-9]* transfers, 0 not done'; then seen_done=1; fi
  [ $seen_done = 1 ] && members_ok 1 4 && members_ok 4 4 && break
  sleep 0.5
done
members_ok 1 4 || fail "the 4th peer did not take its partitions in 120 s"
[ $seen_running = 1 ] || fail "chorus status never showed a transfer in progress"
[ $seen_done = 1 ] || fail "chorus status never showed every transfer done"
grep -m1 -E '^partition' "$work/status.log" | sed 's/^/  /'
grep -m1 -E '^[0-9]+ +default .* (running|waiting) ' "$work/status.log" | sed 's/^/  /'
echo "cluster-handoff: peer 4 joined; status showed transfers running, then all done"

check_all() {  # every key reads its value through peer $1 with the given options
  local i=$1; shift
  python3 - "$keys" "$@" >"$work/get.txt" <<'PY'
import sys
n = int(sys.argv[1]); opts = sys.argv[2:]
for i in range(n):
    print(" ".join(["GET", f"key:{i}"] + opts))
PY
  cli "$i" <"$work/get.txt" >"$work/got.txt" 2>&1
  python3 - "$keys" "$work/got.txt" <<'PY'
import sys
n = int(sys.argv[1]); got = open(sys.argv[2]).read().split("\n")
bad = [i for i in range(n) if i >= len(got) or got[i] != f"value-{i}-" + "x" * 190]
if bad:
    print(f"{len(bad)} keys wrong, first key:{bad[0]} -> {got[bad[0]] if bad[0] < len(got) else 'nothing'}")
    sys.exit(1)
PY
}
for i in 1 4; do check_all "$i" R all || fail "after the join, reading through peer $i"; done
echo "cluster-handoff: all $keys keys read back through peers 1 and 4 with R all"

# Peer 2 dies for good; an operator removes it; the survivors rebuild its replicas.
kill -9 "${pids[2]}"; wait "${pids[2]}" 2>/dev/null; unset 'pids[2]'
for _ in $(seq 1 60); do status 1 | grep -q '^127.0.0.2:7946 .* dead ' && break; sleep 0.5; done
"$bin" -h 127.0.0.1 remove 127.0.0.2:7946 | grep -q '^OK' || fail "chorus remove refused"
for _ in $(seq 1 240); do
  s=$(status 1)
  if members_ok 1 3 && echo "$s" | grep -q '^127.0.0.2:7946 .* removed *0$' && echo "$s" | grep -Eq '^handoffs: [0-9]+ transfers, 0 not done'; then break; fi
  sleep 0.5
done
members_ok 1 3 || fail "the ring did not settle on the 3 survivors in 120 s"
echo "$s" | grep -q '^127.0.0.2:7946 .* removed *0$' || fail "removed peer still owns partitions: $(echo "$s" | grep 127.0.0.2)"
echo "cluster-handoff: peer 2 removed; the ring settled on peers 1, 3, 4"

# N = 3 on 3 peers: each must now hold every key by itself.
for i in 1 3 4; do
  others=(); for j in 1 3 4; do [ "$j" != "$i" ] && others+=("${pids[$j]}"); done
  kill -STOP "${others[@]}"
  check_all "$i" R 1 TIMEOUT 3000; ok=$?
  kill -CONT "${others[@]}"
  [ $ok = 0 ] || fail "peer $i alone does not hold every key"
done
echo "cluster-handoff: each survivor alone holds every key"

# Peer 4 leaves on purpose: it hands its partitions to peers 1 and 3, then stops by itself.
"$bin" -h 127.0.0.4 leave | grep -q '^OK leaving' || fail "chorus leave refused"
for _ in $(seq 1 240); do kill -0 "${pids[4]}" 2>/dev/null || break; sleep 0.5; done
kill -0 "${pids[4]}" 2>/dev/null && fail "peer 4 did not stop after leaving"
wait "${pids[4]}"; code=$?; unset 'pids[4]'
[ $code = 0 ] || fail "peer 4 exited with $code after leaving"
members_ok 1 2 || fail "the ring did not settle on peers 1 and 3 after the leave"
check_all 1 R 2 || fail "after the leave, reading through peer 1 with R 2"
echo "cluster-handoff: peer 4 left, exited 0, and peers 1 and 3 serve every key (R 2: N=3 on two peers)"
echo "cluster-handoff: PASS (join handed off, remove restored 3 replicas on every survivor, leave handed off and stopped)"
