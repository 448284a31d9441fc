#!/usr/bin/env bash
# Failover benchmark (issue 11): a steady SET/GET load (30% GET, 16 clients, no pause) through
# the peers that stay up, release build, default TIMEOUT; (1) 3 peers with peer 1 cut off by
# iptables mid-run, (2) 5 peers with peer 1 paused by SIGSTOP for 10 s. Prints requests sent,
# succeeded, failed and p50/p99/max latency for the 5 s after the fault, and the targets:
# 0 failed, p99 <= 300 ms, max < 1 s. Called as `scripts/bench.sh failover [driver flags]`.
set -euo pipefail
cd "$(dirname "$0")/.."
flock -o /tmp/chorus-build.lock swift build -c release --product chorus >/dev/null
out=$(mktemp -d "${TMPDIR:-/tmp}/chorus-benchfailover-XXXXXX")
trap 'rm -rf "$out"' EXIT
CHORUS_FAILOVER_OUT=$out bash scripts/failover-test.sh --bin "$(pwd)/.build/release/chorus" --scenario all --threads 16 "$@" || true
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
print()
print(f"{'scenario':<28} {'sent':>6} {'ok':>6} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  targets (0 failed, p99 <= 300 ms, max < 1000 ms)")
for name, label in (("cut", "3 peers, 1 cut (iptables)"), ("stop", "5 peers, 1 paused (SIGSTOP)")):
    path = os.path.join(out, f"{name}.json")
    if not os.path.exists(path):
        print(f"{label:<28} (no figures: the scenario did not run)")
        continue
    r = json.load(open(path))
    w = r["window"]
    met = w["failed"] == 0 and w["p99_ms"] <= 300 and w["max_ms"] < 1000
    print(f"{label:<28} {w['sent']:>6} {w['ok']:>6} {w['failed']:>6} {w['p50_ms']:>8} {w['p99_ms']:>8} {w['max_ms']:>8}  "
          f"{'MET' if met else 'NOT MET'}; lost {r['lost']} of {r['acked_writes']} acked, stale reads {r['stale']}")
PY
