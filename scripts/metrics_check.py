#!/usr/bin/env python3
"""Checks a peer's GET /metrics with prometheus-client's own text parser (issue 16).

usage: metrics_check.py URL [--expect-sets N] [--expect-peer ID ...] [--members N]

Fails (exit 1, one line per problem) unless: the text parses; every family has a # HELP and
a # TYPE line, and no family is untyped; counters end in _total; every histogram's buckets
are cumulative with +Inf equal to _count; chorus_command_duration_seconds has buckets from
0.0001 to 10 and counts at least N SETs and N GETs; the peer RPC round-trip histogram has a
child for every expected peer; WAL fsyncs were timed; hints and members are reported.
"""
import argparse
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--expect-sets", type=int, default=0)
    ap.add_argument("--expect-peer", action="append", default=[])
    ap.add_argument("--members", type=int, default=0)
    args = ap.parse_args()
    with urllib.request.urlopen(args.url, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode("utf-8")
    problems = []
    if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
        problems.append(f"content type {ctype!r} is not text/plain; version=0.0.4")

    helps, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            helps[name] = h
        elif line.startswith("# TYPE "):
            name, _, t = line[7:].partition(" ")
            if name in types:
                problems.append(f"{name}: two # TYPE lines")
            types[name] = t
    for name in types:
        if not helps.get(name):
            problems.append(f"{name}: no # HELP text")
    for name in helps:
        if name not in types:
            problems.append(f"{name}: # HELP without # TYPE")

    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own complaint, verbatim
        print(f"metrics_check: FAIL: prometheus-client cannot parse {args.url}: {e}")
        return 1
    by_name = {}
    for f in families:
        by_name[f.name] = f
        if f.type in ("unknown", "untyped"):
            problems.append(f"{f.name}: untyped")
        if f.type == "counter":
            for s in f.samples:
                if not (s.name.endswith("_total") or s.name.endswith("_created")):
                    problems.append(f"counter sample {s.name} does not end in _total")
        if f.type == "histogram":
            check_histogram(f, problems)
    # Every family line in the text was seen by the parser under a declared type.
    sample_names = {s.name for f in families for s in f.samples}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            base = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[: -len(suffix)] in types:
                    base = name[: -len(suffix)]
            if base not in types:
                problems.append(f"sample {name} has no # TYPE")
            if name not in sample_names:
                problems.append(f"sample {name} not parsed")

    cmd = by_name.get("chorus_command_duration_seconds")
    if cmd is None or cmd.type != "histogram":
        problems.append("chorus_command_duration_seconds histogram missing")
    else:
        les = sorted({float(s.labels["le"]) for s in cmd.samples if s.name.endswith("_bucket")})
        if not les or les[0] != 0.0001 or les[-2] != 10 or les[-1] != float("inf"):
            problems.append(f"command duration buckets {les} do not run from 0.0001 to 10 then +Inf")
        counts = {s.labels["command"]: s.value for s in cmd.samples if s.name.endswith("_count")}
        for c in ("set", "get"):
            if counts.get(c, 0) < args.expect_sets:
                problems.append(f"command {c}: {counts.get(c, 0)} observations, expected at least {args.expect_sets}")
    outcomes = by_name.get("chorus_commands")
    if outcomes is None:
        problems.append("chorus_commands_total missing")
    elif args.expect_sets:
        ok = sum(s.value for s in outcomes.samples if s.labels.get("command") == "set" and s.labels.get("outcome") == "ok")
        if ok < args.expect_sets:
            problems.append(f"chorus_commands_total{{command=set,outcome=ok}} is {ok}, expected at least {args.expect_sets}")
        errors = sum(s.value for s in outcomes.samples if s.labels.get("command") == "other" and s.labels.get("outcome") == "error")
        if errors < 1:
            problems.append("the unknown command sent was not counted as command=other, outcome=error")

    rpc = by_name.get("chorus_peer_rpc_duration_seconds")
    peers = {s.labels.get("peer") for s in rpc.samples} if rpc else set()
    for p in args.expect_peer:
        if p not in peers:
            problems.append(f"no peer RPC round trips recorded for peer {p} (have {sorted(peers)})")
    fsync = by_name.get("chorus_fsync_duration_seconds")
    wal = [s.value for s in fsync.samples if s.name.endswith("_count") and s.labels.get("file") == "wal"] if fsync else []
    if args.expect_sets and (not wal or wal[0] < 1):
        problems.append("no WAL fsync timed")
    for needed in ("chorus_hints_pending", "chorus_hints", "chorus_members", "chorus_handoff_transfers",
                   "chorus_handoff_progress_ratio", "chorus_storage_compactions", "chorus_antientropy_exchanges",
                   "chorus_ring_version", "chorus_namespace_commands", "chorus_storage_job_duration_seconds"):
        if needed not in by_name:
            problems.append(f"family {needed} missing")
    if args.members:
        alive = [s.value for s in by_name["chorus_members"].samples if s.labels.get("status") == "alive"] if "chorus_members" in by_name else []
        if not alive or alive[0] != args.members:
            problems.append(f"chorus_members{{status=alive}} is {alive}, expected {args.members}")

    for p in problems:
        print(f"metrics_check: FAIL: {p}")
    if problems:
        return 1
    print(f"metrics_check: ok: {len(families)} families, {sum(len(f.samples) for f in families)} samples from {args.url}")
    return 0


def check_histogram(f, problems):
    series = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        d = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if s.name.endswith("_bucket"):
            d["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            d["count"] = s.value
        elif s.name.endswith("_sum"):
            d["sum"] = s.value
    for key, d in series.items():
        b = sorted(d["buckets"])
        if not b or b[-1][0] != float("inf"):
            problems.append(f"{f.name}{dict(key)}: no +Inf bucket")
            continue
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            problems.append(f"{f.name}{dict(key)}: buckets not cumulative")
        if d["count"] != b[-1][1]:
            problems.append(f"{f.name}{dict(key)}: _count {d['count']} != +Inf bucket {b[-1][1]}")
        if d["sum"] is None or d["sum"] < 0:
            problems.append(f"{f.name}{dict(key)}: no _sum")


if __name__ == "__main__":
    sys.exit(main())
