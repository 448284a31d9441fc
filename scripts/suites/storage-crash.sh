#!/usr/bin/env bash
# Real-process crash test of the Storage engine (issue 2): a child process writes with
# --sync always and prints each acknowledged key; we kill it with SIGKILL mid-run, reopen
# the store and check every acknowledged key. Rounds continue on the same directory with a
# 16 KiB memtable, so recovery meets several logs, flushed tables and compactions.
# Uses the debug binary scripts/test.sh built. Bounded: about 3 x (2 s + check) seconds,
# at most 3 x (20 + 2 + 120) s on a machine that has stalled.
# Env: CRASH_ROUNDS (default 3), CRASH_SEED (default random; printed, replays the sleeps).
set -uo pipefail
cd "$(dirname "$0")/../.."

bin=.build/debug/chorus
rounds=${CRASH_ROUNDS:-3}
seed=${CRASH_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed

fail() {
  echo "storage-crash: FAIL: $*"
  exit 1
}

[ -x "$bin" ] || fail "$bin is missing (scripts/test.sh builds it first)"
dir=$(mktemp -d "${TMPDIR:-/tmp}/chorus-crash-XXXXXX") || fail "cannot make a temporary directory"
writer=""
cleanup() {
  if [ -n "$writer" ]; then
    kill -9 "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

echo "storage-crash: $rounds rounds, seed $seed (CRASH_SEED=$seed replays the kill times)"
keyfiles=()
total=0
for round in $(seq 1 "$rounds"); do
  "$bin" storage-tool write --db "$dir/db" --sync always --threads 4 --memtable-bytes 16384 \
    --prefix "r$round-" --count 100000000 >"$dir/keys.$round" 2>"$dir/writer.$round.err" &
  writer=$!
  # Start the clock at the first acknowledgement, so a slow start on a busy machine still
  # leaves the kill in the middle of the writes (bounded: 20 s).
  for _ in $(seq 1 200); do
    [ -s "$dir/keys.$round" ] && break
    kill -0 "$writer" 2>/dev/null || break
    sleep 0.1
  done
  ms=$(( 500 + RANDOM % 1501 ))
  sleep "$(printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )))"
  if ! kill -0 "$writer" 2>/dev/null; then
    wait "$writer"
    rc=$?
    writer=""
    fail "round $round: the writer exited (code $rc) before the kill: $(head -c 300 "$dir/writer.$round.err")"
  fi
  kill -9 "$writer"
  wait "$writer" 2>/dev/null
  writer=""
  acked=$(grep -c '' "$dir/keys.$round")
  [ "$acked" -gt 0 ] || fail "round $round: the writer acknowledged no key: $(head -c 300 "$dir/writer.$round.err")"
  total=$(( total + acked ))
  keyfiles+=(--keys "$dir/keys.$round")
  # Every key acknowledged in every round so far must survive this reopen.
  if ! summary=$(timeout 120 "$bin" storage-tool check --db "$dir/db" --memtable-bytes 16384 "${keyfiles[@]}" 2>&1); then
    fail "round $round (killed after ${ms} ms): $summary"
  fi
  echo "storage-crash: round $round: killed after ${ms} ms, $acked keys acknowledged; $summary"
done

# The checker must be able to fail: a key that was never written is reported lost.
echo "never-written-0000000000" >"$dir/keys.control"
if timeout 120 "$bin" storage-tool check --db "$dir/db" --keys "$dir/keys.control" >/dev/null 2>&1; then
  fail "the checker passed a key that was never written"
fi

echo "storage-crash: PASS ($rounds SIGKILL rounds, $total acknowledged keys all present)"
