#!/usr/bin/env bash
# Benchmarks: figures, not tests.
#   scripts/bench.sh storage [db_bench flags]   Chorus vs LevelDB, side by side, with ratios
#   scripts/bench.sh ring|gossip [flags]        runs `chorus bench ring|gossip` (release)
#   scripts/bench.sh cluster [-n REQUESTS] [--only SYSTEMS]  redis-benchmark: Chorus 3 and 1 peers vs redis-server
#   scripts/bench.sh repair [--keys N ...]      handoff, anti-entropy traffic, foreground p99
#   scripts/bench.sh failover [driver flags]    the 5 s after a peer is cut off / paused
#   scripts/bench.sh scrape [-n N] [--rounds R] cluster SET/GET with and without /metrics scraped every 100 ms
#   scripts/bench.sh backup [flags]             a checkpoint of a 1 GB store beside timed requests (release)
#   scripts/bench.sh sim [--seeds N ...]        seeded fault schedules on the deterministic simulated cluster (release)
# storage: installs libleveldb-dev and g++ if missing (apt-get, as root), compiles the
# reference bench/leveldb_bench.cc into .build-bench/, builds chorus in release, runs both
# on fresh temporary directories with the same flags (default --num 1000000), and prints
# Chorus/LevelDB ratios per workload with the issue-2 targets. LevelDB is a benchmark tool
# only, never a dependency of Chorus.
set -euo pipefail
cd "$(dirname "$0")/.."

orig=("$@")
what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
  storage) ;;
  cluster) exec bash scripts/bench-cluster.sh "$@" ;;
  repair) exec bash scripts/bench-repair.sh "$@" ;;
  failover) exec bash scripts/bench-failover.sh "$@" ;;
  scrape) exec bash scripts/bench-scrape.sh "$@" ;;
  ring|gossip|backup|sim)
    flock /tmp/chorus-build.lock swift build -c release --product chorus >/dev/null
    exec .build/release/chorus bench "$what" "$@"
    ;;
  *)
    echo "usage: scripts/bench.sh storage|ring|gossip|cluster|repair|failover|scrape|backup|sim [flags]" >&2
    exit 2
    ;;
esac

repeat=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat=*) repeat=${1#--repeat=} ;;
    --repeat) repeat=${2:-}; shift ;;
    --db|--db=*) echo "bench.sh: --db is chosen by the script (fresh temporary directories)" >&2; exit 2 ;;
    --help|-h)
      echo "usage: scripts/bench.sh storage [--repeat N] [chorus bench storage flags, e.g. --num=N]"
      echo "  --repeat N  run both N times, alternating, and compare the best run of each (default 1)"
      exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done
case "$repeat" in ''|*[!0-9]*|0) echo "bench.sh: bad value for --repeat: $repeat" >&2; exit 2 ;; esac

# 1. The LevelDB reference program.
if [ ! -f /usr/include/leveldb/db.h ] || ! command -v g++ >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench.sh: installing libleveldb-dev and g++" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libleveldb-dev g++) >/dev/null
  else
    echo "bench.sh: needs libleveldb-dev and g++ (apt-get install libleveldb-dev g++ as root)" >&2
    exit 1
  fi
fi
mkdir -p .build-bench
ref=.build-bench/leveldb_bench
if [ ! -x "$ref" ] || [ bench/leveldb_bench.cc -nt "$ref" ]; then
  g++ -O2 -std=c++17 -o "$ref" bench/leveldb_bench.cc -lleveldb
fi

# 2. Chorus, release.
chorus=.build/release/chorus
if ! flock /tmp/chorus-build.lock swift build -c release --product chorus >"${TMPDIR:-/tmp}/chorus-bench-build.log" 2>&1; then
  grep -E "error" "${TMPDIR:-/tmp}/chorus-bench-build.log" | head -20 >&2
  echo "bench.sh: release build failed (log: ${TMPDIR:-/tmp}/chorus-bench-build.log)" >&2
  exit 1
fi

# 3. Both, one after the other, on fresh directories, with the same flags.
flags=(--num=1000000 ${args[@]+"${args[@]}"})
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-benchsh-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== command: scripts/bench.sh ${orig[*]}"
for r in $(seq 1 "$repeat"); do
  echo "== run $r of $repeat: LevelDB: $ref ${flags[*]}"
  "$ref" "${flags[@]}" --db="$work/leveldb" | tee "$work/leveldb.$r.out"
  rm -rf "$work/leveldb"
  echo
  echo "== run $r of $repeat: Chorus: $chorus bench storage ${flags[*]}"
  "$chorus" bench storage "${flags[@]}" --db="$work/chorus" | tee "$work/chorus.$r.out"
  rm -rf "$work/chorus"
  echo
