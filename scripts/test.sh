#!/usr/bin/env bash
# The one test command: installs what the tests need, builds, runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v iptables >/dev/null || need+=(iptables)
command -v unshare >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
      || echo "test.sh: could not install ${need[*]}; suites needing them will say so" >&2
  else
    echo "test.sh: not root; cannot install ${need[*]}" >&2
  fi
fi

echo "== swift build"
swift build --build-tests
echo "== swift test"
swift test --skip-build --parallel --num-workers 2

shopt -s nullglob
for suite in scripts/suites/*.sh; do
  echo "== $suite"
  bash "$suite"
done
