#!/usr/bin/env bash
# `chorus serve --config FILE` and `--print-config` (SPEC section 2, issue 16): every error
# case is one line on stderr naming the file and line, with exit code 2; comments and blank
# lines are ignored; the command line wins (a repeatable flag given there replaces the
# file's list); --print-config's output fed back with --config prints the same; and a peer
# started from a config file serves on the ports the file names (private network namespace).
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns config "$@"
bin=$(pwd)/.build/debug/chorus
[ -x "$bin" ] || { echo "config: FAIL: $bin is missing (scripts/test.sh builds it first)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-config-XXXXXX")
pid=""
cleanup() { [ -n "$pid" ] && { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "config: FAIL: $*"; exit 1; }
checks=0

# expect_error NAME 'file text' 'expected stderr line' [extra args]
expect_error() {
  local name=$1 text=$2 want=$3
  shift 3
  printf '%b' "$text" >"$work/$name.conf"
  local err status
  err=$("$bin" serve --data "$work/d" --config "$work/$name.conf" "$@" 2>&1 >/dev/null)
  status=$?
  [ "$status" = 2 ] || fail "$name: exit status $status, expected 2 (stderr: $err)"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$name: error is not one line: $err"
  [ "$err" = "chorus: ${want//@/$work/$name.conf}" ] || fail "$name: got '$err', expected 'chorus: ${want//@/$work/$name.conf}'"
  checks=$((checks + 1))
}
expect_error unknown '# comment\n\nsync always\nfrobnicate 3\n' "@:4: unknown setting 'frobnicate'"
expect_error nested 'config other.conf\n' "@:1: unknown setting 'config' (a config file cannot name another)"
expect_error novalue 'host 127.0.0.1\nsync\n' "@:2: sync needs a value"
expect_error port 'client-port 70000\n' "@:1: bad value for client-port: 70000 (expected an integer in 1...65535)"
expect_error notint 'gossip-port seven\n' "@:1: bad value for gossip-port: seven (expected an integer in 1...65535)"
expect_error sync '\n\nsync sometimes\n' "@:3: bad value for sync: sometimes (expected always, periodic:MS (1...3600000) or never)"
expect_error seed 'seed 127.0.0.1:7946\nseed nowhere\n' "@:2: bad value for seed: nowhere (expected HOST:PORT)"
expect_error partitions 'partitions 100\n' "@:1: bad value for partitions: 100 (expected a power of two)"
expect_error loglevel 'log-level loud\n' "@:1: bad value for log-level: loud (expected debug, info, warn or error)"
expect_error logformat 'log-format xml\n' "@:1: bad value for log-format: xml (expected logfmt or json)"
expect_error rate 'handoff-rate 10\n' "@:1: bad value for handoff-rate: 10 (expected an integer in 1024...1099511627776)"
expect_error crlf 'sync always\r\nbogus 1\r\n' "@:2: unknown setting 'bogus'"
# A bad value in the file is not an error when the command line overrides it.
printf 'sync sometimes\n' >"$work/over.conf"
"$bin" serve --data "$work/d" --config "$work/over.conf" --sync never --print-config >/dev/null 2>&1 \
  || fail "a bad file value overridden on the command line still failed"
# Missing and unreadable files; a bad command-line value keeps naming the flag.
err=$("$bin" serve --data "$work/d" --config "$work/absent.conf" 2>&1 >/dev/null); status=$?
[ "$status" = 2 ] && [ "$err" = "chorus: cannot read config file $work/absent.conf: no such file" ] || fail "missing file: $status '$err'"
err=$("$bin" serve --data "$work/d" --sync bad 2>&1 >/dev/null); status=$?
[ "$status" = 2 ] && [ "$err" = "chorus: bad value for --sync: bad (expected always, periodic:MS (1...3600000) or never)" ] || fail "command line: $status '$err'"
checks=$((checks + 3))

# Comments, command line wins, repeatable flags, the print-config round trip.
cat >"$work/good.conf" <<CONF
# a peer's settings
  host 127.0.0.5      # comments after a value
client-port 16385
--http-port 18085
seed 127.0.0.1:7946
seed 127.0.0.2:7946
data $work/n5
sync periodic:50
log-level debug
requirepass pa#ss
CONF
out=$("$bin" serve --config "$work/good.conf" --print-config) || fail "--print-config failed"
for line in "host 127.0.0.5" "client-port 16385" "http-port 18085" "seed 127.0.0.1:7946" "seed 127.0.0.2:7946" \
            "data $work/n5" "sync periodic:50" "log-level debug" "log-format logfmt" "requirepass pa#ss" "partitions 256"; do
  grep -qxF "$line" <<<"$out" || fail "--print-config lacks '$line': $out"
done
out2=$("$bin" serve --config "$work/good.conf" --print-config --sync always --seed 127.0.0.9:7946 --client-port 16399)
grep -qxF "sync always" <<<"$out2" && grep -qxF "client-port 16399" <<<"$out2" || fail "command line did not win: $out2"
[ "$(grep -c '^seed ' <<<"$out2")" = 1 ] && grep -qxF "seed 127.0.0.9:7946" <<<"$out2" || fail "command-line seeds did not replace the file's: $out2"
printf '%s\n' "$out" >"$work/printed.conf"
again=$("$bin" serve --config "$work/printed.conf" --print-config) || fail "feeding --print-config back failed"
[ "$again" = "$out" ] || fail "--print-config output fed back printed something else"
checks=$((checks + 4))

# A real peer started from a config file listens where the file says.
cat >"$work/run.conf" <<CONF
host 127.0.0.1
client-port 16381
http-port 18081
gossip-port 17941
peer-port 17942
data $work/run
CONF
"$bin" serve --config "$work/run.conf" >"$work/run.log" 2>&1 &
pid=$!
up=0
for _ in $(seq 1 40); do
  [ "$("$bin" -h 127.0.0.1 -p 16381 status 2>/dev/null | awk 'NR>2 && $3=="alive"' | wc -l)" = 1 ] && { up=1; break; }
  sleep 0.25
done
[ "$up" = 1 ] || { tail -n 5 "$work/run.log"; fail "peer from run.conf not serving on 127.0.0.1:16381"; }
exec 3<>/dev/tcp/127.0.0.1/18081 || fail "no HTTP listener on 18081"
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
grep -q '^# TYPE chorus_command_duration_seconds histogram' <&3 || fail "no metrics on 18081"
exec 3<&-
checks=$((checks + 1))
echo "config: PASS ($checks checks)"
