#!/usr/bin/env python3
"""The nemesis suite (issue 15): named fault scenarios against real `chorus serve` peers,
each checked for lost acknowledged writes, phantom values, sibling completeness,
resurrected deletes and convergence after healing. Run by scripts/nemesis-test.sh, which
makes the private network and mount namespace (`unshare -n -m`) and builds the clock shim.

Each scenario starts a fresh cluster (3 peers unless it says otherwise), runs a workload
through every peer, injects its fault while the workload runs, heals, then:
  1. waits until membership settles and hints drain (bounded), then reads every key through
     each of its primaries alone (partition_check's convergence read); until the copies agree
     it runs `chorus repair` on every peer and reads again (at most 3 rounds): the time from
     the heal to agreement is `converge_s`;
  2. reads every key with GETV R all and checks it (partition_check.check, nemesis_checks).
Workload: partition_check's unique, contended SET and GETV/PUTV writers, plus SET-then-DEL
keys (nemesis_checks), plus what a scenario adds (an lww sequence, timeout probes).
Figures per scenario (printed, and appended to --json as one object a line): operations
tried and acknowledged, lost, phantom, sibling-missing, resurrected, diverged, converge_s,
and the error rate on the majority side (operations through peers the fault did not touch,
started between the fault and the heal).

usage: nemesis.py --bin PATH --work DIR [--shim SO] [--scenario NAME]... [--soak MINUTES]
                  [--seed N] [--short] [--json FILE] [--list]
Exit: 0 = every scenario passed (an expected failure that failed counts as passed and is
reported XFAIL), 1 = a violation, 2 = could not run.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import partition_check as pc  # noqa: E402
from nemesis_checks import (DeleteWriter, LWWSequence, Ops, TimeoutProbe, check_deletes,  # noqa: E402
                            check_lww, check_probes)
from nemesis_cluster import Cluster  # noqa: E402


class Scenario:
    """known: {violation kind: why}: violations of only these kinds make the run KNOWN (a
    defect found, reported and not fixed yet) instead of FAIL; any other kind still fails."""

    def __init__(self, name, body, doc, peers=3, serve_args=(), xfail=None, known=None):
        self.name, self.body, self.doc, self.peers = name, body, doc, peers
        self.serve_args, self.xfail, self.known = list(serve_args), xfail, known or {}


class NRun(pc.Run):
    """partition_check's Run (writers, repair, convergence, reads) over the current peers."""

    def __init__(self, members, seed, binary, contended=4, rate=30.0):
        a = argparse.Namespace(peers=",".join(f"127.0.0.{i}" for i in members), port=6380,
                               client_addr="127.0.0.200", seed=seed, contended=contended, rate=rate, bin=binary)
        super().__init__(a)
        self.members = list(members)

    def set_members(self, members):
        self.members = list(members)
        self.peers = [f"127.0.0.{i}" for i in members]

    def log(self, msg):
        print(f"nemesis: [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Context:
    """One scenario's run: the cluster, the workload and what the fault reports."""

    def __init__(self, scenario, cl, run, rng, short):
        self.s, self.cl, self.run, self.rng, self.short = scenario, cl, run, rng, short
        self.writers = []
        self.deletes = Ops()
        self.lww = Ops()
        self.probes = Ops()
        self.extra_viol = []
        self.final_checks = []   # (keys, check(final) -> violations), run after convergence
        self.notes = []
        self.fault_start = self.heal = None
        self.majority = []   # peer numbers the fault did not touch

    # durations: the CI pass is short, the soak longer
    @property
    def pre(self):
        return 2.0 if self.short else 4.0

    @property
    def hold(self):
        return 4.0 if self.short else 10.0

    @property
    def post(self):
        return 1.0 if self.short else 3.0

    def idx(self, peer):
        return self.run.members.index(peer)

    def standard_writers(self, lone, lone_opts=([], []), on=None, contended=True):
        """Unique writers on every peer in `on` (default all), contended SET and PUTV on the
        first peer (side A) and on `lone` (side B) unless not `contended`, SET-then-DEL on
        the first peer and `lone`."""
        on = on or self.run.members
        first = on[0]
        q = ([], [])
        for p in on:
            self.writers.append(pc.Writer(self.run, f"{self.s.name}.u{p}", "unique", self.idx(p),
                                          rate=self.run.a.rate, seed=self.rng.random()))
        ks = [f"{self.s.name}.c:{j}" for j in range(self.run.a.contended)]
        kr = [f"{self.s.name}.r:{j}" for j in range(self.run.a.contended)]
        for name, p, side, opts in (("A", first, "A", q), ("B", lone, "B", lone_opts)) if contended else ():
            self.writers.append(pc.Writer(self.run, f"{self.s.name}.set{name}", "set", self.idx(p), keys=ks,
                                          side=side, rw_opts=opts, rate=self.run.a.rate, seed=self.rng.random()))
            self.writers.append(pc.Writer(self.run, f"{self.s.name}.rmw{name}", "rmw", self.idx(p), keys=kr,
                                          side=side, rw_opts=opts, rate=self.run.a.rate, seed=self.rng.random()))
        for p in sorted({first, lone}):
            self.writers.append(DeleteWriter(f"{self.s.name}.d{p}", f"127.0.0.{p}", self.idx(p), self.deletes))
        for w in self.writers:
            w.start()

    def add(self, thread):
        self.writers.append(thread)
        thread.start()
        return thread

    def stop_writers(self):
        for w in self.writers:
            w.stop.set()
        for w in self.writers:
            w.join(15)

    def fault(self, majority):
        self.fault_start = time.time()
        self.majority = list(majority)
        self.run.event("fault")

    def healed(self):
        self.heal = time.time()
        self.run.event("heal")

    def note(self, msg):
        self.notes.append(msg)
        self.run.log(f"{self.s.name}: {msg}")

    def must(self, what, took):
        if took is None:
            raise ScenarioError(what)
        return took

    def violation(self, kind, key, detail):
        self.extra_viol.append((kind, key, detail))


class ScenarioError(Exception):
    """The scenario could not do what it says (a wait ran out): a failure, not a violation."""


# ---------------------------------------------------------------- scenarios

def majority_minority(c):
    """Peer 3 cut off from peers 1 and 2 (both directions, iptables) under load; the
    minority side writes with R 1 / W 1 (partition_check scenario 1, with its sibling check:
    the two sides' last SETs of the cut must both be kept)."""
    run = c.run
    c.standard_writers(lone=3, on=[1, 2, 3], contended=False)
    c.fault([1, 2])
    one = (["R", "1"], ["W", "1"])
    run.scenario(1, "isolate", 2, c.pre, c.hold, [
        ("setA", 0, "A", ([], [])), ("setB", 2, "B", one),
        ("rmwA1", 0, "A", ([], [])), ("rmwA2", 1, "A", ([], [])), ("rmwB", 2, "B", one)])
    c.fault_start, c.heal = run.t("cut1"), run.t("heal1")


def bridge(c):
    """Peers 1 and 3 cut from each other only; peer 2 still sees both (partition_check
    scenario 2)."""
    run = c.run
    c.standard_writers(lone=3, on=[1, 2, 3], contended=False)
    c.fault([2])
    q = ([], [])
    run.scenario(2, "bridge", 2, c.pre, c.hold, [
        ("setA", 0, "A", q), ("setB", 2, "B", q), ("rmwA", 0, "A", q), ("rmwM", 1, "M", q), ("rmwB", 2, "B", q)])
    c.fault_start, c.heal = run.t("cut2"), run.t("heal2")


def one_way(c):
    """Everything peer 3 sends to peers 1 and 2 is dropped; what they send it arrives
    (iptables on one direction only): acks and answers from 3 vanish."""
    c.standard_writers(lone=3, lone_opts=(["R", "1"], ["W", "1"]))
    time.sleep(c.pre)
    c.fault([1, 2])
    c.cl.iptables([(3, 1), (3, 2)], "-A")
    time.sleep(c.hold)
    c.cl.iptables([(3, 1), (3, 2)], "-D")
    c.healed()
    time.sleep(c.post)


def kill_one(c):
    """kill -9 of peer 2 under load; restarted on the same data after the hold."""
    c.standard_writers(lone=2)
    time.sleep(c.pre)
    c.fault([1, 3])
    c.cl.kill9(2)
    time.sleep(c.hold)
    c.cl.start(2)
    c.must("peer 2 rejoined in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    c.healed()
    time.sleep(c.post)


def kill_all(c):
    """kill -9 of every peer at once under load, all restarted on their data: every
    acknowledged write was fsynced, so none may be missing."""
    c.standard_writers(lone=3)
    time.sleep(c.pre)
    c.fault([])
    for i in (1, 2, 3):
        c.cl.kill9(i)
    time.sleep(1.0)
    c.cl.start(1)
    time.sleep(0.5)
    c.cl.start(2)
    c.cl.start(3)
    c.must("the cluster settled again in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    c.healed()
    time.sleep(c.post)


def preload(c, n, via=1):
    """n unique keys through `via`, pipelined, recorded as unique writes (checked too)."""
    client = pc.Client(f"127.0.0.{via}", 6380, "127.0.0.200", timeout=30.0)
    cmds, keys = [], []
    for j in range(n):
        key, value = f"{c.s.name}.pre:{j}", f"{c.s.name}.pre#{j}" + "x" * 180
        cmds.append(["SET", key, value])
        keys.append((key, value))
    t0 = time.time()
    replies = []
    for i in range(0, n, 200):
        replies += client.pipeline(cmds[i:i + 200])
    client.close()
    for (key, value), r in zip(keys, replies):
        c.run.history.add({"writer": f"{c.s.name}.pre", "kind": "unique", "key": key, "ns": "default",
                           "value": value, "start": t0, "end": time.time(), "ok": isinstance(r, pc.Simple) and r == "OK",
                           "err_kind": None if r == "OK" else pc.error_kind(r), "err": None if r == "OK" else str(r),
                           "side": None, "scenario": 0, "peer": c.idx(via)})


def kill_handoff(c):
    """A 4th peer joins a loaded cluster (slow handoff); it is killed with -9 while its
    transfers run and restarted on its data; the transfers finish and nothing is lost."""
    preload(c, 1200)
    c.standard_writers(lone=2, on=[1, 2, 3])
    time.sleep(c.pre)
    c.fault([1, 2, 3])
    c.cl.start(4)
    c.must("a transfer to peer 4 running within 30 s", c.cl.wait("running", lambda: c.cl.handoffs_running(1), 30, 0.1))
    time.sleep(c.rng.uniform(0.2, 1.0))
    still = c.cl.handoffs_running(1)
    c.cl.kill9(4)
    c.note(f"peer 4 killed with transfers {'still running' if still else 'already done (too fast to hit)'}")
    time.sleep(1.0)
    c.cl.start(4)
    c.must("4 peers settled with every transfer done in 120 s",
           c.cl.wait("handoff", lambda: c.cl.settled([1, 2, 3, 4]) and c.cl.handoffs_done(1), 120, 0.5))
    c.run.set_members([1, 2, 3, 4])
    c.healed()
    time.sleep(c.post)


def kill_repair(c):
    """Peer 3 cut off while writes go on (anti-entropy off, no fallback for N=3 on 3 peers:
    only repair can bring it what it missed); after the heal `chorus repair` runs on peer 3
    and peer 3 is killed with -9 in the middle of it, restarted, and repaired again."""
    c.standard_writers(lone=3, lone_opts=(["R", "1"], ["W", "1"]))
    time.sleep(c.pre)
    c.fault([1, 2])
    rules = Cluster.both_ways([3], [1, 2])
    c.cl.iptables(rules, "-A")
    time.sleep(c.hold)
    c.cl.iptables(rules, "-D")
    c.must("membership settled after the heal in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    cli = subprocess.Popen([c.cl.bin, "-h", "127.0.0.3", "repair"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(c.rng.uniform(0.2, 0.8))
    running = cli.poll() is None
    c.cl.kill9(3)
    try:
        cli.kill()
    except ProcessLookupError:
        pass
    cli.wait(10)
    c.note(f"peer 3 killed {'during' if running else 'after (repair already finished)'} its repair")
    time.sleep(0.5)
    c.cl.start(3)
    c.must("peer 3 rejoined in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    c.healed()
    time.sleep(c.post)


def pause(c):
    """Peer 2 paused with SIGSTOP for 10 s under load (its clients' requests time out at the
    client), then resumed: it loses nothing, resurrects no delete, and what it did late for
    the timed-out requests is absent or a normal version or sibling."""
    c.standard_writers(lone=2)
    time.sleep(c.pre)
    c.fault([1, 3])
    c.cl.pause(2)
    time.sleep(10.0)
    c.cl.resume(2)
    c.healed()
    c.must("peer 2 alive again in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    time.sleep(c.post)


def disk_full(c):
    """Peer 3's data directory is a 16 MiB tmpfs; a filler file takes every free byte while
    writes go on, then is removed: peer 3 refuses writes while full and resumes by itself."""
    c.standard_writers(lone=3)
    time.sleep(c.pre)
    c.fault([1, 2])
    filler = os.path.join(c.cl.data(3), "filler")
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    took = c.cl.wait("full", lambda: c.cl.info_field(3, "write_status") == "err", 30, 0.2)
    c.must("peer 3's store reported the full disk in 30 s", took)
    c.note(f"peer 3 stopped writes {took:.1f} s after the disk filled: {c.cl.info_field(3, 'write_error')}")
    time.sleep(c.hold)
    os.remove(filler)
    c.healed()
    took = c.must("peer 3 accepted writes again within 15 s",
                  c.cl.wait("recovered", lambda: c.cl.info_field(3, "write_status") == "ok", 15, 0.1))
    c.note(f"peer 3 resumed writes {took:.2f} s after the space was freed")
    time.sleep(c.post)


def offset_of(cl, asked, peer):
    text = cl.call(asked, "INFO")
    if not isinstance(text, bytes):
        return None
    prefix = f"127.0.0.{peer}:7946:offset_ms="
    for line in text.decode().split("\r\n"):
        if line.startswith(prefix):
            try:
                return int(line[len(prefix):])
            except ValueError:
                return None
    return None


def clock_offset(c):
    """Peer 3's wall clock runs 2 s ahead (the LD_PRELOAD shim) for the whole run. An lww
    namespace is written one write at a time alternately through peers 1 and 3: peer 3 must
    refuse to coordinate (SPEC 6), so no later write is lost to its timestamps."""
    c.must("peer 1 measured peer 3's offset (~2000 ms) in 30 s",
           c.cl.wait("offset", lambda: abs((offset_of(c.cl, 1, 3) or 0) - 2000) < 200, 30, 0.5))
    r = c.cl.call(1, "NS.CREATE", "lww", "CONFLICT", "lww")
    if r != "OK" and "exist" not in str(r).lower():
        raise ScenarioError(f"NS.CREATE lww: {r}")
    c.must("namespace lww known to peer 3 in 20 s",
           c.cl.wait("ns", lambda: isinstance(c.cl.call(3, "NS.INFO", "lww"), list), 20, 0.5))
    c.fault([1, 2])
    c.standard_writers(lone=3)
    c.add(LWWSequence(f"{c.s.name}.l", ["127.0.0.1", "127.0.0.3"], "lww",
                      [f"{c.s.name}.l:{j}" for j in range(4)], c.lww))
    time.sleep(c.pre + c.hold)
    refused = sum(1 for o in c.lww.items if not o["ok"] and (o["err"] or "").startswith("ERR clock offset"))
    through3 = sum(1 for o in c.lww.items if o["via"] == 1)
    c.note(f"lww writes through peer 3: {through3}, refused with SPEC 6's clock error: {refused}")
    if through3 and refused == 0:
        c.violation("not-refused", "lww", "peer 3 (2 s ahead) never refused an lww write")
    c.cl.set_clock_offset(3, 0)
    c.healed()
    time.sleep(c.post)


def clock_jump(c):
    """Peer 2's wall clock steps forward 60 s, back 120 s, then forward to true time while
    peer 3 is paused and probes `SET W all TIMEOUT 1000` go through peer 2: timers run on
    the monotonic clock, so every TIMEOUT comes after ~1 s (none early, none stalled), peers
    1 and 2 never see each other as anything but alive, and writes through peer 2 go on."""
    c.standard_writers(lone=2)
    time.sleep(c.pre)
    c.fault([1])
    c.cl.pause(3)
    probe = c.add(TimeoutProbe(f"{c.s.name}.probe", "127.0.0.2", c.probes))
    seen = []

    def watch(seconds):
        t_end = time.time() + seconds
        while time.time() < t_end:
            for a, b in ((1, 2), (2, 1)):
                m = c.cl.members(a) or {}
                st = m.get(c.cl.gossip_id(b), ("?",))[0]
                if st != "alive":
                    seen.append((time.time(), a, b, st))
            time.sleep(0.3)

    watch(1.0)
    for offset in (60_000, -60_000, 0):
        c.cl.set_clock_offset(2, offset)
        c.note(f"peer 2's wall clock set to {offset:+d} ms")
        watch(2.5)
    probe.stop.set()
    probe.join(10)
    c.cl.resume(3)
    c.healed()
    for t, a, b, st in seen[:3]:
        c.violation("membership-flap", f"{a}->{b}", f"peer {a} saw peer {b} {st} at {t:.3f} during the clock jumps")
    for v in check_probes(c.probes.items, 1000):
        c.violation(*v)
    kinds = {}
    for o in c.probes.items:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    lat = sorted(o["latency"] for o in c.probes.items if o["kind"] == "TIMEOUT")
    c.note(f"probes: {kinds}; TIMEOUT latencies {lat[0] * 1000:.0f}..{lat[-1] * 1000:.0f} ms" if lat
           else f"probes: {kinds}")
    c.must("peers settled after the jumps in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    time.sleep(c.post)


def first_primary_keys(c, prefix, peer, count, limit=400):
    """`count` keys named prefix<j> whose first primary (WHEREIS order) is `peer`."""
    client = pc.Client("127.0.0.1", 6380, "127.0.0.200", timeout=10.0)
    names = [f"{prefix}{j}" for j in range(limit)]
    out = []
    for k, r in zip(names, client.pipeline([["WHEREIS", k] for k in names])):
        if isinstance(r, list) and r and isinstance(r[0], list) and len(r[0]) >= 2 \
                and r[0][1].decode().split(":")[0] == f"127.0.0.{peer}":
            out.append(k)
            if len(out) == count:
                break
    client.close()
    return out


def wipe_reuse(c):
    """Peer 3 killed with -9, its data directory wiped, restarted at the same address (so
    with the same node id) while writes go on through it. Sharpest check: keys whose first
    primary (coordinator) is peer 3, each written 15 times through it before the wipe and
    once after, one write at a time: the write after the wipe must be among the key's
    siblings at the end. A peer that hands out dots it already used (its counters restart
    from nothing) makes the others take the new write for one they already hold."""
    keys = first_primary_keys(c, f"{c.s.name}.w:", 3, 8)
    client3 = pc.Client("127.0.0.3", 6380, "127.0.0.200", timeout=10.0)
    for r in range(15):
        for k in keys:
            client3.call("SET", k, f"{k}#{r}")
    client3.close()
    c.standard_writers(lone=3)
    time.sleep(c.pre)
    c.fault([1, 2])
    c.cl.kill9(3)
    c.cl.wipe(3)
    c.cl.start(3)
    # The first writes go in as soon as peer 3 answers at all: the window before it has
    # heard from the others is where a reused counter would show.
    after, t0 = {}, time.time()
    pending = list(keys)
    while pending and time.time() - t0 < 30:
        k = pending[0]
        try:
            client3 = pc.Client("127.0.0.3", 6380, "127.0.0.200", timeout=5.0)
            r = client3.call("SET", k, f"{k}#after-wipe")
            client3.close()
        except pc.ConnError:
            r = None
        if isinstance(r, pc.Simple) and r == "OK":
            after[k] = f"{k}#after-wipe"
            pending.pop(0)
        else:
            time.sleep(0.02)
    c.note(f"first write through the wiped peer 3 acknowledged {time.time() - t0:.2f} s after its restart")
    c.must("peer 3 rejoined in 60 s", c.cl.wait_settled([1, 2, 3], 60))
    c.note(f"{len(after)} of {len(keys)} writes after the wipe acknowledged (keys peer 3 coordinates)")

    def check(final):
        viol = []
        for k, v in after.items():
            got = final.get(("default", k))
            vals = [x.decode() for x in got[1:]] if isinstance(got, list) else None
            if vals is None or v not in vals:
                viol.append(("lost-ack", k, f"write {v!r} through peer 3 after its data was wiped was acknowledged; "
                                            f"GETV R all -> {vals} (dot reuse)"))
        return viol
    c.final_checks.append((list(("default", k) for k in after), check))
    time.sleep(c.hold)
    c.healed()
    time.sleep(c.post)


def membership_partition(c):
    """Peer 3 cut off; while it is, peer 4 joins on the majority side and an operator removes
    peer 3 (`chorus remove`); then the cut heals. Writes go through peers 1 and 2 only (a
    removed peer's W=1 writes have no other copy: losing them is what removal means)."""
    c.standard_writers(lone=2, on=[1, 2])
    time.sleep(c.pre)
    c.fault([1, 2])
    rules = Cluster.both_ways([3], [1, 2, 4])
    c.cl.iptables(rules, "-A")
    c.must("peer 1 saw peer 3 dead in 30 s",
           c.cl.wait("dead", lambda: (c.cl.members(1) or {}).get(c.cl.gossip_id(3), ("?",))[0] == "dead", 30, 0.3))
    c.cl.start(4)
    c.must("peer 4 joined and took partitions in 60 s",
           c.cl.wait("join", lambda: ((c.cl.members(1) or {}).get(c.cl.gossip_id(4), ("", "", 0))[2] > 0
                                      and c.cl.handoffs_done(1)), 60, 0.5))
    r = subprocess.run([c.cl.bin, "-h", "127.0.0.1", "remove", c.cl.gossip_id(3)], capture_output=True, text=True, timeout=15)
    if not r.stdout.startswith("OK"):
        raise ScenarioError(f"chorus remove 127.0.0.3:7946: {r.stdout.strip()} {r.stderr.strip()}")
    c.must("the ring settled on peers 1, 2, 4 with every transfer done in 120 s",
           c.cl.wait("settle", lambda: c.cl.settled([1, 2, 4]) and c.cl.handoffs_done(1), 120, 0.5))
    c.cl.iptables(rules, "-D")
    c.healed()
    c.run.set_members([1, 2, 4])
    stopped = c.cl.wait("removed stops", lambda: not c.cl.alive(3), 20, 0.5)
    c.note("removed peer 3 " + (f"stopped itself {stopped:.1f} s after the heal" if stopped is not None
                                else "was still running 20 s after the heal"))
    time.sleep(c.post)


# Found by this suite and fixed: a write forwarded to a silent coordinating primary (paused,
# or cut off with packets dropped), failed over and acknowledged, then deleted, was applied
# late by the silent peer when it ran again and resurrected the key. Forwards now carry the
# time after which their sender may have given up, and a late coordinator refuses them
# (Sources/Peer/Coordinator/ForwardDeadline.swift, docs/FAULTS.md "Late forwards"), so a resurrected
# delete fails every scenario again.
#
# Found after that fix, not fixed (docs/FAULTS.md, "A blind write at a stand-in"): a DEL (no
# context) that fails over to a coordinator which had not yet received the acknowledged SET
# (W=2 was met by the other two) versions a tombstone concurrent with the SET, so the SET's
# value survives as a sibling (SPEC 3 allows siblings through failover). Reproduced on the
# simulation: LateForwardSimulationTests.testBlindDeleteFailedOverToAStaleCoordinatorKeepsTheSet
# (CHORUS_KNOWN_DEFECTS=1). Told apart by timing, a heuristic: the SET was acknowledged faster
# than any forward deadline, so no late copy of it from a hop deadline exists. A resurrection
# of a slower SET still fails.
# kill-one shows it too (first seen in session 11's CI, seed 25826): a SET acknowledged by
# peers 1 and 3 while peer 2 was down or dying, then a DEL of the key coordinated by peer 2,
# its first primary, once it was back and before hints or repair had brought it the SET.
STALE_DEL = {"resurrected-stale-del": "a DEL failed over to a coordinator that had not received the acknowledged "
                                      "SET does not supersede it (not fixed: a stand-in coordinates a write without "
                                      "a context from its own context only)"}
# Two copies of one write (docs/FAULTS.md): fixed; a record remembers the write ids it
# superseded (Sources/Peer/Versions/SupersededWrites.swift), so one-way no longer accepts it.

SCENARIOS = {s.name: s for s in [
    Scenario("majority-minority", majority_minority, majority_minority.__doc__, known=STALE_DEL),
    Scenario("bridge", bridge, bridge.__doc__, known=STALE_DEL),
    Scenario("one-way", one_way, one_way.__doc__, known=STALE_DEL),
    Scenario("kill-one", kill_one, kill_one.__doc__, known=STALE_DEL),
    Scenario("kill-all", kill_all, kill_all.__doc__),
    Scenario("kill-handoff", kill_handoff, kill_handoff.__doc__, serve_args=["--partitions", "64", "--handoff-rate", "40000"]),
    Scenario("kill-repair", kill_repair, kill_repair.__doc__, serve_args=["--anti-entropy-interval", "0"], known=STALE_DEL),
    Scenario("pause", pause, pause.__doc__, known=STALE_DEL),
    Scenario("disk-full", disk_full, disk_full.__doc__),
    Scenario("clock-offset", clock_offset, clock_offset.__doc__),
    Scenario("clock-jump", clock_jump, clock_jump.__doc__, known=STALE_DEL),
    Scenario("wipe-reuse", wipe_reuse, wipe_reuse.__doc__),
    Scenario("membership-partition", membership_partition, membership_partition.__doc__, serve_args=["--partitions", "64"], known=STALE_DEL),
]}


# ---------------------------------------------------------------- one scenario

def converge(c):
    """Reads every key through each primary alone until the copies agree, repairing between
    rounds; (seconds from the heal, rounds, disagreeing keys left)."""
    run = c.run
    run.wait_settled(30)
    t0 = time.time()
    while time.time() - t0 < 20:
        pending = [run.info_field(i, "hints_pending") for i in range(len(run.peers))]
        if all(p == "0" for p in pending):
            break
        time.sleep(0.3)
    keys = (run.keys() + [("default", d["key"]) for d in c.deletes.items]
            + sorted({("lww", o["key"]) for o in c.lww.items}))
    bad = []
    for rounds in (1, 2, 3):
        bad = run.convergence(keys)
        if not bad:
            return time.time() - (c.heal or t0), rounds, []
        run.log(f"{c.s.name}: {len(bad)} keys differ between replicas (round {rounds}); repairing")
        run.repair(budget=60)
        time.sleep(0.5)
    return None, 3, bad


def final_reads(run, keys):
    final = run.read_all(0, keys, ["R", "all", "TIMEOUT", "5000"])
    for attempt in range(3):
        again = [k for k in keys if not isinstance(final.get(k), list)]
        if not again:
            break
        time.sleep(1.5)
        final.update(run.read_all(attempt % len(run.peers), again, ["R", "all", "TIMEOUT", "5000"]))
    return final


def figures(c, viol, converge_s, rounds):
    ops = c.run.history.ops
    dels = c.deletes.items
    lww = c.lww.items
    tried = len(ops) + len(dels) + sum(1 for d in dels if d["del_ok"] is not None) + len(lww)
    acked = (sum(op["ok"] for op in ops) + sum(d["set_ok"] for d in dels) + sum(bool(d["del_ok"]) for d in dels)
             + sum(o["ok"] for o in lww))
    kinds = {}
    for v in viol:
        kinds[v[0]] = kinds.get(v[0], 0) + 1
    maj_idx = {c.idx(p) for p in c.majority if p in c.run.members}
    window = [(op["ok"]) for op in ops
              if op["peer"] in maj_idx and c.fault_start and c.heal and c.fault_start <= op["start"] <= c.heal]
    window += [d["set_ok"] for d in dels
               if d["peer"] in maj_idx and c.fault_start and c.heal and c.fault_start <= d["start"] <= c.heal]
    return {"scenario": c.s.name, "tried": tried, "acked": acked, "lost": kinds.get("lost-ack", 0),
            "phantom": kinds.get("phantom", 0), "sibling_missing": kinds.get("sibling-missing", 0),
            "resurrected": kinds.get("resurrected", 0), "diverged": kinds.get("diverged", 0),
            "other": {k: n for k, n in kinds.items() if k not in
                      ("lost-ack", "phantom", "sibling-missing", "resurrected", "diverged")},
            "converge_s": None if converge_s is None else round(converge_s, 2), "repair_rounds": rounds,
            "majority_ops": len(window), "majority_error_rate": round(1 - sum(window) / len(window), 4) if window else None,
            "fault_s": round(c.heal - c.fault_start, 1) if c.heal and c.fault_start else None,
            "notes": c.notes}


# A failed scenario's violation lines, printed again just before the final line: CI shows
# only a log's tail, and a failure's detail must survive that cut.
FAILURE_LINES = []


def run_scenario(s, args, seed, index):
    rng = random.Random(seed)
    work = os.path.join(args.work, f"{index:02d}-{s.name}")
    cl = Cluster(args.bin, work, shim=args.shim, serve_args=s.serve_args)
    t_start = time.time()
    print(f"nemesis: == {s.name} (seed {seed}): {' '.join(s.doc.split())}", flush=True)
    try:
        if s.name == "disk-full":
            cl.mount_tmpfs(3, 16)
        if s.name == "clock-offset":
            cl.set_clock_offset(3, 2000)
        if s.name == "clock-jump":
            cl.set_clock_offset(2, 0)
        cl.start(1)
        time.sleep(1.0)
        for i in range(2, s.peers + 1):
            cl.start(i)
        if cl.wait_settled(list(range(1, s.peers + 1)), 60) is None:
            raise ScenarioError(f"{s.peers} peers did not settle in 60 s")
        run = NRun(range(1, s.peers + 1), seed, args.bin)
        c = Context(s, cl, run, rng, args.short)
        try:
            s.body(c)
        finally:
            c.stop_writers()
        converge_s, rounds, bad = converge(c)
        keys = run.keys()
        final = final_reads(run, keys)
        viol, _ = pc.check(run, final)
        for k, seen in bad:
            viol.append(("diverged", k, "; ".join(f"{p}: siblings={list(v[1])}" for p, v in sorted(seen.items()))))
        dkeys = [("default", d["key"]) for d in c.deletes.items]
        dfinal = final_reads(run, dkeys)
        viol += check_deletes(c.deletes.items, {k: v for (_, k), v in dfinal.items()})
        if c.lww.items:
            lkeys = sorted({("lww", o["key"]) for o in c.lww.items})
            lfinal = final_reads(run, lkeys)
            viol += check_lww(c.lww.items, {k: v for (_, k), v in lfinal.items()})
        for fkeys, fcheck in c.final_checks:
            viol += fcheck(final_reads(run, fkeys))
        viol += c.extra_viol
        fig = figures(c, viol, converge_s, rounds)
    except ScenarioError as e:
        fig = {"scenario": s.name, "setup_failed": str(e)}
        viol = [("setup", s.name, str(e))]
    finally:
        cl.stop_all()
    fig["seed"] = seed
    fig["wall_s"] = round(time.time() - t_start, 1)
    passed = not viol
    known = bool(viol) and all(v[0] in s.known for v in viol)
    fig["result"] = "PASS" if passed else ("XFAIL" if s.xfail else ("KNOWN" if known else "FAIL"))
    if passed and s.xfail:
        fig["result"] = "XPASS"
    if "setup_failed" not in fig:
        print(f"nemesis: {s.name}: {fig['result']}: tried {fig['tried']}, acknowledged {fig['acked']}, lost {fig['lost']}, "
              f"phantom {fig['phantom']}, sibling-missing {fig['sibling_missing']}, resurrected {fig['resurrected']}, "
              f"diverged {fig['diverged']}, other {fig['other']}; converged {fig['converge_s']} s after the heal "
              f"({fig['repair_rounds']} read round(s)); majority-side error rate {fig['majority_error_rate']} "
              f"of {fig['majority_ops']}; {fig['wall_s']} s", flush=True)
    else:
        print(f"nemesis: {s.name}: {fig['result']}: {fig['setup_failed']} ({fig['wall_s']} s)", flush=True)
    if fig["result"] == "FAIL":
        kinds = collections.Counter(v[0] for v in viol)
        FAILURE_LINES.append(f"  {s.name} (seed {seed}): " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    shown = {}
    for what, k, detail in viol:
        shown[what] = shown.get(what, 0) + 1
        if shown[what] <= 4:
            print(f"  {what} {k}: {detail}", flush=True)
            if fig["result"] == "FAIL":
                FAILURE_LINES.append(f"  {s.name}: {what} {k}: {detail}")
    if fig["result"] == "XFAIL":
        print(f"nemesis: {s.name}: XFAIL: {s.xfail}", flush=True)
    if fig["result"] == "KNOWN":
        for kind in sorted({v[0] for v in viol}):
            print(f"nemesis: {s.name}: KNOWN defect ({kind}): {s.known[kind]}", flush=True)
    if fig["result"] == "XPASS":
        print(f"nemesis: {s.name}: XPASS: passed although marked expected-fail: {s.xfail}", flush=True)
    if fig["result"] in ("PASS", "XPASS", "XFAIL", "KNOWN") and "setup_failed" not in fig:
        subprocess.run(["rm", "-rf", work])
    else:
        print(f"nemesis: {s.name}: peer logs kept in {work}", flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(fig) + "\n")
    return fig["result"]


def main():
    ap = argparse.ArgumentParser(description="the nemesis suite")
    ap.add_argument("--bin")
    ap.add_argument("--work")
    ap.add_argument("--shim", help="clockshift.so (the clock scenarios)")
    ap.add_argument("--scenario", action="append", default=[], help="run this one (repeatable); default all")
    ap.add_argument("--soak", type=float, default=None, help="minutes: every scenario, in random order, repeatedly")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--short", action="store_true", help="short holds (the CI pass)")
    ap.add_argument("--json", help="append one JSON object of figures per scenario here")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for s in SCENARIOS.values():
            print(f"{s.name:22s} {' '.join(s.doc.split())}" + (f" [xfail: {s.xfail}]" if s.xfail else ""))
        return 0
    if not a.bin or not a.work:
        ap.error("--bin and --work are required")
    for n in a.scenario:
        if n not in SCENARIOS:
            print(f"nemesis: unknown scenario {n!r}; --list shows them")
            return 2
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    names = a.scenario or list(SCENARIOS)
    mode = f"soak {a.soak:g} min" if a.soak else "one pass"
    print(f"nemesis: seed {seed} ({mode}; replay the order and workload with --seed {seed})", flush=True)
    t_end = time.time() + a.soak * 60 if a.soak else None
    results, index = [], 0
    while True:
        order = list(names)
        if a.soak:
            rng.shuffle(order)
        for n in order:
            index += 1
            results.append((n, run_scenario(SCENARIOS[n], a, rng.randrange(1 << 30), index)))
            if t_end and time.time() >= t_end:
                break
        if not t_end or time.time() >= t_end:
            break
    failed = [n for n, r in results if r == "FAIL"]
    if FAILURE_LINES:
        print("nemesis: the failures again:\n" + "\n".join(FAILURE_LINES), flush=True)
    flagged = [f"{n} {r}" for n, r in results if r in ("XFAIL", "XPASS", "KNOWN")]
    print(f"nemesis: {len(results)} scenario runs, {len(results) - len(failed)} passed, {len(failed)} failed"
          + (f": {', '.join(failed)}" if failed else "") + (f"; flagged: {', '.join(flagged)}" if flagged else "")
          + f" (seed {seed})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
