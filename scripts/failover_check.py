#!/usr/bin/env python3
"""Workload and checker for scripts/failover-test.sh (python3 standard library only).

SPEC 6: as long as the peer a client reached can reach W nodes of the key's ring walk (R for
a read), the request succeeds within its TIMEOUT, also in the first seconds of a failure,
before gossip suspects anyone. This drives a steady SET/GET load through the peers that stay
up (--via), injects one fault on the victim peer at a known moment, and reports what the
clients saw in the first --window seconds after it and over the whole fault:

  cut   every packet between the victim and every other peer is dropped (iptables, both
        directions) for --fault seconds, then healed;
  stop  the victim is paused with SIGSTOP for --fault seconds, then SIGCONT.

Every SET writes a key of its own ("t<thread>:<seq>" = "v<thread>:<seq>"), so each key has
one writer and one right answer. GETs read back keys their thread had acknowledged: an
answer other than the value is a stale read. After the fault ends: every acknowledged SET is
read back with `GET key R all` (retried while hints and repair catch up, bounded): a key that
does not read back as its value is a lost write.

Clients connect from --client-addr (127.0.0.200), an address the cuts never name. Runs inside
the private network namespace the caller made. With --check the exit code says whether the
targets held: no lost or stale answer; for `cut`, zero failed requests in the window; for
`stop`, at least 99% of the requests during the pause succeeded.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from partition_check import Client, ConnError, Err, error_kind  # noqa: E402


class Load(threading.Thread):
    def __init__(self, run, index, peer):
        super().__init__(daemon=True)
        self.run_, self.index, self.peer = run, index, peer
        self.ops = []     # (start, end, op, outcome) outcome: "ok" | "stale" | error kind
        self.acked = {}   # key -> value
        self.rng = random.Random(run.args.seed * 1000 + index)

    def run(self):
        a = self.run_.args
        c = Client(f"127.0.0.{self.peer}", a.port, a.client_addr, timeout=a.client_timeout)
        seq = 0
        while time.monotonic() < self.run_.end:
            if self.acked and self.rng.random() < a.read_share:
                key = self.rng.choice(list(self.acked))
                op, args = "get", ["GET", key]
            else:
                seq += 1
                key = f"t{self.index}:{seq}"
                op, args = "set", ["SET", key, f"v{self.index}:{seq}"]
            start = time.monotonic()
            try:
                r = c.call(*args)
            except ConnError as e:
                r = Err(f"CONN {e}")
            end = time.monotonic()
            if isinstance(r, Err):
                outcome = error_kind(r)
                self.run_.note(f"{op} {key} via {self.peer} at +{start - self.run_.t0:.2f} s: {r}")
            elif op == "set":
                outcome = "ok"
                self.acked[key] = args[2]
            else:
                outcome = "ok" if r is not None and r.decode() == self.acked[key] else "stale"
                if outcome == "stale":
                    self.run_.note(f"stale GET {key} via {self.peer}: {r!r}, acked {self.acked[key]}")
            if end - start > 1:
                self.run_.note(f"slow {op} {key} via {self.peer} at +{start - self.run_.t0:.2f} s: {end - start:.2f} s")
            self.ops.append((start, end, op, outcome))
            if a.pause_ms:
                time.sleep(a.pause_ms / 1000)


class Run:
    def __init__(self, a):
        self.args = a
        self.notes = []
        self.lock = threading.Lock()
        self.end = 0.0
        self.t0 = 0.0

    def note(self, msg):
        with self.lock:
            if len(self.notes) < 50:
                self.notes.append(msg)

    def iptables(self, action):
        v = self.args.victim
        for o in range(1, self.args.peers + 1):
            if o == v:
                continue
            for s, d in ((v, o), (o, v)):
                subprocess.run(["iptables", action, "INPUT", "-s", f"127.0.0.{s}", "-d", f"127.0.0.{d}", "-j", "DROP"], check=True)

    def fault(self, on):
        if self.args.fault == "cut":
            self.iptables("-A" if on else "-D")
        else:
            os.kill(self.args.victim_pid, signal.SIGSTOP if on else signal.SIGCONT)

    def main(self):
        a = self.args
        via = [int(x) for x in a.via.split(",")]
        loads = [Load(self, i, via[i % len(via)]) for i in range(a.threads)]
        self.t0 = time.monotonic()
        self.end = self.t0 + a.pre + a.fault_secs + a.post
        for t in loads:
            t.start()
        time.sleep(a.pre)
        t_fault = time.monotonic()
        self.note(f"fault at +{t_fault - self.t0:.2f} s")
        self.fault(True)
        try:
            time.sleep(a.fault_secs)
        finally:
            self.fault(False)
        t_heal = time.monotonic()
        self.note(f"healed at +{t_heal - self.t0:.2f} s")
        for t in loads:
            t.join(timeout=a.post + a.client_timeout + 5)
        ops = [o for t in loads for o in t.ops]
        report = {
            "fault": a.fault, "peers": a.peers, "victim": a.victim, "via": via,
            "before": summary([o for o in ops if o[0] < t_fault]),
            "window": summary([o for o in ops if t_fault <= o[0] < t_fault + a.window]),
            "during": summary([o for o in ops if t_fault <= o[0] < t_heal]),
            "after": summary([o for o in ops if o[0] >= t_heal]),
        }
        acked = {k: v for t in loads for k, v in t.acked.items()}
        lost = self.verify(acked, via[0])
        report["acked_writes"] = len(acked)
        report["lost"] = len(lost)
        report["stale"] = sum(1 for o in ops if o[3] == "stale")
        return report, lost

    def verify(self, acked, peer):
        """Every acknowledged SET reads back with R all, retried (bounded) while hints and
        read repair catch up after the fault."""
        c = Client(f"127.0.0.{peer}", self.args.port, self.args.client_addr, timeout=self.args.client_timeout)
        pending = dict(acked)
        deadline = time.monotonic() + self.args.verify_secs
        while pending and time.monotonic() < deadline:
            keys = list(pending)
            for i in range(0, len(keys), 200):
                batch = keys[i:i + 200]
                try:
                    replies = c.pipeline([["GET", k, "R", "all"] for k in batch])
                except ConnError:
                    continue
                for k, r in zip(batch, replies):
                    if not isinstance(r, Err) and r is not None and r.decode() == pending[k]:
                        del pending[k]
            if pending:
                time.sleep(1)
        for k in list(pending)[:10]:
            self.note(f"lost: {k} = {pending[k]} did not read back")
        return pending


def summary(ops):
    out = {"sent": len(ops), "ok": 0, "failed": 0, "errors": {}}
    lat = []
    for start, end, op, outcome in ops:
        lat.append((end - start) * 1000)
        if outcome == "ok":
            out["ok"] += 1
        else:
            out["failed"] += outcome != "stale"
            out["errors"][outcome] = out["errors"].get(outcome, 0) + 1
    lat.sort()
    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))], 1) if lat else 0
    out.update({"p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1) if lat else 0})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", type=int, default=3)
    p.add_argument("--victim", type=int, default=1)
    p.add_argument("--victim-pid", type=int, default=0)
    p.add_argument("--via", default="2,3")
    p.add_argument("--fault", choices=["cut", "stop"], default="cut")
    p.add_argument("--pre", type=float, default=3)
    p.add_argument("--fault-secs", type=float, default=8)
    p.add_argument("--post", type=float, default=3)
    p.add_argument("--window", type=float, default=5)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--pause-ms", type=float, default=0)
    p.add_argument("--read-share", type=float, default=0.3)
    p.add_argument("--port", type=int, default=6380)
    p.add_argument("--client-addr", default="127.0.0.200")
    p.add_argument("--client-timeout", type=float, default=10)
    p.add_argument("--verify-secs", type=float, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--check", action="store_true")
    p.add_argument("--json", default="")
    a = p.parse_args()
    if a.fault == "stop" and not a.victim_pid:
        p.error("--fault stop needs --victim-pid")
    run = Run(a)
    report, lost = run.main()
    for name in ("before", "window", "during", "after"):
        s = report[name]
        label = {"window": f"first {a.window:g} s of fault"}.get(name, name)
        print(f"  {label:<22} sent {s['sent']:6}  ok {s['ok']:6}  failed {s['failed']:4}  "
              f"p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f} ms  max {s['max_ms']:7.1f} ms  {s['errors'] or ''}")
    print(f"  acknowledged writes {report['acked_writes']}, lost {report['lost']}, stale reads {report['stale']}")
    for n in run.notes[:20]:
        print("  note:", n)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if not a.check:
        return 0
    problems = []
    if report["lost"]:
        problems.append(f"{report['lost']} acknowledged writes lost")
    if report["stale"]:
        problems.append(f"{report['stale']} stale reads")
    if report["window"]["sent"] == 0 or report["during"]["sent"] == 0:
        problems.append("no requests during the fault")
    if a.fault == "cut" and report["window"]["failed"]:
        problems.append(f"{report['window']['failed']} failed requests in the first {a.window:g} s (target 0)")
    if a.fault == "stop":
        d = report["during"]
        if d["ok"] < 0.99 * d["sent"]:
            problems.append(f"only {d['ok']} of {d['sent']} requests succeeded during the pause (target 99%)")
    for pr in problems:
        print("  VIOLATION:", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
