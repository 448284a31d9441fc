#!/usr/bin/env bash
# Multi-process suite (issue 13, expiry): three real `chorus serve` processes in a private
# network namespace. Keys with short expiries are written through every peer; peer 3 is cut
# off with iptables while keys it holds get an expiry it misses (hints, read repair and
# anti-entropy must not bring its older unexpired copy back), peer 2 is killed with SIGKILL
# and restarted, the cut heals, and then every expired key is absent through every peer
# (GET nil, EXISTS 0, TTL -2, not in KEYS, MGET nil) while keys without an expiry are
# untouched and TTLs agree across peers and decrease. redis-cli and (when the test venv can
# be made) redis-py drive every peer. About 35 s; hard bound 120 s.
# Every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. scripts/lib/venv.sh
# The venv is made before entering the namespace: pip needs the network.
if [ -z "${CHORUS_IN_NETNS:-}" ]; then chorus_venv >/dev/null 2>&1 || true; fi
. scripts/lib/netns.sh
enter_private_netns expiry "$@"
for tool in iptables redis-cli; do
  command -v "$tool" >/dev/null || { echo "expiry: SKIP ($tool missing)"; exit 0; }
done
iptables -S >/dev/null 2>&1 || { echo "expiry: SKIP (iptables does not work here)"; exit 0; }
chorus_venv >/dev/null 2>&1 || CHORUS_PY=""
bin=$root/.build/debug/chorus
[ -x "$bin" ] || { echo "expiry: FAIL: $bin missing (swift build first)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-expiry-XXXXXX")
pids=()
started=$(date +%s)
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  iptables -F 2>/dev/null
}
fail() {
  echo "expiry: FAIL: $*"
  for i in 1 2 3; do [ -f "$work/n$i.log" ] && tail -n 4 "$work/n$i.log" | sed "s/^/  n$i: /"; done
  echo "expiry: logs kept in $work"
  cleanup
  exit 1
}
trap cleanup EXIT
trap 'echo "expiry: FAIL: interrupted"; exit 1' INT TERM
bound() { [ $(( $(date +%s) - started )) -le 120 ] || fail "over the 120 s bound"; }
start() {
  local i=$1 seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  # Anti-entropy compares a tree every second by default: the stale copy is offered back soon.
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
cli() { local i=$1; shift; timeout 10 redis-cli -h "127.0.0.$i" -p 6380 "$@" 2>&1; }
# Peer 3 cut off from peers 1 and 2, both ways, except the client port: redis-cli cannot pick
# its source address, and on loopback the kernel gives it 127.0.0.1, so without the exception
# the checks through peer 3 would be cut off too.
cut() {
  local o s d
  for o in 127.0.0.1 127.0.0.2; do
    for pair in "127.0.0.3 $o" "$o 127.0.0.3"; do
      read -r s d <<<"$pair"
      iptables "$1" INPUT -s "$s" -d "$d" -p tcp --dport 6380 -j ACCEPT
      iptables "$1" INPUT -s "$s" -d "$d" -p tcp --sport 6380 -j ACCEPT
      iptables "$1" INPUT -s "$s" -d "$d" -j DROP
    done
  done
}
start 1; sleep 1; start 2; start 3
ok=0
for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || fail "cluster did not settle in 40 s"
echo "expiry: 3 peers settled"

# 1. Through every peer: short-lived keys, keys that stay, a long TTL, and keys peer 3 will
#    hold without the expiry that is set while it is cut off.
for i in 1 2 3; do
  [ "$(cli "$i" SET "short-$i" v PX 3000)" = OK ] || fail "SET short-$i PX through peer $i"
  [ "$(cli "$i" SETEX "setex-$i" 3 v)" = OK ] || fail "SETEX through peer $i"
  [ "$(cli "$i" SET "keep-$i" "value-$i")" = OK ] || fail "SET keep-$i through peer $i"
  [ "$(cli "$i" SET "stale-$i" old W all)" = OK ] || fail "SET stale-$i W all through peer $i"
  [ "$(cli "$i" SET "later-$i" v W all)" = OK ] || fail "SET later-$i through peer $i"
done
[ "$(cli 2 SET long v EX 100)" = OK ] || fail "SET long EX 100"
[ "$(cli 1 INCRBY counter 5)" = 5 ] || fail "INCRBY counter"
[ "$(cli 1 EXPIRE counter 3)" = 1 ] || fail "EXPIRE counter 3"
[ "$(cli 3 INCR counter)" = 6 ] || fail "INCR on an expiring counter"

# 2. Peer 3 cut off; peers 1 and 2 give its keys an expiry it misses (sloppy quorum: hints).
cut -A
echo "expiry: peer 3 cut off"
for i in 1 2 3; do
  [ "$(cli 1 PEXPIRE "stale-$i" 2500)" = 1 ] || fail "PEXPIRE stale-$i through peer 1 while peer 3 is cut off"
  [ "$(cli 2 SET "later-$i" new PX 2500)" = OK ] || fail "SET later-$i PX through peer 2 while cut"
done
got=$(cli 3 GET stale-1 R one)
[ "$got" = old ] || fail "peer 3 should still hold stale-1 without an expiry (GET stale-1 R one through peer 3: '$got')"

# 3. Peer 2 killed with SIGKILL and restarted while the cut lasts.
kill -9 "${pids[2]}" 2>/dev/null; wait "${pids[2]}" 2>/dev/null
echo "expiry: peer 2 killed with SIGKILL"
sleep 1
start 2
for _ in $(seq 1 60); do [ "$(timeout 2 "$bin" -h 127.0.0.2 status 2>/dev/null | wc -l)" -gt 2 ] && break; sleep 0.5; done
echo "expiry: peer 2 restarted"
bound
sleep 2   # every expiry above has passed by now (the longest is 3 s after step 1)
cut -D
echo "expiry: cut healed"
for _ in $(seq 1 40); do settled 1 && settled 2 && settled 3 && break; sleep 0.5; done

# 4. Every expired key absent through every peer, now and after anti-entropy has run.
expired=()
for i in 1 2 3; do expired+=("short-$i" "setex-$i" "stale-$i" "later-$i"); done
expired+=(counter)
check_absent() {
  local round=$1
  for i in 1 2 3; do
    for k in "${expired[@]}"; do
      [ -z "$(cli "$i" GET "$k")" ] || fail "$round: GET $k through peer $i: '$(cli "$i" GET "$k")', want nil"
      [ "$(cli "$i" EXISTS "$k")" = 0 ] || fail "$round: EXISTS $k through peer $i"
      [ "$(cli "$i" TTL "$k")" = -2 ] || fail "$round: TTL $k through peer $i: $(cli "$i" TTL "$k"), want -2"
    done
    [ "$(cli "$i" GET stale-1 R one)" = "" ] || fail "$round: peer $i's own copy of stale-1 read back with R one"
    got=$(cli "$i" MGET short-1 keep-1 stale-2 | tr '\n' ',')
    [ "$got" = ",value-1,," ] || fail "$round: MGET through peer $i: '$got'"
    keys=$(cli "$i" KEYS '*' | sort | tr '\n' ' ')
    [ "$keys" = "keep-1 keep-2 keep-3 long " ] || fail "$round: KEYS * through peer $i: '$keys'"
    for k in keep-1 keep-2 keep-3; do
      [ "$(cli "$i" GET "$k")" = "value-${k#keep-}" ] || fail "$round: $k through peer $i was touched"
      [ "$(cli "$i" TTL "$k")" = -1 ] || fail "$round: TTL $k through peer $i"
    done
  done
}
check_absent "after healing"
echo "expiry: every expired key absent through every peer; keys without expiry untouched"
sleep 3   # a few anti-entropy rounds and hint deliveries with the stale copy back in reach
check_absent "after anti-entropy"
echo "expiry: still absent after anti-entropy and hint delivery"

# 5. TTLs agree across peers and decrease.
t=()
for i in 1 2 3; do t[$i]=$(cli "$i" PTTL long); done
for i in 1 2 3; do
  case "${t[$i]}" in ''|*[!0-9]*) fail "PTTL long through peer $i: '${t[$i]}'" ;; esac
  [ "${t[$i]}" -le 100000 ] && [ "${t[$i]}" -gt 80000 ] || fail "PTTL long through peer $i: ${t[$i]}"
