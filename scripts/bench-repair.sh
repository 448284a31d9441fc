#!/usr/bin/env bash
# Repair benchmark (issue 6): `scripts/bench.sh repair [flags]`. Three figures, each from
# real `chorus serve` processes (release build) in a private network namespace:
#   1. handoff: 3 loaded peers, a 4th joins with --seed and default handoff settings; time
#      from its start until the ring has settled on 4 peers and every transfer is done;
#      bytes and keys peer 4 received (INFO Handoff), MB/s, against the data size.
#   2. anti-entropy for 1% divergence: 3 peers (N=3: no fallbacks, no hints), peer 3 paused
#      with SIGSTOP while 1% of the keys are overwritten through peer 1 (W=2), resumed, then
#      `chorus -h 127.0.0.3 repair` timed; AntiEntropy bytes_moved, keys_sent and
#      keys_received summed over the peers (INFO deltas; background anti-entropy is off, so
#      only the explicit repair moves bytes), against the data size and the differing keys.
#      Runs before 1, on the same loaded cluster (one load of N keys serves both).
#   3. foreground latency: 3 fresh peers (sync always) loaded with --fg-keys keys plus 1%
#      more that are diverged as in 2, then redis-benchmark SET/GET (50 clients) twice, on
#      two fresh clusters: anti-entropy off (--anti-entropy-interval 0) and running hard
#      (--anti-entropy-interval 10); p50/p99 of both and the ratio (target p99 <= 1.2x).
#      The diverged keys lie outside redis-benchmark's keys: a plain SET coordinated by the
#      stale peer 3 makes siblings with the write it missed, and redis-benchmark stops at the
#      first -CONFLICT a GET returns.
# Every loop is bounded; every process started is stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/bench.sh repair [--keys N] [--value-size B] [--sync POLICY]
                               [--fg-keys N] [--fg-requests N] [--only LIST]
  --keys N         keys loaded for the handoff and anti-entropy figures (default 1000000)
  --value-size B   value bytes; keys are 16 bytes, key:%012d (default 100)
  --sync POLICY    --sync of the peers of figures 1 and 2 (default always; `never` loads
                   faster and is printed in the output)
  --fg-keys N      keys loaded for the foreground figure, also redis-benchmark -r (default 100000)
  --fg-requests N  redis-benchmark -n per test, SET and GET each (default 40000)
  --only LIST      comma list of handoff,ae,fg (default all; handoff implies ae's cluster)
EOF
}

keys=1000000; vsize=100; sync=always; fgkeys=100000; fgreq=40000; only=handoff,ae,fg
orig=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys=${2:-}; shift ;;
    --value-size) vsize=${2:-}; shift ;;
    --sync) sync=${2:-}; shift ;;
    --fg-keys) fgkeys=${2:-}; shift ;;
    --fg-requests) fgreq=${2:-}; shift ;;
    --only) only=${2:-}; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "bench-repair: unknown flag $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for v in "$keys" "$vsize" "$fgkeys" "$fgreq"; do
  case "$v" in ''|*[!0-9]*) echo "bench-repair: bad number: $v" >&2; exit 2 ;; esac
done
[ "$keys" -ge 100 ] && [ "$fgkeys" -ge 100 ] || { echo "bench-repair: --keys and --fg-keys must be >= 100" >&2; exit 2; }
case "$sync" in always|never|periodic:*) ;; *) echo "bench-repair: bad --sync: $sync" >&2; exit 2 ;; esac
want() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# Outside the namespace: tools and the release build; then re-run inside a private one.
if [ -z "${CHORUS_IN_NETNS:-}" ]; then
  for tool in redis-cli redis-benchmark; do
    command -v "$tool" >/dev/null || { apt-get install -y -qq redis-tools >/dev/null 2>&1 || true; }
    command -v "$tool" >/dev/null || { echo "bench-repair: $tool missing (apt-get install redis-tools)" >&2; exit 1; }
  done
  command -v python3 >/dev/null || { echo "bench-repair: python3 missing" >&2; exit 1; }
  if ! unshare -n true 2>/dev/null; then
    echo "bench-repair: cannot create a private network namespace (unshare -n); run as root" >&2
    exit 1
  fi
  log=${TMPDIR:-/tmp}/chorus-bench-repair-build.log
  if ! flock /tmp/chorus-build.lock swift build -c release --product chorus >"$log" 2>&1; then
    grep -E "error" "$log" | head -20 >&2
    echo "bench-repair: release build failed (log: $log)" >&2
    exit 1
  fi
  exec unshare -n env CHORUS_IN_NETNS=1 CHORUS_BENCH_ARGS="${orig[*]}" bash "$0" ${orig[@]+"${orig[@]}"}
