#!/usr/bin/env bash
# Secrets off the command line (issue 14, low): --cluster-secret-file and --requirepass-file
# read the first line of a file, CHORUS_CLUSTER_SECRET / CHORUS_REQUIREPASS the environment;
# a secret given on the command line still works and logs a warning (argv is visible in
# /proc/<pid>/cmdline); a flag and its file together, or an empty file, is a usage error.
# Runs `serve --print-config` only: no process stays, no port is bound.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=$(pwd)/.build/debug/chorus
[ -x "$bin" ] || { echo "secrets: FAIL: $bin is missing (scripts/test.sh builds it first)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-secrets-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "secrets: FAIL: $*"; exit 1; }

printf 'fromfile\n' >"$work/secret"
printf 'pw-file\r\nsecond line\n' >"$work/pass"
: >"$work/empty"
out=$("$bin" serve --data "$work/d" --cluster-secret-file "$work/secret" --requirepass-file "$work/pass" --print-config 2>"$work/err") \
  || fail "files: exit $? ($(cat "$work/err"))"
grep -qx 'cluster-secret fromfile' <<<"$out" || fail "cluster secret not read from its file: $out"
grep -qx 'requirepass pw-file' <<<"$out" || fail "requirepass not read from its file (first line, CRLF): $out"
[ ! -s "$work/err" ] || fail "files gave a warning: $(cat "$work/err")"

out=$(CHORUS_REQUIREPASS=pw-env CHORUS_CLUSTER_SECRET=s-env "$bin" serve --data "$work/d" --print-config 2>"$work/err") || fail "environment: exit $?"
grep -qx 'cluster-secret s-env' <<<"$out" && grep -qx 'requirepass pw-env' <<<"$out" || fail "environment not read: $out"

out=$("$bin" serve --data "$work/d" --cluster-secret argv-secret --print-config 2>"$work/err") || fail "argv: exit $?"
grep -qx 'cluster-secret argv-secret' <<<"$out" || fail "argv secret not taken: $out"
grep -q 'cluster-secret on the command line is visible' "$work/err" || fail "no warning for a secret on argv: $(cat "$work/err")"

err=$("$bin" serve --data "$work/d" --requirepass x --requirepass-file "$work/pass" --print-config 2>&1 >/dev/null); status=$?
[ "$status" = 2 ] && [ "$err" = "chorus: --requirepass and --requirepass-file both given" ] || fail "flag and file: $status '$err'"
err=$("$bin" serve --data "$work/d" --cluster-secret-file "$work/empty" --print-config 2>&1 >/dev/null); status=$?
[ "$status" = 2 ] && [ "$err" = "chorus: --cluster-secret-file: $work/empty is empty" ] || fail "empty file: $status '$err'"
err=$("$bin" serve --data "$work/d" --cluster-secret-file "$work/absent" --print-config 2>&1 >/dev/null); status=$?
[ "$status" = 2 ] && [ "$err" = "chorus: --cluster-secret-file: cannot read $work/absent" ] || fail "missing file: $status '$err'"
# No password on a client port others can reach: admin commands are open, say so.
"$bin" serve --data "$work/d" --host 0.0.0.0 --print-config >/dev/null 2>"$work/err" || fail "0.0.0.0: exit $?"
grep -q 'no --requirepass: any client that reaches 0.0.0.0 may run LEAVE' "$work/err" || fail "no warning for open admin commands: $(cat "$work/err")"
"$bin" serve --data "$work/d" --host 0.0.0.0 --requirepass-file "$work/pass" --print-config >/dev/null 2>"$work/err" || fail "0.0.0.0 with a password: exit $?"
[ ! -s "$work/err" ] || fail "a warning with a password set: $(cat "$work/err")"
echo "secrets: PASS (9 checks)"
