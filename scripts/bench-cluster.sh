#!/usr/bin/env bash
# Cluster benchmark (issue 5): redis-benchmark against a 3-peer Chorus cluster on loopback
# (N=3, R=W=2 = quorum, sync always), 50 clients, 100-byte values, pipelined (-P 16) and not,
# and the same against one redis-server (appendonly yes, appendfsync always: the same promise)
# in the same run. Called as `scripts/bench.sh cluster [-n REQUESTS]`. Stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
n=100000
[ "${1:-}" = "-n" ] && n=${2:-100000}
command -v redis-benchmark >/dev/null || { apt-get install -y -qq redis-tools redis-server >/dev/null 2>&1 || true; }
command -v redis-server >/dev/null || { apt-get install -y -qq redis-server >/dev/null 2>&1 || true; }
flock /tmp/chorus-build.lock swift build -c release --product chorus >/dev/null
bin=$(pwd)/.build/release/chorus
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-benchcluster-XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 1; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for i in 1 2 3; do
  seed=(); [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:17946)
  "$bin" serve --host "127.0.0.$i" --client-port 16380 --gossip-port 17946 --peer-port 17947 --http-port 18080 \
    --data "$work/n$i" "${seed[@]}" >"$work/n$i.log" 2>&1 &
  pids+=($!)
  [ "$i" -eq 1 ] && sleep 1
done
for _ in $(seq 1 60); do
  [ "$("$bin" -h 127.0.0.1 -p 16380 status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ] && break
  sleep 0.5
done
redis-server --port 16399 --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
sleep 1
run() {  # label port pipeline
  redis-benchmark -h 127.0.0.1 -p "$2" -t set,get,incr -n "$n" -c 50 -d 100 -P "$3" -r 100000 --precision 3 2>/dev/null \
    | tr '\r' '\n' | awk -v who="$1" -v p="$3" '
      /^====== / { test=$2 }
      /throughput summary:/ { rps=$3 }
      /latency summary/ { getline; getline; p50=$3; p99=$5; p999=$6; printf "%-14s %-4s P=%-3s %10s req/s   p50 %8s ms  p99 %8s ms  p99.9 %8s ms\n", who, test, p, rps, p50, p99, p999 }'
}
echo "redis-benchmark -n $n -c 50 -d 100 -r 100000, set, get and incr; Chorus: 3 peers, N=3 R=W=2, sync always"
for p in 1 16; do
  run chorus 16380 "$p"
  run redis-server 16399 "$p"
done