fi
ip link set lo up
bin=$(pwd)/.build/release/chorus
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-benchrepair-XXXXXX")
pids=()
stop_all() {  # SIGTERM, up to 10 s, then SIGKILL; only our own PIDs
  local p
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 20); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
say() { echo "$*"; }
cli() { local i=$1; shift; redis-cli -h "127.0.0.$i" -p 6380 "$@"; }
status() { "$bin" -h "127.0.0.$1" status 2>/dev/null; }
members_ok() {  # $1 = peer asked, $2 = members alive, joined and owning partitions
  [ "$(status "$1" | awk '$3=="alive" && $4=="joined" && $5>0' | wc -l)" = "$2" ]
}
info() {  # peer section field
  cli "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: -v sec="# $2" -v key="$3" '/^# /{s=$0; next} s==sec && $1==key {print $2; exit}'
}
ae_sum() {  # field: sum of AntiEntropy <field> over peers 1..3
  local t=0 i v
  for i in 1 2 3; do v=$(info "$i" AntiEntropy "$1"); t=$((t + ${v:-0})); done
  echo "$t"
}
start() {  # start peer i with the given flags (data in $work/$tag-n$i)
  local tag=$1 i=$2; shift 2
  local seed=()
  [ "$i" -gt 1 ] && seed=(--seed 127.0.0.1:7946)
  "$bin" serve --host "127.0.0.$i" --data "$work/$tag-n$i" "${seed[@]}" "$@" >>"$work/$tag-n$i.log" 2>&1 &
  pids[$i]=$!
}
fail() {
  say "bench-repair: FAIL: $*"
  local f; for f in "$work"/*.log; do [ -f "$f" ] && tail -5 "$f" | sed "s|^|  $(basename "$f"): |"; done
  exit 1
}
cluster3() {  # tag flags...: start 3 peers and wait until they own the ring
  local tag=$1; shift
  start "$tag" 1 "$@"; sleep 1; start "$tag" 2 "$@"; start "$tag" 3 "$@"
  for _ in $(seq 1 120); do members_ok 1 3 && members_ok 3 3 && return 0; sleep 0.5; done
  fail "3 peers ($tag) did not settle in 60 s"
}
gen() {  # file from to step char: RESP SETs of key:%012d for i in range(from, to, step)
  python3 - "$@" "$vsize" <<'PY'
import sys
path, lo, hi, step, ch, vsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
v = (ch * vsize).encode()
with open(path, "wb", buffering=1 << 20) as out:
    for i in range(lo, hi, step):
        k = b"key:%012d" % i
        out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
}
load() {  # n tag: N keys, value 'v'*B, pipelined, one third through each peer at once
  local n=$1 tag=$2 j lp=() t0
  for j in 0 1 2; do gen "$work/$tag-load$j.resp" $((j * n / 3)) $(((j + 1) * n / 3)) 1 v; done
  t0=$(now)
  for j in 0 1 2; do
    timeout 1800 redis-cli -h "127.0.0.$((j + 1))" -p 6380 --pipe <"$work/$tag-load$j.resp" >"$work/$tag-pipe$j.out" 2>&1 &
    lp+=($!)
  done
  wait "${lp[@]}"
  local secs; secs=$(elapsed "$t0")
  local got=0
  for j in 0 1 2; do
    grep -q "errors: 0, replies:" "$work/$tag-pipe$j.out" || fail "loading ($tag): $(tail -2 "$work/$tag-pipe$j.out")"
    got=$((got + $(sed -n 's/.*errors: 0, replies: \([0-9]*\).*/\1/p' "$work/$tag-pipe$j.out" | tail -1)))
  done
  [ "$got" = "$n" ] || fail "loading ($tag): $got of $n replies"
  rm -f "$work/$tag-load"*.resp
  say "  loaded $n keys in $secs s ($(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') keys/s, 3 pipelined redis-cli, one per peer); load average $(loadavg)"
}
member_state() {  # asked id: the state peer <asked> holds for member <id> (MEMBERS, no remote calls)
  cli "$1" MEMBERS 2>/dev/null | awk -v id="$2" '(NR - 1) % 6 == 0 { cur = $0 } (NR - 1) % 6 == 3 && cur == id { print; exit }'
}
diverge() {  # tag lo hi step: pause peer 3, overwrite keys range(lo, hi, step) through peer 1, resume
  # Peer 1 forwards a SET to a primary of the key; while peer 3 is paused but not yet
  # marked dead (also while only suspect), the SETs it would coordinate time out (about
  # 1/3 of them). So the overwrite starts once peer 1 has marked peer 3 dead.
  local tag=$1 lo=$2 hi=$3 step=$4 t0 st=""
  local m=$(((hi - lo + step - 1) / step))
  gen "$work/$tag-over.resp" "$lo" "$hi" "$step" w
  kill -STOP "${pids[3]}"
  t0=$(now)
  for _ in $(seq 1 120); do
    st=$(member_state 1 127.0.0.3:7946)
    [ "$st" = dead ] && break
    sleep 0.25
  done
  [ "$st" = dead ] || fail "peer 1 did not mark paused peer 3 dead in 30 s ($tag)"
  local detect; detect=$(elapsed "$t0")
  timeout 600 redis-cli -h 127.0.0.1 -p 6380 --pipe <"$work/$tag-over.resp" >"$work/$tag-over.out" 2>&1
  local paused; paused=$(elapsed "$t0")
  kill -CONT "${pids[3]}"
  grep -q "errors: 0, replies: $m" "$work/$tag-over.out" || fail "overwriting 1% ($tag), $detect s after SIGSTOP, peer 3 $st: $(sort "$work/$tag-over.out" | uniq -c | sort -rn | head -5)"
  for _ in $(seq 1 120); do
    [ "$(member_state 1 127.0.0.3:7946)" = alive ] && [ "$(member_state 2 127.0.0.3:7946)" = alive ] && members_ok 3 3 && break
    sleep 0.5
  done
  members_ok 1 3 || fail "peer 3 not alive again 60 s after SIGCONT ($tag)"
  say "  peer 3 paused (SIGSTOP) for $paused s; peer 1 marked it $st after $detect s; then $m keys overwritten through peer 1 (W=2, all acknowledged); resumed, alive again"
}

