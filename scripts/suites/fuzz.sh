#!/usr/bin/env bash
# Every fuzz target for a few seconds each (scripts/fuzz.sh runs them longer), with a seed
# that changes every run, so CI keeps exploring; a failure prints the seed to replay.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ -x .build/debug/chorus ] || { echo "fuzz: FAIL: .build/debug/chorus is missing (scripts/test.sh builds it first)"; exit 1; }
seed=$(( $(date +%s) % 1000000 ))
if bash scripts/fuzz.sh all "${FUZZ_SECONDS:-4}" "$seed" >/tmp/chorus-fuzz.$$.log 2>&1; then
  tail -1 /tmp/chorus-fuzz.$$.log; rm -f /tmp/chorus-fuzz.$$.log
  echo "fuzz: PASS (seed $seed)"
else
  cat /tmp/chorus-fuzz.$$.log; rm -f /tmp/chorus-fuzz.$$.log
  echo "fuzz: FAIL (seed $seed; replay: scripts/fuzz.sh all 4 $seed)"; exit 1
fi
