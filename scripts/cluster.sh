#!/usr/bin/env bash
# Local cluster launcher: peer i listens on 127.0.0.i with the default ports, data in var/ni.
#   scripts/cluster.sh up [N]    build release, start N peers (default 3), wait until settled
#   scripts/cluster.sh down      stop them (SIGTERM, then SIGKILL after 10 s)
#   scripts/cluster.sh status    what each peer reports
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CHORUS_BIN:-.build/release/chorus}
dir=var

up() {
  local n=${1:-3}
  if [ -z "${CHORUS_BIN:-}" ]; then swift build -c release --product chorus >/dev/null; fi
  mkdir -p "$dir"
  for i in $(seq 1 "$n"); do
    if [ -f "$dir/n$i.pid" ] && kill -0 "$(cat "$dir/n$i.pid")" 2>/dev/null; then
      echo "peer $i already running (pid $(cat "$dir/n$i.pid"))"; continue
    fi
    local seed=()
    [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
    "$bin" serve --host "127.0.0.$i" --data "$dir/n$i" "${seed[@]}" >"$dir/n$i.log" 2>&1 &
    echo $! >"$dir/n$i.pid"
    [ "$i" -eq 1 ] && sleep 1
  done
  # Bounded wait: every peer alive, joined and owning partitions.
  for _ in $(seq 1 60); do
    local ok=0
    for i in $(seq 1 "$n"); do
      if "$bin" -h "127.0.0.$i" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l | grep -qx "$n"; then
        ok=$((ok + 1))
      fi
    done
    if [ "$ok" -eq "$n" ]; then
      "$bin" status
      echo
      echo "cluster of $n up. Connect with: redis-cli -h 127.0.0.1 -p 6380"
      return 0
    fi
    sleep 0.5
  done
  echo "cluster did not settle within 30 s; see $dir/n*.log" >&2
  return 1
}

down() {
  shopt -s nullglob
  for f in "$dir"/n*.pid; do
    local pid; pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  echo "stopped"
}

status() {
  shopt -s nullglob
  for f in "$dir"/n*.pid; do
    local i=${f##*/n}; i=${i%.pid}
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "peer $i (pid $(cat "$f")) running"; else echo "peer $i not running"; fi
  done
  "$bin" status || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: scripts/cluster.sh up [N] | down | status" >&2; exit 2 ;;
esac