say "== command: scripts/bench.sh repair ${CHORUS_BENCH_ARGS:-}"
say "== $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) vCPUs (shared with other builds and tests), load average $(loadavg)"
datab=$((keys * (16 + vsize)))
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }
t_start=$(now)
R_HO="" R_AE="" R_FG=""

# ---- Figures 2 then 1: one cluster of 3 peers loaded with N keys -------------------------
if want ae || want handoff; then
  say ""
  say "== cluster A: 3 peers, --partitions 256, --sync $sync, --anti-entropy-interval 0 (no background anti-entropy), N=3 R=W=2"
  flagsA=(--sync "$sync" --anti-entropy-interval 0)
  cluster3 A "${flagsA[@]}"
  load "$keys" A
  if want ae; then
    say "-- anti-entropy, 1% divergence"
    for f in exchanges exchanges_equal keys_sent keys_received bytes_moved failures; do eval "ae0_$f=\$(ae_sum $f)"; done
    diverge A 0 "$keys" 100
    # The REPAIR command `chorus -h 127.0.0.3 repair` sends, through redis-cli: the chorus
    # client gives every reply 10 s, and a whole-peer repair at 1M keys on this machine
    # takes 8-12 s (chorus then says "cannot reach 127.0.0.3:6380: timed out").
    t0=$(now)
    out=$(timeout 600 redis-cli -h 127.0.0.3 -p 6380 REPAIR 2>&1); rc=$?
    rsecs=$(elapsed "$t0")
    say "  REPAIR on peer 3 (as chorus -h 127.0.0.3 repair): $rsecs s, exit $rc: $(echo "$out" | tr '\n' ' ')"
    [ $rc = 0 ] && ! echo "$out" | grep -qi -e '^ERR' -e 'error' || fail "REPAIR failed: $out"
    for f in exchanges exchanges_equal keys_sent keys_received bytes_moved failures; do eval "ae1_$f=\$(ae_sum $f)"; done
    d_ex=$((ae1_exchanges - ae0_exchanges)); d_eq=$((ae1_exchanges_equal - ae0_exchanges_equal))
    d_ks=$((ae1_keys_sent - ae0_keys_sent)); d_kr=$((ae1_keys_received - ae0_keys_received))
    d_b=$((ae1_bytes_moved - ae0_bytes_moved)); d_f=$((ae1_failures - ae0_failures))
    ndiff=$(((keys + 99) / 100)); diffb=$((ndiff * (16 + vsize)))
    say "  AntiEntropy deltas summed over peers 1-3: exchanges $d_ex ($d_eq equal), keys_sent $d_ks, keys_received $d_kr, bytes_moved $d_b, failures $d_f"
    # Spot check: peer 3 alone (1 and 2 paused) returns the new value of 200 overwritten keys.
    python3 - "$keys" >"$work/check.txt" <<'PY'
