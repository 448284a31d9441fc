#!/usr/bin/env bash
# Multi-process suite (issue 16): backup and restore. Three peers (cluster A) take writes,
# siblings and a delete; every peer is backed up (BACKUP: a checkpoint on the peer's
# machine while it serves); A then takes newer writes and deletes. The backups are restored
# into a fresh cluster B (new node ids, which already holds a concurrent write) and into A
# itself, and every key is checked: newer writes win, deletes after the backup stay
# deleted, siblings (old and concurrent) are kept, tombstones come back as deletes, nothing
# else appears. Bounded in time; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/netns.sh
enter_private_netns backup "$@"
bin=$(pwd)/.build/debug/chorus
command -v redis-cli >/dev/null || { echo "backup: FAIL: redis-cli missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-backup-XXXXXX")
pids=()
fail() { echo "backup: FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -n 5 "$f"; done; cleanup; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}
trap cleanup EXIT
start() {  # start peer at 127.0.0.$1, seeded by 127.0.0.$2 (or none)
  local i=$1 seed=()
  [ "$2" != "$i" ] && seed=(--seed "127.0.0.$2:7946")
  "$bin" serve --host "127.0.0.$i" --data "$work/n$i" "${seed[@]}" >>"$work/n$i.log" 2>&1 &
  pids[$i]=$!
}
settled() {  # three alive and joined, seen from 127.0.0.$1
  [ "$("$bin" -h "127.0.0.$1" status 2>/dev/null | awk 'NR>2 && $3=="alive" && $4=="joined" && $5>0' | wc -l)" = 3 ]
}
wait_settled() {  # peers "$@"
  for _ in $(seq 1 80); do
    local all=1
    for i in "$@"; do settled "$i" || all=0; done
    [ "$all" = 1 ] && return 0
    sleep 0.5
  done
  return 1
}
cli() { local i=$1; shift; redis-cli -h "127.0.0.$i" -p 6380 "$@"; }
# The sibling values of a key, sorted, one line ("a,b"); "-" when absent or all tombstones.
siblings() {
  local out
  out=$("$bin" -h "127.0.0.$1" getv "$2" 2>&1 | sed -n 's/^sibling [0-9]*: //p' | sort | paste -sd, -)
  echo "${out:--}"
}
expect_get() {  # peer key value ("(nil)" for absent)
  local got
  got=$(cli "$1" GET "$2" R all)
  [ "$got" = "${3/(nil)/}" ] || fail "$4: GET $2 through 127.0.0.$1 is '$got', expected '$3'"
}
expect_siblings() {  # peer key "a,b" label
  local got
  got=$(siblings "$1" "$2")
  [ "$got" = "$3" ] || fail "$4: siblings of $2 through 127.0.0.$1 are '$got', expected '$3'"
}

# ---- cluster A: 127.0.0.1-3
start 1 1; sleep 1; start 2 1; start 3 1
wait_settled 1 2 3 || fail "cluster A did not settle in 40 s"
for i in $(seq 1 20); do [ "$(cli $(( i % 3 + 1 )) SET "k$i" "v1-$i")" = OK ] || fail "SET k$i"; done
for i in 1 2 3; do [ "$(cli 1 SET "del$i" "d$i")" = OK ] || fail "SET del$i"; done
[ "$(cli 1 SET gone g)" = OK ] && [ "$(cli 2 DEL gone)" = 1 ] || fail "SET/DEL gone"
# Two writes with the empty context: concurrent, so two siblings.
[ "$(cli 1 PUTV sib '' a)" = OK ] && [ "$(cli 2 PUTV sib '' b)" = OK ] || fail "PUTV sib"
[ "$(cli 3 SET conc old)" = OK ] || fail "SET conc"
expect_siblings 1 sib "a,b" "before the backup"
echo "backup: cluster A settled and written"

# Bad requests: one line each, nothing changed.
out=$(cli 1 BACKUP relative/dir)
[[ "$out" == *"absolute directory path"* ]] || fail "BACKUP with a relative path answered '$out'"
mkdir -p "$work/full" && touch "$work/full/x"
out=$(cli 1 BACKUP "$work/full")
[[ "$out" == *"exists and is not empty"* ]] || fail "BACKUP into a non-empty directory answered '$out'"
out=$(cli 1 RESTORE.RECORDS default k1 notarecord)
[[ "$out" == *"record 0 does not decode"* ]] || fail "RESTORE.RECORDS with a bad record answered '$out'"
out=$(cli 1 RESTORE.RECORDS nosuchns k1 x)
[[ "$out" == *"unknown namespace 'nosuchns'"* ]] || fail "RESTORE.RECORDS into an unknown namespace answered '$out'"
out=$(cli 1 RESTORE.RECORDS default k1)
[[ "$out" == *"wrong number of arguments"* ]] || fail "RESTORE.RECORDS with a partial triple answered '$out'"
expect_get 1 k1 v1-1 "after refused commands"

# ---- back up every peer while a writer keeps going (the backup blocks nobody).
( for i in $(seq 1 300); do redis-cli -h 127.0.0.1 -p 6380 SET "busy$i" x >/dev/null || exit 1; done ) &
writer=$!
for i in 1 2 3; do
  out=$("$bin" backup -h "127.0.0.$i:6380" "$work/backup$i" 2>&1) || fail "backup of peer $i: $out"
  [[ "$out" == *"sequence="* ]] || fail "backup of peer $i printed '$out'"
  [ -f "$work/backup$i/store/CURRENT" ] && grep -q "^node=127.0.0.$i:7946$" "$work/backup$i/backup.txt" \
    || fail "backup $i lacks store/CURRENT or names the wrong node"
  ls "$work/backup$i/store" | grep -q '\.log$' && fail "backup $i holds a write-ahead log"
done
wait "$writer" || fail "writes during the backups failed"
echo "backup: every peer backed up while serving ($(grep -h '^table_bytes=' "$work"/backup*/backup.txt | paste -sd' ' -))"

# ---- after the backup: newer writes, deletes, a concurrent sibling.
for i in 1 2 3 4 5; do [ "$(cli 2 SET "k$i" "v2-$i")" = OK ] || fail "SET k$i after the backup"; done
for i in 1 2 3; do [ "$(cli 3 DEL "del$i")" = 1 ] || fail "DEL del$i after the backup"; done
[ "$(cli 1 SET new1 n)" = OK ] || fail "SET new1"
[ "$(cli 1 PUTV conc '' later)" = OK ] || fail "PUTV conc"
expect_siblings 1 conc "later,old" "after the backup"

# ---- cluster B: fresh, new ids (127.0.0.11-13); it already holds a write concurrent with the backup's k6.
start 11 11; sleep 1; start 12 11; start 13 11
wait_settled 11 12 13 || fail "cluster B did not settle in 40 s"
[ "$(cli 11 SET k6 fresh)" = OK ] && [ "$(cli 12 SET onlyb b)" = OK ] || fail "writes to cluster B"
for i in 1 2 3; do
  out=$("$bin" restore "$work/backup$i" -h 127.0.0.1$i 2>&1) || fail "restore of backup $i into B: $out"
  [[ "$out" == "restored "* ]] || fail "restore into B printed '$out'"
done
echo "backup: 3 backups restored into cluster B ($out)"
for i in $(seq 1 20); do
  [ "$i" = 6 ] && continue
  expect_get 13 "k$i" "v1-$i" "fresh cluster"
done
expect_siblings 12 k6 "fresh,v1-6" "fresh cluster keeps its concurrent write beside the restored one"
expect_siblings 11 sib "a,b" "fresh cluster"
expect_siblings 11 conc "old" "fresh cluster"
for i in 1 2 3; do expect_get 12 "del$i" "d$i" "fresh cluster (deleted only after the backup)"; done
expect_get 11 gone "(nil)" "fresh cluster (deleted before the backup)"
expect_get 11 new1 "(nil)" "fresh cluster (written only after the backup)"
expect_get 13 onlyb b "fresh cluster's own key"
# A write after the restore supersedes what it read: restored dots leave room for new ones.
ctx=$("$bin" -h 127.0.0.11 getv k6 | sed -n 's/^context //p')
[ "$("$bin" -h 127.0.0.12 putv k6 "$ctx" resolved)" = OK ] || fail "putv k6 in B"
expect_get 13 k6 resolved "fresh cluster after resolving"
[ "$(cli 13 SET k7 again)" = OK ] && expect_get 11 k7 again "fresh cluster, SET after restore"
echo "backup: fresh cluster B shows exactly the backup, plus its own writes"

# ---- restore into the same cluster A.
for i in 1 2 3; do
  out=$("$bin" restore "$work/backup$i" -h "127.0.0.$(( (i % 3) + 1 ))" 2>&1) || fail "restore of backup $i into A: $out"
done
for i in 1 2 3 4 5; do expect_get 1 "k$i" "v2-$i" "same cluster (newer write wins)"; done
for i in $(seq 6 20); do expect_get 2 "k$i" "v1-$i" "same cluster"; done
for i in 1 2 3; do expect_get 3 "del$i" "(nil)" "same cluster (deleted after the backup stays deleted)"; done
expect_get 1 gone "(nil)" "same cluster"
expect_get 2 new1 n "same cluster (written after the backup)"
expect_siblings 3 sib "a,b" "same cluster"
expect_siblings 2 conc "later,old" "same cluster (concurrent sibling kept)"
# Running the restore again changes nothing.
"$bin" restore "$work/backup1" -h 127.0.0.2 >/dev/null 2>&1 || fail "second restore into A"
expect_get 1 k1 v2-1 "after a second restore"
expect_siblings 1 sib "a,b" "after a second restore"

# The backup was never written to by reading it.
[ "$(ls "$work/backup1/store" | grep -c MANIFEST)" = 1 ] || fail "restore wrote a manifest into the backup"
echo "backup: PASS (fresh and same-cluster restores show exactly the expected keys, versions and siblings)"
cleanup
rm -rf "$work"