done
spread=$(printf '%s\n' "${t[1]}" "${t[2]}" "${t[3]}" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{print hi-lo}')
[ "$spread" -le 1000 ] || fail "PTTL long differs by $spread ms across peers (${t[*]})"
sleep 1
later=$(cli 3 PTTL long)
[ "$later" -lt "${t[3]}" ] || fail "PTTL long did not decrease through peer 3 (${t[3]} then $later)"
echo "expiry: TTLs agree across peers (spread $spread ms) and decrease"

# 6. The expiry commands through every peer as redis-py sees them (RESP3, its defaults).
if [ -n "$CHORUS_PY" ]; then
  timeout 60 "$CHORUS_PY" - <<'EOF' || fail "redis-py checks (above)"
import sys, time
import redis
for i in (1, 2, 3):
    r = redis.Redis(host=f"127.0.0.{i}", port=6380, decode_responses=True)
    k = f"py-{i}"
    assert r.set(k, "v", ex=100) is True
    assert 99 <= r.ttl(k) <= 100, r.ttl(k)
    assert r.set(k, "w", keepttl=True) is True and r.ttl(k) >= 99
    assert r.persist(k) is True and r.ttl(k) == -1
    assert r.persist(k) is False
    assert r.expire(k, 50, nx=True) is True and r.expire(k, 10, gt=True) is False
    assert r.expire("py-none", 5) is False and r.ttl("py-none") == -2 and r.pttl("py-none") == -2
    assert r.getex(k, px=200) == "w"
    assert r.set(k + "-old", "o", px=200, get=True) is None
    time.sleep(0.4)
    assert r.get(k) is None and r.exists(k) == 0 and r.ttl(k) == -2, (r.get(k), r.ttl(k))
    assert r.getdel(k) is None
    assert r.set(k, "x") and r.getset(k, "y") == "x" and r.append(k, "z") == 2 and r.strlen(k) == 2
    assert r.type(k) == "string" and r.type("py-none") == "none"
    assert r.getdel(k) == "yz" and r.get(k) is None
print("redis-py: expiry commands through every peer ok")
EOF
else
  echo "expiry: redis-py part skipped (the test venv could not be made)"
fi
for i in 1 2 3; do kill -0 "${pids[$i]}" 2>/dev/null || fail "peer $i exited during the test"; done
echo "expiry: PASS ($(( $(date +%s) - started )) s)"
cleanup
rm -rf "$work"
exit 0
