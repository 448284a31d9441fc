#!/usr/bin/env python3
"""Counters across a partition and a kill -9 (issue 13; docs/VERSIONS.md, "Counters").

Run by scripts/suites/counters.sh inside a private network namespace, against 3 peers on
127.0.0.1-3 that it started. One writer thread per peer (and one more on peer 1) sends
INCR, DECR, INCRBY and DECRBY with `W 1` through its own peer, on counters of a siblings
namespace and of an lww one, and records each delta as acknowledged (an integer reply) or
unanswered (an error: it may or may not have been applied). Phases:
  together  all peers connected, every writer at once;
  cut       peer 3 cut off from peers 1 and 2 with iptables (DROP both ways): both sides
            keep incrementing;
  healed    the rules removed; writers go on;
  kill      peer 2 killed with SIGKILL by the suite (this script asks it, through a file)
            and restarted while the writers go on.
Then the writers stop, hints drain, `chorus repair` runs on every peer, and every counter
is read with `GET key R all` through every peer. Check: each reads exactly the sum of its
acknowledged deltas plus the deltas of some subset of its unanswered ones (SPEC 3: no
acknowledged increment lost, none counted twice), and every peer reads the same value.
Every client connection leaves from 127.0.0.200, an address the cuts never name.
Exit status: 0 pass, 1 violations, 2 could not run.
"""
import argparse
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from partition_check import Client, ConnError, Err  # noqa: E402  (the same minimal RESP client)

PORT = 6380
SRC = "127.0.0.200"


def log(msg):
    print(f"counters-check: {msg}", flush=True)


class Writer(threading.Thread):
    def __init__(self, peer, keys, seed, deadline):
        super().__init__(daemon=True)
        self.peer, self.keys, self.rng = peer, keys, random.Random(seed)
        self.stop = threading.Event()
        self.deadline = deadline
        self.acked = {}      # (ns, key) -> sum of acknowledged deltas
        self.unsure = {}     # (ns, key) -> [deltas of unanswered increments]
        self.errors = {}     # first word of the error -> count
        self.sent = 0
        self.bad = []        # replies that are neither an integer nor a known error

    def command(self, delta):
        kind = self.rng.randrange(4)
        if kind == 0:
            return ["INCR"], 1
        if kind == 1:
            return ["DECR"], -1
        if kind == 2:
            return ["INCRBY", None, str(delta)], delta
        return ["DECRBY", None, str(delta)], -delta

    def run(self):
        clients = {}
        while not self.stop.is_set() and time.time() < self.deadline:
            ns, key = self.rng.choice(self.keys)
            cmd, delta = self.command(self.rng.randint(1, 9))
            args = [cmd[0], key] + cmd[2:] + ["W", "1", "TIMEOUT", "2000"]
            c = clients.get(ns)
            if c is None:
                c = clients[ns] = Client(self.peer, PORT, SRC, timeout=5.0, ns=ns)
            self.sent += 1
            try:
                r = c.call(*args)
            except ConnError as e:
                c.close()
                clients.pop(ns, None)
                r = Err(f"CONN {e}")
            if isinstance(r, int) and not isinstance(r, bool):
                self.acked[(ns, key)] = self.acked.get((ns, key), 0) + delta
                continue
            word = str(r).split(" ", 1)[0] if r is not None else "nil"
            self.errors[word] = self.errors.get(word, 0) + 1
            if isinstance(r, Err) and word in ("TIMEOUT", "UNAVAILABLE", "CONN"):
                self.unsure.setdefault((ns, key), []).append(delta)
            else:
                # Counters here stay far from 2^63 and hold integers only: any other reply
                # (an ERR refusal applies nothing) is a defect.
                self.bad.append(f"{' '.join(args)} through {self.peer}: {str(r)[:200]}")
            time.sleep(0.05)  # a failing peer is not hammered
        for c in clients.values():
            c.close()


def possible_sums(base, deltas):
    """Every value base + (sum of a subset of deltas)."""
    sums = {base}
    for d in deltas:
        sums |= {s + d for s in sums}
    return sums


