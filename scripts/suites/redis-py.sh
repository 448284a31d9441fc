#!/usr/bin/env bash
# Multi-process suite (issue 13): three real `chorus serve` processes in a private network
# namespace; redis-py 8 with its DEFAULT settings (RESP3 via HELLO 3) through every peer
# (scripts/redis_py_check.py, with the reply shapes of a raw connection compared to
# redis-server 7.0.15's, captured in scripts/resp3_shapes.py), then `redis-cli -3`. SKIP only when the
# test venv cannot be made; every other problem is a FAIL with a non-zero exit. Bounded in
# time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
. scripts/lib/venv.sh
# The venv is made before entering the namespace: pip needs the network.
if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  chorus_venv || true
  if [ -z "$CHORUS_PY" ]; then echo "redis-py: SKIP (the test venv could not be made)"; exit 0; fi
fi
enter_private_netns redis-py "$@"
chorus_venv >/dev/null 2>&1 || true
[ -n "$CHORUS_PY" ] || { echo "redis-py: FAIL: the test venv vanished"; exit 1; }
bin=$(pwd)/.build/debug/chorus
[ -x "$bin" ] || { echo "redis-py: FAIL: $bin missing (swift build first)"; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-py: FAIL: redis-cli missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-redispy-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
fail() { echo "redis-py: FAIL: $*"; cleanup; for i in 1 2 3; do tail -n 5 "$work/n$i.log" 2>/dev/null; done; exit 1; }
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
echo "redis-py: 3 peers settled"

timeout 300 "$CHORUS_PY" scripts/redis_py_check.py 127.0.0.1 127.0.0.2 127.0.0.3 || fail "redis-py checker (above)"

# redis-cli -3: RESP3 replies as redis-cli shows them.
cli3() { timeout 10 redis-cli -3 -h 127.0.0.2 -p 6380 "$@"; }
[ "$(cli3 SET cli3 hello)" = OK ] || fail "redis-cli -3 SET"
[ "$(cli3 GET cli3)" = hello ] || fail "redis-cli -3 GET"
[ "$(cli3 --no-raw GET cli3-absent)" = "(nil)" ] || fail "redis-cli -3 GET of an absent key: $(cli3 --no-raw GET cli3-absent)"
cli3 CLIENT INFO | grep -q "resp=3" || fail "redis-cli -3 CLIENT INFO does not say resp=3"
cli3 INFO server | grep -q "^chorus_version:" || fail "redis-cli -3 INFO server"
out=$(cli3 --no-raw CONFIG GET appendonly | tr -d '\r')
[ "$out" = '1# "appendonly" => "yes"' ] || fail "redis-cli -3 CONFIG GET appendonly shows a map: got '$out'"
out=$(cli3 MULTI 2>&1)
case "$out" in *"transactions (MULTI/EXEC) are not supported"*) ;; *) fail "redis-cli -3 MULTI: $out" ;; esac
echo "redis-py: redis-cli -3 ok"

# A peer with --requirepass (a cluster of its own on 127.0.0.4): redis-py logs in inside HELLO.
"$bin" serve --host 127.0.0.4 --data "$work/n4" --requirepass s3cret >>"$work/n4.log" 2>&1 &
pids[4]=$!
for _ in $(seq 1 40); do [ "$(timeout 5 redis-cli -h 127.0.0.4 -p 6380 -a s3cret --no-auth-warning PING 2>/dev/null)" = PONG ] && break; sleep 0.25; done
timeout 60 "$CHORUS_PY" scripts/redis_py_check.py --password s3cret 127.0.0.4 || fail "redis-py with a password (above)"
echo "redis-py: PASS (redis-py 8 defaults through every peer, redis-cli -3)"
cleanup
rm -rf "$work"
