#!/usr/bin/env bash
# Fuzzes every decoder of outside bytes (issue 14): `chorus fuzz` feeds seeded mutations of
# valid inputs (plus the files in fuzz/corpus/<target>/) and fails on a trap, an error that
# is not one clear line, or resident memory past the bound. A crashing input is saved as
# fuzz/crashes/crash-<target>-<seed>; replay it with `chorus fuzz <target> --replay FILE`,
# fix the bug, and keep the input in fuzz/corpus/<target>/ (and a test) as a regression.
#   scripts/fuzz.sh [target|all] [seconds per target] [seed]
set -uo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-30}
seed=${3:-$(date +%s)}
bin=.build/debug/chorus
if [ ! -x "$bin" ]; then
  flock -o /tmp/chorus-build.lock swift build --product chorus >/dev/null || { echo "fuzz: FAIL: build"; exit 1; }
fi
mkdir -p fuzz/crashes
echo "fuzz: target $target, $seconds s each, seed $seed"
"$bin" fuzz "$target" --iterations 100000000 --seconds "$seconds" --seed "$seed" \
  --corpus fuzz/corpus --crash-dir fuzz/crashes --max-rss-mb 1024