import sys
n = int(sys.argv[1])
step = max(100, (n // 100 // 200) * 100)
for i in range(0, n, step)[:200]:
    print(f"GET key:{i:012d} R 1 TIMEOUT 3000")
PY
    kill -STOP "${pids[1]}" "${pids[2]}"
    cli 3 <"$work/check.txt" >"$work/checked.txt" 2>&1
    kill -CONT "${pids[1]}" "${pids[2]}"
    good=$(grep -cx "$(printf 'w%.0s' $(seq 1 "$vsize"))" "$work/checked.txt")
    checked=$(wc -l <"$work/check.txt")
    say "  spot check: peer 3 alone (peers 1, 2 paused) returns the new value for $good of $checked overwritten keys"
    R_AE=$(awk -v secs="$rsecs" -v b="$d_b" -v data="$datab" -v diff="$diffb" -v nd="$ndiff" -v kr="$d_kr" -v ks="$d_ks" -v good="$good" -v chk="$checked" 'BEGIN {
      printf "anti-entropy, 1%% diverged  repair %s s; moved %.2f MB = %.4fx data (%.1f MB), %.2fx the %d differing keys (%.2f MB); keys received %d, sent %d; %d/%d spot-checked keys new on peer 3",
        secs, b / 1e6, b / data, data / 1e6, b / diff, nd, diff / 1e6, kr, ks, good, chk }')
  fi
  if want handoff; then
    say "-- handoff: a 4th peer joins (default --handoff-rate 33554432 B/s, --handoff-concurrency 2; --sync $sync, --anti-entropy-interval 0)"
    t0=$(now)
    start A 4 "${flagsA[@]}"
    done_ok=0; last_print=0; polls=0
    deadline=900
    while :; do
      polls=$((polls + 1))
      s=$(status 1)
      pend=$(info 4 Handoff transfers_pending); tr=$(info 4 Handoff transfers); rt=$(info 4 Handoff ring_transferring)
      if [ "$(echo "$s" | awk '$3=="alive" && $4=="joined" && $5>0' | wc -l)" = 4 ] &&
         echo "$s" | grep -Eq '^handoffs: [1-9][0-9]* transfers, 0 not done' &&
         [ "${pend:-x}" = 0 ] && [ "${rt:-x}" = 0 ] && [ "${tr:-0}" -gt 0 ]; then
        done_ok=1; break
      fi
      e=$(elapsed "$t0")
      if awk -v e="$e" -v l="$last_print" 'BEGIN { exit !(e - l >= 30) }'; then
        say "  ... $e s: transfers ${tr:-?}, pending ${pend:-?}, bytes_received $(info 4 Handoff bytes_received), load average $(loadavg)"
        last_print=$e
      fi
      awk -v e="$e" -v d="$deadline" 'BEGIN { exit !(e >= d) }' && break
      sleep 0.5
    done
    hsecs=$(elapsed "$t0")
    hb=$(info 4 Handoff bytes_received); hk=$(info 4 Handoff keys_received); htr=$(info 4 Handoff transfers)
    if [ $done_ok = 1 ]; then
      say "  settled on 4 peers with every transfer done after $hsecs s (polled every 0.5 s: status of peer 1, INFO Handoff of peer 4)"
      say "  $(status 1 | sed -n '2,7p' | tr -s ' ' | paste -sd ';' -)"
      say "  peer 4 INFO Handoff: transfers $htr, keys_received $hk, bytes_received $hb"
      R_HO=$(awk -v secs="$hsecs" -v b="$hb" -v k="$hk" -v n="$keys" -v data="$datab" -v tr="$htr" 'BEGIN {
        printf "handoff, 3 -> 4 peers      %s s; peer 4 received %d keys (%.1f%% of %d) in %d transfers, %.2f MB = %.2f MB/s, %.0f keys/s; data size %.1f MB (N x (16 + value))",
          secs, k, 100 * k / n, n, tr, b / 1e6, b / 1e6 / secs, k / secs, data / 1e6 }')
    else
      say "  NOT settled after $hsecs s (bounded at $deadline s): transfers $htr, pending $(info 4 Handoff transfers_pending), keys_received $hk, bytes_received $hb"
      status 1 | grep -E '^(handoffs|127\.)' | sed 's/^/  /'
      R_HO="handoff, 3 -> 4 peers      NOT settled within $deadline s ($hk keys, $(mb "${hb:-0}") MB received so far)"
    fi
  fi
  stop_all
  say "  load average $(loadavg)"
fi

# ---- Figure 3: foreground latency, anti-entropy off vs running hard -----------------------
bench_run() {  # raw-output-file -> lines "SET p50 p99 rps", "GET p50 p99 rps"
  redis-benchmark -h 127.0.0.1 -p 6380 -t set,get -n "$fgreq" -c 50 -d "$vsize" -r "$fgkeys" --precision 3 2>&1 \
    | tr '\r' '\n' | grep -v -e '^ *$' -e 'rps=' -e '% <=' | tee "$1" | awk '
      /^====== / { test=$2 }
      /throughput summary:/ { rps=$3 }
      /latency summary/ { getline; getline; printf "%s %s %s %s\n", test, $3, $5, rps }'
}
if want fg; then
  declare -A P50 P99 RPS AEX AEB
  for mode in off on; do
    interval=0; [ $mode = on ] && interval=10
    say ""
    say "== foreground, anti-entropy $mode: 3 fresh peers, --sync always, --anti-entropy-interval $interval; $fgkeys keys for redis-benchmark plus $((fgkeys / 100)) more (1%) left diverged on peer 3 as above"
    cluster3 "F$mode" --sync always --anti-entropy-interval "$interval"
    load $((fgkeys + fgkeys / 100)) "F$mode"
    diverge "F$mode" "$fgkeys" $((fgkeys + fgkeys / 100)) 1
    ex0=$(ae_sum exchanges); b0=$(ae_sum bytes_moved)
    la0=$(loadavg); t0=$(now)
    res=$(bench_run "$work/F$mode-bench.txt")
    bsecs=$(elapsed "$t0")
    ex1=$(ae_sum exchanges); b1=$(ae_sum bytes_moved)
    [ "$(echo "$res" | wc -l)" = 2 ] || { sed 's/^/  | /' "$work/F$mode-bench.txt"; fail "redis-benchmark did not report both SET and GET (anti-entropy $mode)"; }
    while read -r t p50 p99 rps; do
      P50[$mode,$t]=$p50; P99[$mode,$t]=$p99; RPS[$mode,$t]=$rps
      say "  $t: $rps req/s, p50 $p50 ms, p99 $p99 ms"
    done <<<"$res"
    AEX[$mode]=$((ex1 - ex0)); AEB[$mode]=$((b1 - b0))
    say "  redis-benchmark -t set,get -n $fgreq -c 50 -d $vsize -r $fgkeys against peer 1: $bsecs s; anti-entropy during it: ${AEX[$mode]} exchanges, $(mb "${AEB[$mode]}") MB moved (summed over peers); load average before $la0, after $(loadavg)"
    stop_all
  done
  R_FG=$(for t in SET GET; do
    awk -v t="$t" -v a50="${P50[off,$t]:-0}" -v a99="${P99[off,$t]:-0}" -v b50="${P50[on,$t]:-0}" -v b99="${P99[on,$t]:-0}" 'BEGIN {
      r = (a99 > 0) ? b99 / a99 : 0
      printf "foreground %s p50/p99     AE off %.3f / %.3f ms; AE on %.3f / %.3f ms; p99 ratio %.2fx (target <= 1.2x: %s)\n", t, a50, a99, b50, b99, r, (r > 0 && r <= 1.2) ? "met" : "NOT met" }'
  done)
fi

say ""
say "== summary ($(elapsed "$t_start") s in all; load average $(loadavg); 2 shared vCPUs; figures 1-2 with --sync $sync)"
[ -n "$R_HO" ] && say "$R_HO"
[ -n "$R_AE" ] && say "$R_AE"
[ -n "$R_FG" ] && say "$R_FG"
exit 0
