#!/usr/bin/env bash
# Multi-process suite (issue 15, SPEC 6 "A full disk"): three real peers in a private
# network and mount namespace (unshare -n -m); peer 3's data directory is a small tmpfs
# that a filler file fills up while writes go on through every peer. Checked: writes
# through peers 1 and 2 keep succeeding (W=2); peer 3 refuses its clients' writes with -ERR
# (never +OK) once its store has stopped, keeps serving reads, logs the cause once and
# shows it in INFO and /status; after the filler is removed it accepts writes again by
# itself (no restart) within RECOVERY_BOUND_S; every acknowledged write reads back with
# R all. Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=disk-full
RECOVERY_BOUND_S=${RECOVERY_BOUND_S:-10}
if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  if ! command -v unshare >/dev/null || ! unshare -n -m true 2>/dev/null; then
    echo "$name: SKIP (cannot create a private network and mount namespace here)"
    exit 0
  fi
  exec unshare -n -m env CHORUS_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "$name: FAIL: redis-cli missing"; exit 1; }
command -v curl >/dev/null || echo "$name: curl missing; /status is not checked"
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-diskfull-XXXXXX")
mkdir -p "$work/n3"
# Private mount namespace: the tmpfs is seen by this script and its peers only.
mount --make-rprivate / 2>/dev/null
mount -t tmpfs -o size=16m tmpfs "$work/n3" || { echo "$name: SKIP (cannot mount a tmpfs)"; exit 0; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  umount "$work/n3" 2>/dev/null
}
fail() { echo "$name: FAIL: $*"; tail -n 5 "$work/n3.log" 2>/dev/null; cleanup; exit 1; }
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
wait_settled() {
  for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && return 0; sleep 0.5; done
  return 1
}
cli() { local i=$1; shift; timeout 10 redis-cli -h "127.0.0.$i" -p 6380 "$@"; }
info3() { cli 3 INFO | tr -d '\r' | awk -F: -v k="$1" '$1==k{sub(/^[^:]*:/, ""); print}'; }

start 1; sleep 1; start 2; start 3
wait_settled || fail "cluster did not settle in 40 s"
echo "$name: 3 peers settled; peer 3's data directory is a 16 MiB tmpfs"

declare -A acked=()
write_round() {  # a round of SETs through every peer; counts outcomes per peer
  local tag=$1 n=$2
  for k in $(seq 1 "$n"); do
    for i in 1 2 3; do
      local key="$tag-$i-$k" out
      out=$(cli "$i" SET "$key" "v-$key" W 2 TIMEOUT 3000 2>&1)
      if [ "$out" = OK ]; then acked[$key]=1; ok[$i]=$(( ${ok[$i]:-0} + 1 )); else bad[$i]=$(( ${bad[$i]:-0} + 1 )); last_err[$i]=$out; fi
    done
  done
}
declare -A ok=() bad=() last_err=()
write_round before 20
[ "${bad[1]:-0}${bad[2]:-0}${bad[3]:-0}" = 000 ] || fail "writes failed before the disk filled: ${last_err[*]}"

# Fill the tmpfs (dd stops at ENOSPC), then keep writing until peer 3's store stops.
dd if=/dev/zero of="$work/n3/filler" bs=64k >/dev/null 2>&1
ok=(); bad=(); last_err=()
for _ in $(seq 1 60); do
  write_round full 5
  [ "$(info3 write_status)" = err ] && break
done
[ "$(info3 write_status)" = err ] || fail "peer 3's store never reported the full disk (INFO write_status)"
reason=$(info3 write_error)
case "$reason" in *"No space left on device"*) ;; *) fail "write_error does not name ENOSPC: $reason" ;; esac
echo "$name: peer 3 stopped writes: $reason"

# While full: writes through 1 and 2 succeed, through 3 are refused with -ERR, reads work.
ok=(); bad=(); last_err=()
write_round while-full 30
[ "${bad[1]:-0}" = 0 ] && [ "${bad[2]:-0}" = 0 ] || fail "writes through peers 1/2 failed while peer 3 was full: ${last_err[1]:-} ${last_err[2]:-}"
[ "${ok[3]:-0}" = 0 ] || fail "peer 3 acknowledged ${ok[3]} writes while its disk was full"
case "${last_err[3]:-}" in "ERR this peer cannot make writes durable"*) ;; *) fail "peer 3's refusal: ${last_err[3]:-none}" ;; esac
echo "$name: while full: 60 of 60 writes through peers 1 and 2 acknowledged, peer 3 refused 30 of 30 with: ${last_err[3]:0:80}..."
[ "$(cli 3 GET before-1-1)" = v-before-1-1 ] || fail "read through peer 3 failed while its disk was full"
[ "$(cli 3 PING)" = PONG ] || fail "PING through peer 3"
if command -v curl >/dev/null; then
  curl -s "http://127.0.0.3:8080/status" | grep -q '"writes":{"ok":false' || fail "/status does not show the write error"
fi
[ "$(grep -c 'writes refused' "$work/n3.log")" = 1 ] || fail "the cause was not logged exactly once: $(grep -c 'writes refused' "$work/n3.log")"
"$bin" -h 127.0.0.1 status 2>/dev/null | grep -q '^  disk: 127.0.0.3:7946 refuses writes: ' \
  || fail "chorus status does not warn that peer 3 refuses writes: $("$bin" -h 127.0.0.1 status 2>&1 | tail -n 4)"

# Free the space: peer 3 resumes by itself.
rm -f "$work/n3/filler"
t0=$(date +%s%N)
resumed=0
for _ in $(seq 1 $(( RECOVERY_BOUND_S * 10 ))); do
  if [ "$(cli 3 SET resumed yes W all TIMEOUT 3000)" = OK ]; then resumed=1; break; fi
  sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$resumed" = 1 ] || fail "peer 3 did not accept writes within ${RECOVERY_BOUND_S} s of the space being freed"
acked[resumed]=1
echo "$name: peer 3 accepted writes again (W all) ${ms} ms after the space was freed (bound ${RECOVERY_BOUND_S} s), no restart"
for _ in $(seq 1 20); do [ "$(info3 write_status)" = ok ] && break; sleep 0.2; done
[ "$(info3 write_status)" = ok ] || fail "INFO still shows the write error"
grep -q 'writes accepted again' "$work/n3.log" || fail "the recovery was not logged"
ok=(); bad=(); last_err=()
write_round after 10
[ "${bad[1]:-0}${bad[2]:-0}${bad[3]:-0}" = 000 ] || fail "writes failed after recovery: ${last_err[*]}"

# Nothing acknowledged is lost: every acknowledged key reads back with R all.
lost=0
for key in "${!acked[@]}"; do
  want="v-$key"; [ "$key" = resumed ] && want=yes
  [ "$(cli $(( RANDOM % 3 + 1 )) GET "$key" R all)" = "$want" ] || { lost=$((lost + 1)); echo "$name: lost $key"; }
done
[ "$lost" = 0 ] || fail "$lost of ${#acked[@]} acknowledged writes lost"
echo "$name: PASS (${#acked[@]} acknowledged writes, 0 lost; peer 3 refused while full and resumed by itself in ${ms} ms)"
cleanup
rm -rf "$work"
