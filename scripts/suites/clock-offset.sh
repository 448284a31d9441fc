#!/usr/bin/env bash
# Multi-process suite (issue 15, SPEC 6 "Clocks"): three real peers in a private network
# namespace, peer 3's wall clock shifted 2 s ahead by the project's own LD_PRELOAD shim
# (scripts/lib/clockshift.c, built here with gcc; libfaketime empties Swift's
# CommandLine.arguments). Checked: every peer's INFO # Clock shows peer 3 about 2000 ms
# ahead of the median; peer 3 logs it once and refuses lww writes with SPEC 6's error text;
# siblings namespaces keep working through peer 3; lww writes through peer 1 that it or
# peer 2 coordinates succeed. Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=clock-offset
. scripts/lib/netns.sh
enter_private_netns "$name" "$@"
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "$name: FAIL: redis-cli missing"; exit 1; }
cc=$(command -v gcc || command -v cc || command -v clang) || { echo "$name: SKIP (no C compiler for the clock shim)"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-clock-XXXXXX")
"$cc" -shared -fPIC -O2 -o "$work/clockshift.so" scripts/lib/clockshift.c -ldl || { echo "$name: FAIL: the clock shim does not build"; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
fail() { echo "$name: FAIL: $*"; cleanup; exit 1; }
trap cleanup EXIT
start() {  # start peer i, with a clock shifted by $2 ms if given
  local i=$1 shift_ms=${2:-} seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  if [ -n "$shift_ms" ]; then
    LD_PRELOAD="$work/clockshift.so" CHORUS_CLOCK_OFFSET_MS="$shift_ms" \
      "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  else
    "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  fi
  pids[$i]=$!
}
settled() {
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
wait_settled() {
  for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && return 0; sleep 0.5; done
  return 1
}
cli() { local i=$1; shift; timeout 10 redis-cli -h "127.0.0.$i" -p 6380 "$@"; }
in_ns() {  # in_ns PEER NAMESPACE COMMAND...: one connection, NS.USE then the command
  local i=$1 ns=$2; shift 2
  # redis-cli writes error replies to stderr when its output is not a terminal.
  printf 'NS.USE %s\n%s\n' "$ns" "$*" | timeout 10 redis-cli -h "127.0.0.$i" -p 6380 2>&1 | sed '/^$/d' | tail -n 1
}
offset_on() {  # offset_on PEER NODE: NODE's offset_ms in PEER's INFO # Clock
  cli "$1" INFO | tr -d '\r' | awk -v id="$2" 'index($0, id ":offset_ms=") == 1 { sub(/.*offset_ms=/, ""); print }'
}

start 1; sleep 1; start 2; start 3 2000
wait_settled || fail "cluster did not settle in 40 s"
[ "$(cli 1 NS.CREATE clocked CONFLICT lww)" = OK ] || fail "NS.CREATE clocked"
echo "$name: 3 peers settled, peer 3's wall clock 2000 ms ahead"

# Every peer sees peer 3 about 2 s ahead of the median, and peers 1 and 2 near 0.
near() { [ -n "$1" ] && [ "$1" -ge $(( $2 - 150 )) ] && [ "$1" -le $(( $2 + 150 )) ]; }
for _ in $(seq 1 60); do
  all=1
  for p in 1 2 3; do near "$(offset_on $p 127.0.0.3:7946)" 2000 && near "$(offset_on $p 127.0.0.1:7946)" 0 || all=0; done
  [ "$all" = 1 ] && break
  sleep 0.5
done
for p in 1 2 3; do
  echo "$name: INFO # Clock on peer $p: 127.0.0.1 $(offset_on $p 127.0.0.1:7946) ms, 127.0.0.2 $(offset_on $p 127.0.0.2:7946) ms, 127.0.0.3 $(offset_on $p 127.0.0.3:7946) ms"
done
[ "$all" = 1 ] || fail "the offsets in INFO # Clock are not ~2000 ms for peer 3 and ~0 for the others within 30 s"

# Peer 3 refuses lww writes with SPEC 6's text, logged once; siblings namespaces work.
for _ in $(seq 1 20); do grep -q 'refusing to coordinate lww writes' "$work/n3.log" && break; sleep 0.5; done
out=$(in_ns 3 clocked SET k1 v1)
case "$out" in
  "ERR clock offset "*" ms exceeds max-clock-offset; check NTP on 127.0.0.3:7946") ;;
  *) fail "lww write through peer 3 answered: $out" ;;
esac
echo "$name: lww SET through peer 3: -$out"
[ "$(grep -c 'refusing to coordinate lww writes' "$work/n3.log")" = 1 ] || fail "peer 3 did not log its offset exactly once"
st=$("$bin" -h 127.0.0.1 status 2>&1)
grep -q '^  clock: 127.0.0.3:7946 is .* ms .* off the members'"'"' median, beyond max-clock-offset 500 ms' <<<"$st" \
  || fail "chorus status does not warn about peer 3's clock: $(tail -n 4 <<<"$st")"
for k in $(seq 1 10); do
  [ "$(cli 3 SET "s$k" "v$k")" = OK ] || fail "siblings SET s$k through peer 3"
  [ "$(cli 1 GET "s$k")" = "v$k" ] || fail "GET s$k through peer 1"
done
echo "$name: 10 of 10 siblings-namespace writes through peer 3 acknowledged"
okp1=0; refused=0
for k in $(seq 1 30); do
  out=$(in_ns 1 clocked SET "l$k" "v$k")
  if [ "$out" = OK ]; then
    okp1=$((okp1 + 1))
    [ "$(in_ns 2 clocked GET "l$k")" = "v$k" ] || fail "lww l$k acknowledged through peer 1 does not read back"
  else
    case "$out" in "ERR clock offset "*) refused=$((refused + 1)) ;; *) fail "lww SET l$k through peer 1: $out" ;; esac
  fi
  [ "$(in_ns 3 clocked SET "m$k" x)" = OK ] && fail "peer 3 acknowledged an lww write"
done
[ "$okp1" -gt 0 ] || fail "no lww write through peer 1 succeeded"
echo "$name: lww writes through peer 1: $okp1 of 30 acknowledged, $refused refused (forwarded to peer 3 as coordinator); through peer 3: 0 of 30"
echo "$name: PASS"
cleanup
rm -rf "$work"
