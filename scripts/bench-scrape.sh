#!/usr/bin/env bash
# Scrape-cost benchmark (issue 16): does scraping /metrics every 100 ms slow a cluster down?
# Three `chorus serve` peers on loopback (release build, N=3 R=W=2, sync always), then
# ROUNDS alternating pairs of redis-benchmark SET/GET runs against peer 1 (50 clients,
# 100-byte values, -P 1): one without scraping, one with GET /metrics fetched from every
# peer every 100 ms (one curl per peer, --rate 10/s). Prints each run, the median throughput of each mode and the ratio, and, measured
# alone on an idle cluster, the peer's CPU time per scrape from /proc/PID/stat (2,000 scrapes).
# Called as `scripts/bench.sh scrape [-n REQUESTS] [--rounds R]` (--rounds 0: the CPU per
# scrape only). Stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
n=50000
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: scripts/bench.sh scrape [-n REQUESTS] [--rounds R]" >&2; exit 2 ;;
  esac
done
command -v redis-benchmark >/dev/null || { apt-get install -y -qq redis-tools >/dev/null 2>&1 || true; }
command -v curl >/dev/null || { apt-get install -y -qq curl >/dev/null 2>&1 || true; }
flock /tmp/chorus-build.lock swift build -c release --product chorus >/dev/null
bin=$(pwd)/.build/release/chorus
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-benchscrape-XXXXXX")
pids=()
scrapers=()
cleanup() {
  declare -F stop_scrapers >/dev/null && stop_scrapers
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for i in 1 2 3; do
  seed=(); [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:27946)
  "$bin" serve --host "127.0.0.$i" --client-port 26380 --gossip-port 27946 --peer-port 27947 --http-port 28080 \
    --data "$work/n$i" "${seed[@]}" >"$work/n$i.log" 2>&1 &
  pids+=($!)
  [ "$i" -eq 1 ] && sleep 1
done
for _ in $(seq 1 60); do
  [ "$("$bin" -h 127.0.0.1 -p 26380 status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ] && break
  sleep 0.5
done
sleep 2

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU per scrape, idle cluster: 500 scrapes of peer 1, its utime+stime before and after.
# Peer 1 has served the most commands by the end, so its exposition is the largest.
warm() { redis-benchmark -h 127.0.0.1 -p 26380 -t set,get -n 5000 -c 20 -d 100 -r 100000 -q >/dev/null 2>&1; }
warm
bytes=$(curl -s http://127.0.0.1:28080/metrics | wc -c)
lines=$(curl -s http://127.0.0.1:28080/metrics | grep -vc '^#')
# One curl process fetching the page 2,000 times in a row, so the window is short and the
# peer's own idle background (gossip, ticks) that is subtracted stays small.
urls=(); for _ in $(seq 1 2000); do urls+=(-o /dev/null http://127.0.0.1:28080/metrics); done
idle0=$(cpu_ticks "${pids[0]}"); sleep 5; idle1=$(cpu_ticks "${pids[0]}")
t0=$(cpu_ticks "${pids[0]}"); s0=$(date +%s%N)
curl -s "${urls[@]}"
t1=$(cpu_ticks "${pids[0]}"); s1=$(date +%s%N)
hz=$(getconf CLK_TCK)
awk -v a="$t0" -v b="$t1" -v i0="$idle0" -v i1="$idle1" -v hz="$hz" -v s0="$s0" -v s1="$s1" -v by="$bytes" -v li="$lines" 'BEGIN {
  wall = (s1 - s0) / 1e9; idle = (i1 - i0) / hz / 5; cpu = (b - a) / hz - idle * wall
  printf "scrape: %d bytes, %d samples; 2000 scrapes of peer 1 in %.2f s, peer CPU %.3f ms per scrape (idle background %.1f ms/s subtracted)\n", by, li, wall, cpu * 1000 / 2000, idle * 1000
  printf "%.4f\n", cpu * 1000 / 2000 > "'"$work"'/scrape_ms"
  printf "scrape: at 3 scrapers x 10/s = 30 scrapes/s that is %.1f ms of CPU per second, %.2f%% of one core\n", cpu * 1000 / 2000 * 30, cpu / 2000 * 30 * 100 }'

[ "$rounds" -gt 0 ] || exit 0
peers_cpu() { local t=0 p; for p in "${pids[@]}"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
run() {  # label -> "set_rps get_rps"; appends "cpu_seconds requests" of the three peers to $work/cpu
  local c0 c1
  c0=$(peers_cpu)
  redis-benchmark -h 127.0.0.1 -p 26380 -t set,get -n "$n" -c 50 -d 100 -P 1 -r 100000 --precision 3 2>/dev/null \
    | tr '\r' '\n' | awk '/^====== / { test=$2 } /throughput summary:/ { r[test]=$3 } END { printf "%s %s\n", r["SET"], r["GET"] }'
  c1=$(peers_cpu)
  echo "$(( c1 - c0 )) $(( 2 * n ))" >>"$work/cpu"
}
# One long-lived curl per peer at 10 requests/s (curl --rate): a scraper that does not
# fork a process per scrape, as Prometheus does not; forking three curls every 100 ms
# costs this 2-core machine more CPU than the peers spend answering.
start_scrapers() {  # one curl per peer; their PIDs in $scrapers. -w goes to stderr, which is not buffered.
  local i list
  scrapers=()
  for i in 1 2 3; do
    list=()
    for _ in $(seq 1 6000); do list+=(-o /dev/null "http://127.0.0.$i:28080/metrics"); done
    curl -s --rate 10/s -w '%{stderr}%{http_code}\n' "${list[@]}" 2>>"$work/scrapes.$i" &
    scrapers+=($!)
  done
}
stop_scrapers() {
  [ ${#scrapers[@]} -gt 0 ] || return 0
  kill "${scrapers[@]}" 2>/dev/null || true
  wait "${scrapers[@]}" 2>/dev/null || true
  scrapers=()
}
echo "redis-benchmark -t set,get -n $n -c 50 -d 100 -P 1 -r 100000 against peer 1; $rounds rounds of (off, on); on = GET /metrics from all 3 peers every 100 ms"
: >"$work/off"; : >"$work/on"
for r in $(seq 1 "$rounds"); do
  off=$(run); echo "$off" >>"$work/off"
  rm -f "$work"/scrapes.*
  start_scrapers
  sleep 0.5
  on=$(run)
  stop_scrapers
  echo "$on" >>"$work/on"
  printf "round %d: scrape off SET %10s GET %10s req/s | scrape on SET %10s GET %10s req/s (%s scrapes answered 200)\n" \
    "$r" ${off} ${on} "$(cat "$work"/scrapes.* 2>/dev/null | grep -c '^200$')"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for col in 1 2; do
  name=$([ $col = 1 ] && echo SET || echo GET)
  a=$(awk -v c=$col '{print $c}' "$work/off" | median)
  b=$(awk -v c=$col '{print $c}' "$work/on" | median)
  awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "median %s: off %.0f req/s, on %.0f req/s, on/off %.3f (%+.1f%%)\n", n, a, b, b / a, (b / a - 1) * 100 }'
done
# The peers' own CPU per request under this load (all runs), against the CPU they spend
# answering one scraper each at 10/s: the share of throughput scraping can cost a CPU-bound
# cluster, measured without the noise of other load on the machine.
set_off=$(awk '{print $1}' "$work/off" | median)
get_off=$(awk '{print $2}' "$work/off" | median)
awk -v hz="$(getconf CLK_TCK)" -v ms="$(cat "$work/scrape_ms")" -v s="$set_off" -v g="$get_off" '{ cpu += $1 / hz; req += $2 } END {
  per = cpu / req * 1000; eq = ms * 30 / per
  printf "peers: %.3f ms of CPU (three peers together) per request under this load; scraping all three at 10/s costs %.1f ms/s,\n", per, ms * 30
  printf "peers: the CPU of %.1f requests/s: %.2f%% of the median SET throughput (%.0f/s), %.2f%% of GET (%.0f/s)\n", eq, eq / s * 100, s, eq / g * 100, g }' "$work/cpu"
