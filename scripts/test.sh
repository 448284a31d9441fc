#!/usr/bin/env bash
# The one test command: installs what the tests need, builds, runs every suite, and ends
# with one line "N passed, N failed" over everything it ran.
#   scripts/test.sh --sanitize thread|address [filter]   the engine and peer tests under a
#   sanitizer instead (scripts/sanitize.sh; results in docs/SANITIZERS.md)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  shift
  exec bash scripts/sanitize.sh "$@"
fi

need=()
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v iptables >/dev/null || need+=(iptables)
command -v unshare >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
command -v gcc >/dev/null || need+=(gcc)
command -v curl >/dev/null || need+=(curl)
python3 -m venv -h >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)  # the redis-py suite's venv
command -v chromium >/dev/null || need+=(chromium)  # scripts/suites/dashboard.sh (headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
      || echo "test.sh: could not install ${need[*]}; suites needing them will say so" >&2
  else
    echo "test.sh: not root; cannot install ${need[*]}" >&2
  fi
fi

echo "== swift build --build-tests"
if ! swift build --build-tests; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== swift test"
swift test --skip-build 2>&1 | tee "$log"
swift_status=${PIPESTATUS[0]}
# XCTest's last summary line: "Executed N tests, [with S tests skipped and] F failures ..."
summary=$(grep -E 'Executed [0-9]+ tests?' "$log" | tail -n 1)
executed=$(echo "$summary" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
failures=$(echo "$summary" | sed -nE 's/.* ([0-9]+) failures?.*/\1/p')
skipped=$(echo "$summary" | sed -nE 's/.* ([0-9]+) tests? skipped.*/\1/p')
executed=${executed:-0}
failures=${failures:-0}
skipped=${skipped:-0}
if [ "$swift_status" -ne 0 ] && [ "$failures" -eq 0 ]; then failures=1; fi
passed=$((executed - failures - skipped))
[ "$passed" -lt 0 ] && passed=0

suite_pass=0
suite_fail=0
failed_suites=()
suite_logs=$(mktemp -d)
shopt -s nullglob
for suite in scripts/suites/*.sh; do
  echo "== $suite"
  name=$(basename "$suite" .sh)
  # Each suite's output is kept so a failure can be printed again at the end:
  # CI keeps only the tail of the run.
  if bash "$suite" 2>&1 | tee "$suite_logs/$name.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    suite_pass=$((suite_pass + 1))
  else
    echo "test.sh: $suite FAILED"
    suite_fail=$((suite_fail + 1))
    failed_suites+=("$name")
  fi
done

for name in "${failed_suites[@]}"; do
  echo "== failed suite $name, its last 40 lines again:"
  tail -n 40 "$suite_logs/$name.log"
done
rm -rf "$suite_logs"
if [ "$suite_fail" -gt 0 ]; then echo "== failed suites: ${failed_suites[*]}"; fi

echo "== summary: swift test $passed passed, $failures failed, $skipped skipped; suites $suite_pass passed, $suite_fail failed"
echo "$((passed + suite_pass)) passed, $((failures + suite_fail)) failed, $skipped skipped"
[ "$failures" -eq 0 ] && [ "$suite_fail" -eq 0 ] && [ "$swift_status" -eq 0 ]
