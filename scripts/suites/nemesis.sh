#!/usr/bin/env bash
# Multi-process suite (issue 15): a short pass of every nemesis scenario
# (scripts/nemesis-test.sh --short; scenarios and checks in scripts/nemesis.py). Uses the
# debug binary scripts/test.sh built. About 5 minutes; hard bound 480 s.
# Env: NEMESIS_SEED replays the workloads' random choices (fault timing still varies).
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=.build/debug/chorus
[ -x "$bin" ] || { echo "nemesis: FAIL: $bin is missing (scripts/test.sh builds it first)"; exit 1; }
seed=${NEMESIS_SEED:-$(( $(date +%s) % 100000 ))}
out=$(mktemp "${TMPDIR:-/tmp}/chorus-nemesis-suite-XXXXXX")
trap 'rm -f "$out"' EXIT
t0=$(date +%s)
timeout -k 10 480 scripts/nemesis-test.sh --bin "$bin" --short --seed "$seed" 2>&1 | grep -v ' repair on ' | tee "$out"
status=${PIPESTATUS[0]}
last=$(grep -E '^nemesis: [0-9]+ scenario runs' "$out" | tail -n 1 | sed 's/^nemesis: //')
case "$status" in
  0) if grep -q '^nemesis-test: SKIP' "$out"; then echo "nemesis: $(grep '^nemesis-test: SKIP' "$out")"; exit 0; fi
     echo "nemesis: PASS ($last; $(( $(date +%s) - t0 )) s)"; exit 0 ;;
  124|137) echo "nemesis: FAIL: did not finish in 480 s (seed $seed)"; exit 1 ;;
  *) echo "nemesis: FAIL: ${last:-exit status $status} (rerun: NEMESIS_SEED=$seed bash scripts/suites/nemesis.sh)"; exit 1 ;;
esac