done

# 4. Side by side. Ratios are Chorus/LevelDB: ops/s (higher is better), bytes (lower is better).
# cpu/op is the process's user+system CPU (all threads) per op, in microseconds: less noisy
# than ops/s when other work shares the machine.
# With --repeat, each side's best run per workload (highest ops/s, with that run's p99); space
# and RSS are each run's maximum over its workloads, and the smallest of those over runs.
[ "$repeat" -gt 1 ] && echo "== best of $repeat runs per side"
awk '
  function field(label, off,   i) { for (i = 1; i <= NF; i++) if ($i == label) return $(i + off); return "" }
  function endfile() {
    if (file == "") return
    if (!((cur, "disk") in best) || fdisk < best[cur, "disk"]) best[cur, "disk"] = fdisk
    if (!((cur, "rss") in best) || frss < best[cur, "rss"]) best[cur, "rss"] = frss
  }
  FNR == 1 { endfile(); file = FILENAME; cur = (FILENAME ~ /leveldb/) ? "L" : "C"; fdisk = 0; frss = 0 }
  / : .*micros\/op/ {
    side = cur
    name = $1
    if (side == "C" && !(name in listed)) { order[++n] = name; listed[name] = 1 }
    o = field("ops/sec;", -1) + 0
    if (!((side, name) in ops) || o > ops[side, name]) { ops[side, name] = o; p99[side, name] = field("p99", 1); cpu[side, name] = field("cpu", 1) }
    r = field("rss", 1) + 0
    if (r > frss) frss = r
    d = field("disk", 1) + 0
    if (d > fdisk) fdisk = d
  }
  END {
    endfile()
    maxdisk["C"] = best["C", "disk"]; maxdisk["L"] = best["L", "disk"]
    rss["C"] = best["C", "rss"]; rss["L"] = best["L", "rss"]
    target["fillrandom"] = 1.0; target["overwrite"] = 1.0; target["readrandom"] = 1.0
    target["readseq"] = 1.0; target["fillseq"] = 0.8
    printf "%-13s %13s %13s %7s %9s %9s %9s %9s %7s  %s\n", "workload", "Chorus ops/s", "LevelDB ops/s", "ratio", "C p99 us", "L p99 us", "C cpu/op", "L cpu/op", "target", "met"
    met = 0; total = 0
    for (i = 1; i <= n; i++) {
      w = order[i]
      ratio = (ops["L", w] > 0) ? ops["C", w] / ops["L", w] : 0
      t = "-"; ok = ""
      if (w in target) {
        t = sprintf(">=%.1fx", target[w]); total++
        if (ratio >= target[w]) { ok = "yes"; met++ } else ok = "NO"
      }
      printf "%-13s %13d %13d %6.2fx %9.2f %9.2f %9.2f %9.2f %7s  %s\n", w, ops["C", w], ops["L", w], ratio, p99["C", w], p99["L", w], cpu["C", w], cpu["L", w], t, ok
    }
    print ""
    printf "%-22s %10s %10s %8s %8s  %s\n", "", "Chorus", "LevelDB", "ratio", "target", "met"
    sr = (maxdisk["L"] > 0) ? maxdisk["C"] / maxdisk["L"] : 0
    ok = (sr <= 1.1) ? "yes" : "NO"; total++; if (ok == "yes") met++
    printf "%-22s %7.1f MB %7.1f MB %7.2fx %8s  %s\n", "space on disk (max)", maxdisk["C"], maxdisk["L"], sr, "<=1.1x", ok
    rr = (rss["L"] > 0) ? rss["C"] / rss["L"] : 0
    ok = (rss["C"] < 256) ? "yes" : "NO"; total++; if (ok == "yes") met++
    printf "%-22s %7.1f MB %7.1f MB %7.2fx %8s  %s\n", "peak RSS", rss["C"], rss["L"], rr, "<256MiB", ok
    print ""
    printf "targets met: %d of %d\n", met, total
  }
' "$work"/leveldb.*.out "$work"/chorus.*.out