def iptables(action, lone, others):
    for o in others:
        for s, d in ((lone, o), (o, lone)):
            cmd = ["iptables", action, "INPUT", "-s", s, "-d", d, "-j", "DROP"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                log(f"cannot run {' '.join(cmd)}: {r.stderr.strip()}")
                sys.exit(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phase", type=float, default=5.0, help="seconds of each phase")
    ap.add_argument("--kill-file", required=True, help="written to ask the suite for kill -9 of peer 2; removed when it is back")
    a = ap.parse_args()
    peers = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    rng = random.Random(a.seed)

    admin = Client(peers[0], PORT, SRC, timeout=10.0)
    r = admin.call("NS.CREATE", "ctrlww", "CONFLICT", "lww")
    if isinstance(r, Err) and "exists" not in r:
        log(f"NS.CREATE ctrlww: {r}")
        return 2
    admin.close()
    # Every peer must know the namespace before writers use it.
    t0 = time.time()
    while time.time() - t0 < 30:
        answers = []
        for p in peers:
            c = Client(p, PORT, SRC, timeout=5.0)
            try:
                answers.append(c.call("NS.INFO", "ctrlww"))
            except ConnError as e:
                answers.append(Err(str(e)))
            c.close()
        if not any(isinstance(x, Err) for x in answers):
            break
        time.sleep(0.5)
    keys = [("default", f"ctr:{i}") for i in range(6)] + [("ctrlww", f"ctr:{i}") for i in range(6)]

    total = 4 * a.phase + 20
    deadline = time.time() + total
    writers = [Writer(p, keys, rng.randrange(1 << 30), deadline) for p in peers + [peers[0]]]
    for w in writers:
        w.start()
    log(f"phase together: {len(writers)} writers through every peer at once for {a.phase} s")
    time.sleep(a.phase)

    log("phase cut: peer 3 cut off from peers 1 and 2 (iptables DROP both ways); both sides increment")
    iptables("-A", peers[2], peers[:2])
    before = sum(sum(w.acked.values()) for w in writers)
    cut_acked = {p: 0 for p in peers}
    snapshot = [dict(w.acked) for w in writers]
    time.sleep(2 * a.phase)
    for w, s in zip(writers, snapshot):
        cut_acked[w.peer] += sum(1 for k in w.acked if w.acked[k] != s.get(k, 0))
    # The cut is real: peer 3 cannot reach a second replica.
    probe = Client(peers[2], PORT, SRC, timeout=10.0)
    try:
        cut_read = probe.call("GET", keys[0][1], "R", "all", "TIMEOUT", "1000")
    except ConnError as e:
        cut_read = Err(f"CONN {e}")
    probe.close()
    iptables("-D", peers[2], peers[:2])
    log(f"phase healed (counters changed during the cut, per peer: {cut_acked})")
    time.sleep(a.phase)

    log("phase kill: asking for kill -9 of peer 2 and its restart")
    with open(a.kill_file, "w") as f:
        f.write("kill\n")
    t0 = time.time()
    while os.path.exists(a.kill_file) and time.time() - t0 < 60:
        time.sleep(0.2)
    if os.path.exists(a.kill_file):
        log("peer 2 was not restarted in 60 s")
        return 2
    time.sleep(a.phase)
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join(30)
    sent = sum(w.sent for w in writers)
    errors = {}
    for w in writers:
        for k, n in w.errors.items():
            errors[k] = errors.get(k, 0) + n
    log(f"writers stopped: {sent} increments sent, errors {errors or 'none'}")

    acked = {k: 0 for k in keys}
    unsure = {k: [] for k in keys}
    for w in writers:
        for k, v in w.acked.items():
            acked[k] += v
        for k, v in w.unsure.items():
            unsure[k] += v
    violations = [f"unexpected reply {b}" for w in writers for b in w.bad]
    if not (isinstance(cut_read, Err) and str(cut_read).split(" ", 1)[0] in ("UNAVAILABLE", "TIMEOUT")):
        violations.append(f"during the cut, GET R all through peer 3 answered {cut_read!r}: the cut did not isolate it")
    if not any(cut_acked[p] for p in peers[:2]) or not cut_acked[peers[2]]:
        violations.append(f"both sides must have acknowledged increments during the cut: {cut_acked}")

    # Hints drain and anti-entropy runs; then read through every peer until they agree
    # (bounded), and check.
    for p in peers:
        subprocess.run([a.bin, "-h", p, "repair"], capture_output=True, text=True, timeout=120)
    final = {}
    t0 = time.time()
    while True:
        final = {}
        for ns, key in keys:
            for p in peers:
                try:
                    c = Client(p, PORT, SRC, timeout=10.0, ns=ns)
                    r = c.call("GET", key, "R", "all")
                    c.close()
                except ConnError as e:
                    r = Err(f"CONN {e}")
                final[(ns, key, p)] = r
        agreed = all(isinstance(final[(ns, key, p)], bytes) and final[(ns, key, p)] == final[(ns, key, peers[0])]
                     for ns, key in keys for p in peers)
        if agreed or time.time() - t0 > 60:
            break
        time.sleep(1)
        for p in peers:
            subprocess.run([a.bin, "-h", p, "repair"], capture_output=True, text=True, timeout=120)

    exact = 0
    for ns, key in keys:
        allowed = possible_sums(acked[(ns, key)], unsure[(ns, key)])
        for p in peers:
            r = final[(ns, key, p)]
            try:
                v = int(r)
            except (TypeError, ValueError):
                violations.append(f"{ns}/{key} through {p}: {r!r} (acked sum {acked[(ns, key)]})")
                continue
            if v not in allowed:
                violations.append(f"{ns}/{key} through {p}: {v}, but acknowledged sum {acked[(ns, key)]} "
                                  f"and unanswered {unsure[(ns, key)]} allow only {sorted(allowed)[:8]}...")
            if v == acked[(ns, key)]:
                exact += 1
        values = {final[(ns, key, p)] for p in peers}
        if len(values) > 1:
            violations.append(f"{ns}/{key}: peers disagree: {[final[(ns, key, p)] for p in peers]}")
    for ns, key in keys:
        log(f"{ns}/{key}: reads {final[(ns, key, peers[0])]!r}, acknowledged sum {acked[(ns, key)]}, "
            f"unanswered {len(unsure[(ns, key)])}")
    if violations:
        log("VIOLATIONS:")
        for v in violations:
            log(f"  {v}")
        return 1
    log(f"summary: {len(keys)} counters, {sent} increments, {sent - sum(errors.values())} acknowledged, "
        f"{sum(errors.values())} unanswered; {exact} of {len(keys) * len(peers)} reads exactly the acknowledged sum, "
        f"the others the sum plus some unanswered ones; every peer agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
