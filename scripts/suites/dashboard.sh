#!/usr/bin/env bash
# The dashboard at GET / (issue 16) in a real headless browser: Debian's chromium loads the
# page from peer 1 of a 3-peer cluster in a private network namespace, runs its script (it
# polls /status) and dumps the DOM; the DOM must list every member as alive and draw every
# partition of the ring coloured by an owner. Peer 3 is then killed and the page must show
# it suspect or dead, with a warning. Screenshots of both states are kept under
# .build/test-artifacts/. Installs chromium with apt-get when missing (as root); without it
# the suite says SKIP. Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
find_chromium() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }
if [ -z "${CHORUS_IN_NETNS:-}" ] && [ -z "$(find_chromium)" ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
fi
. scripts/lib/netns.sh
enter_private_netns dashboard "$@"
chromium=$(find_chromium)
[ -n "$chromium" ] || { echo "dashboard: SKIP (no chromium, and it could not be installed)"; exit 0; }
bin=$(pwd)/.build/debug/chorus
[ -x "$bin" ] || { echo "dashboard: FAIL: $bin is missing (scripts/test.sh builds it first)"; exit 1; }
artifacts=$(pwd)/.build/test-artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-dashboard-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do [ -n "$p" ] && { kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; }; done
  pids=()
  rm -rf "$work"
}
fail() { echo "dashboard: FAIL: $*"; cleanup; exit 1; }
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
browse() {  # OUTPUT-DOM SCREENSHOT: load the page, let its script poll for a few (virtual) seconds
  timeout -k 5 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --virtual-time-budget=4000 --dump-dom http://127.0.0.1:8080/ >"$1" 2>"$work/chromium.err" \
    || { tail -n 3 "$work/chromium.err"; return 1; }
  timeout -k 5 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --virtual-time-budget=4000 --window-size=1280,900 --screenshot="$2" \
    http://127.0.0.1:8080/ >/dev/null 2>>"$work/chromium.err" || { tail -n 3 "$work/chromium.err"; return 1; }
  [ -s "$2" ] || return 1
}
member_status() {  # DOM ID -> data-status of that member's row
  grep -o "<tr class=\"member\" data-id=\"$2\" data-status=\"[a-z]*\"" "$1" | sed 's/.*data-status="//; s/"$//'
}
start 1; sleep 1; start 2; start 3
ok=0
for _ in $(seq 1 80); do settled 1 && settled 2 && settled 3 && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || fail "cluster did not settle in 40 s"

browse "$work/dom1.html" "$artifacts/dashboard-3-peers.png" || fail "chromium could not load the dashboard"
grep -q 'data-polls="[1-9]' "$work/dom1.html" || fail "the page never got an answer from /status"
for i in 1 2 3; do
  [ "$(member_status "$work/dom1.html" "127.0.0.$i:7946")" = alive ] || fail "member 127.0.0.$i:7946 not shown alive"
done
parts=$(grep -oE '<path class="partition" data-partition="[0-9]+"' "$work/dom1.html" | wc -l)
[ "$parts" = 256 ] || fail "ring shows $parts partitions, expected 256"
for i in 1 2 3; do
  owned=$(grep -o "<path class=\"partition\" data-partition=\"[0-9]*\" data-owner=\"127.0.0.$i:7946\"" "$work/dom1.html" | wc -l)
  [ "$owned" -gt 0 ] || fail "no partition drawn for owner 127.0.0.$i:7946"
done
echo "dashboard: 3 members alive, 256 partitions coloured by 3 owners; screenshot $artifacts/dashboard-3-peers.png"

kill -9 "${pids[3]}" 2>/dev/null; wait "${pids[3]}" 2>/dev/null; pids[3]=""
down=0
for _ in $(seq 1 60); do
  "$bin" -h 127.0.0.1 status 2>/dev/null | awk '$1=="127.0.0.3:7946" && ($3=="suspect" || $3=="dead")' | grep -q . && { down=1; break; }
  sleep 0.5
done
[ "$down" = 1 ] || fail "peer 1 did not see peer 3 go down in 30 s"
browse "$work/dom2.html" "$artifacts/dashboard-peer-3-down.png" || fail "chromium could not load the dashboard the second time"
st=$(member_status "$work/dom2.html" "127.0.0.3:7946")
case "$st" in suspect|dead) ;; *) fail "after kill -9 the page shows peer 3 as '$st'" ;; esac
grep -q "member 127.0.0.3:7946 is $st" "$work/dom2.html" || fail "no warning for peer 3 on the page"
for i in 1 2; do
  [ "$(member_status "$work/dom2.html" "127.0.0.$i:7946")" = alive ] || fail "member 127.0.0.$i:7946 not alive on the second load"
done
echo "dashboard: after kill -9 of peer 3 the page shows it $st with a warning; screenshot $artifacts/dashboard-peer-3-down.png"
echo "dashboard: PASS"
