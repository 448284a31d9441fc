#!/usr/bin/env python3
"""Workload and checker for scripts/partition-test.sh (python3 standard library only).

Runs concurrent RESP clients against live Chorus peers, cuts traffic between the peers'
loopback addresses with iptables while the workload runs, heals, runs anti-entropy
(`chorus -h HOST repair` on every peer), then checks three promises of SPEC section 6:

  1. no acknowledged write lost
  2. siblings hold every concurrent write
  3. replicas converge after healing

Must run inside the private network namespace the caller made (it calls iptables itself so
the cut and heal times are on the workload's clock). Every client connection leaves from
--client-addr (default 127.0.0.200), an address the cuts never name, so clients always
reach every peer; only peer-to-peer traffic is cut.

Workload (keys are per run; values are unique per write: "<writer>#<seq>"):
  unique   `SET u<i>:<n> ... W 2` through each peer i, one writer per peer, for the whole
           run, plus one writer on peer 1 in namespace `two` (N=2, W=2): while a primary is
           cut off, its writes reach W through a fallback with a hint (sloppy quorum).
  set      contended keys `c<s>:<j>` of scenario s: plain SET, one writer per side.
  rmw      contended keys `r<s>:<j>`: GETV, then PUTV with the context it returned
           (two writers on the majority side, one on the minority side).
Scenario 1 "isolate": the last peer is cut from all others (both directions). Its writers
  use R 1 / W 1 (a lone replica can only ack alone); the majority side uses the defaults.
  The SET writers pause over the cut until each side's failure detector has declared the
  other side dead (see Run.scenario for why), then write for --cut seconds.
Scenario 2 "bridge": peer 1 and the last peer are cut from each other only; the middle
  peer still sees both (a non-transitive partition). Everyone uses the defaults. With 3
  peers and N=3 there is no fallback: this exercises routing and quorums under disagreeing
  failure detectors, not sloppy quorum (namespace `two` is where sloppy quorum happens).
Contended writers stop just before each heal, so what they wrote during the cut is what
the checks look at. After the last heal: wait for hints to drain, `chorus repair` on every
peer, the convergence read (check 3), then `GETV key R all` of every key (checks 1, 2).

Definitions used by the checks (VERSIONS.md):
  A write w2 *covers* w1 when w2's context covered w1's dot. For PUTV this is observable:
  w2's context is the one GETV returned, and GETV returns the merged context, which covers
  every sibling it returned; so w2 covers every write whose value that GETV returned, and
  (transitively) everything those covered. A write may disappear only when a write that
  covers it is itself kept or covered in turn.
  For plain SET the context is the coordinator's own, which the client never sees; a SET
  w2 *may* cover w1 unless w2 provably could not have seen w1: w2 was acknowledged before
  w1 started, or (scenario 1) w1 and w2 were issued on opposite sides after the cut and w2
  was acknowledged before the heal. A write that failed (TIMEOUT, UNAVAILABLE) may still be
  applied, even after the heal (its bytes wait in TCP queues: observed), so a failed write
  may cover anything. Those explanations are counted and shown in the summary.

Checks:
  1 lost-ack  unique keys: an acked SET reads back (GETV R all) as exactly its value; a
              failed one reads back as nothing or its value. rmw keys: every acked PUTV
              is among the final siblings or covered by a write that is (closure). set
              keys: each writer's last acked SET is among the final siblings or may be
              covered (a chain of "may cover") by a write among them.
  2 siblings  scenario 1 set keys: the two sides' last acked SETs issued during the cut
              are concurrent: both must be siblings (a miss is reported as
              sibling-missing); rmw keys: a missing acked write concurrent with a kept
              write of the other side is reported as sibling-missing. Also: no sibling
              value that nobody wrote (phantom).
  3 converge  after repair, every peer is cut from every other peer at once (TCP reset, so
              nothing queued crosses later) and each key is read through each peer with
              `GETV key R 1 TIMEOUT 3000`: only the local replica can answer and read
              repair cannot travel. All primaries of a key (WHEREIS) must return the same
              context and siblings. If they differ, one more repair round is allowed.
  A read that keeps failing (R all, three retries) is a violation too: it proves nothing.
--selftest HISTORY re-checks a recorded run, then injects faults into its final state (a
lost unique write, a dropped cut-time sibling, an rmw key rolled back, a phantom value) and
fails unless each is reported: the checks can fail.
Exit status: 0 = no violation, 1 = violations, 2 = could not run (setup problem).
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time


# ---------------------------------------------------------------- RESP client

class Err(str):
    """An error reply (-...)."""


class Simple(str):
    """A simple string reply (+...)."""


class ConnError(Exception):
    pass


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    """A minimal RESP2 client over one TCP connection (binary safe, pipelining)."""

    def __init__(self, host, port, src, timeout=10.0, ns=None):
        self.host, self.port, self.src, self.timeout, self.ns = host, port, src, timeout, ns
        self.sock = None
        self.buf = b""

    def connect(self):
        self.close()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            if self.src:
                s.bind((self.src, 0))
            s.connect((self.host, self.port))
        except OSError as e:
            s.close()
            raise ConnError(f"connect {self.host}:{self.port}: {e}")
        self.sock, self.buf = s, b""
        if self.ns:
            r = self.call("NS.USE", self.ns)
            if isinstance(r, Err):
                raise ConnError(f"NS.USE {self.ns}: {r}")

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except OSError as e:  # includes socket.timeout
            raise ConnError(f"recv from {self.host}: {e}")
        if not chunk:
            raise ConnError(f"{self.host} closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Simple(rest.decode("utf-8", "replace"))
        if t == b"-":
            return Err(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnError(f"bad reply type {line[:20]!r}")

    def pipeline(self, commands):
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(b"".join(encode(c) for c in commands))
        except OSError as e:
            self.close()
            raise ConnError(f"send to {self.host}: {e}")
        try:
            return [self._reply() for _ in commands]
        except ConnError:
            self.close()
            raise

    def call(self, *args):
        return self.pipeline([list(args)])[0]


def error_kind(reply):
    """The first word of an error reply (UNAVAILABLE, TIMEOUT, ERR, ...)."""
    return str(reply).split(" ", 1)[0] if reply else "?"


# ---------------------------------------------------------------- history

class History:
    """Every attempted write, thread-safe. An op is a dict; see Writer.record."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.errors = {}

    def add(self, op):
        with self.lock:
            op["id"] = len(self.ops)
            self.ops.append(op)
            if not op["ok"]:
                k = op["err_kind"]
                self.errors[k] = self.errors.get(k, 0) + 1


class Writer(threading.Thread):
    """One client thread. kind: unique | set | rmw."""

    def __init__(self, run, name, kind, peer, keys=None, ns=None, side=None, scenario=0,
                 rw_opts=None, rate=None, seed=0):
        super().__init__(daemon=True, name=name)
        self.run_, self.wname, self.kind, self.peer = run, name, kind, peer
        self.keys, self.ns, self.side, self.scenario = keys, ns, side, scenario
        self.rw_opts = rw_opts or ([], [])
        self.rate = rate
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.pause = threading.Event()   # set: finish the current operation, then wait
        self.idle = threading.Event()    # set by the writer while it waits paused
        self.client = Client(run.peers[peer], run.port, run.client_addr, timeout=8.0, ns=ns)
        self.seq = 0

    def record(self, key, value, start, reply, read=None, read_ctx=None):
        ok = isinstance(reply, Simple) and reply == "OK"
        op = {"writer": self.wname, "kind": self.kind, "key": key, "ns": self.ns or "default",
              "value": value, "start": start, "end": time.time(), "ok": ok,
              "err_kind": None if ok else (error_kind(reply) if isinstance(reply, Err) else "CLIENT"),
              "err": None if ok else str(reply)[:200], "side": self.side, "scenario": self.scenario,
              "peer": self.peer}
        if read is not None:
            op["read"] = read
        self.run_.history.add(op)

    def do(self, *args):
        try:
            return self.client.call(*args)
        except ConnError as e:
            self.client.close()
            return Err(f"CLIENT {e}")

    def run(self):
        read_opts, write_opts = self.rw_opts
        while not self.stop.is_set():
            if self.pause.is_set():
                self.idle.set()
                time.sleep(0.02)
                continue
            self.idle.clear()
            t0 = time.time()
            self.seq += 1
            value = f"{self.wname}#{self.seq}"
            if self.kind == "unique":
                key = f"{self.wname}:{self.seq}"
                reply = self.do("SET", key, value, "W", "2", "TIMEOUT", "2000")
                self.record(key, value, t0, reply)
            elif self.kind == "set":
                key = self.rng.choice(self.keys)
                reply = self.do("SET", key, value, *write_opts, "TIMEOUT", "1500")
                self.record(key, value, t0, reply)
            else:
                key = self.rng.choice(self.keys)
                got = self.do("GETV", key, *read_opts, "TIMEOUT", "1500")
                if not isinstance(got, list) or not got:
                    with self.run_.history.lock:
                        k = "GETV " + error_kind(got)
                        self.run_.history.errors[k] = self.run_.history.errors.get(k, 0) + 1
                    time.sleep(0.05)
                    continue
                ctx, seen = got[0], [v.decode() for v in got[1:]]
                t1 = time.time()
                reply = self.do("PUTV", key, ctx, value, *write_opts, "TIMEOUT", "1500")
                self.record(key, value, t1, reply, read=seen)
            if isinstance(reply, Err):
                time.sleep(0.05)  # do not spin on a peer that refuses
            if self.rate:
                spare = 1.0 / self.rate - (time.time() - t0)
                if spare > 0:
                    time.sleep(spare)
        self.client.close()


# ---------------------------------------------------------------- the run

class Run:
    def __init__(self, a):
        self.a = a
        self.peers = a.peers.split(",")
        self.port = a.port
        self.client_addr = a.client_addr
        self.history = History()
        self.events = []  # (name, time)
        self.rng = random.Random(a.seed)
        self.log_lines = []

    def log(self, msg):
        line = f"partition-check: [{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)

    def event(self, name):
        self.events.append((name, time.time()))

    def t(self, name):
        for n, t in self.events:
            if n == name:
                return t
        return None

    # -- iptables
    def iptables(self, pairs, action, reset=False):
        """Cut (-A) or heal (-D) both directions of each pair. reset: TCP gets a RST at
        once (connections die and are re-made after the heal) instead of silent loss."""
        for x, y in pairs:
            for s, d in ((x, y), (y, x)):
                # With both directions cut, the RST a REJECT sends back would itself be
                # dropped by the reverse rule: let RSTs through.
                rules = ([["-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "ACCEPT"],
                          ["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"], ["-j", "DROP"]]
                         if reset else [["-j", "DROP"]])
                for rule in rules:
                    cmd = ["iptables", action, "INPUT", "-s", s, "-d", d] + rule
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    if r.returncode != 0:
                        raise SystemExit(f"partition-check: cannot run {' '.join(cmd)}: {r.stderr.strip()}")

    def pairs_isolating(self, lone):
        return [(self.peers[lone], p) for i, p in enumerate(self.peers) if i != lone]

    def all_pairs(self):
        return [(p, q) for i, p in enumerate(self.peers) for q in self.peers[i + 1:]]

    # -- cluster helpers
    def client(self, i, ns=None, timeout=15.0):
        c = Client(self.peers[i], self.port, self.client_addr, timeout=timeout, ns=ns)
        c.connect()
        return c

    def settled(self):
        """Every peer sees every peer alive and joined."""
        for i in range(len(self.peers)):
            try:
                c = self.client(i, timeout=3.0)
                members = c.call("MEMBERS")
                c.close()
            except ConnError:
                return False
            if not isinstance(members, list):
                return False
            alive = [m for m in members if isinstance(m, list) and len(m) >= 6
                     and m[3] == b"alive" and m[5] == b"joined"]
            if len(alive) != len(self.peers):
                return False
        return True

    def states(self, i):
        """{gossip address host: state} as peer i sees it, or None."""
        try:
            c = self.client(i, timeout=3.0)
            members = c.call("MEMBERS")
            c.close()
        except ConnError:
            return None
        if not isinstance(members, list):
            return None
        return {m[1].decode().split(":")[0]: m[3].decode() for m in members if isinstance(m, list) and len(m) >= 6}

    def wait_detected(self, lone, limit):
        """Until the lone peer sees every other peer dead and every other peer sees it dead."""
        t0 = time.time()
        while time.time() - t0 < limit:
            ok = True
            for i in range(len(self.peers)):
                st = self.states(i) or {}
                if i == lone:
                    ok &= all(st.get(p) == "dead" for j, p in enumerate(self.peers) if j != lone)
                else:
                    ok &= st.get(self.peers[lone]) == "dead"
            if ok:
                return time.time() - t0
            time.sleep(0.25)
        return None

    def wait_settled(self, limit):
        t0 = time.time()
        while time.time() - t0 < limit:
            if self.settled():
                return time.time() - t0
            time.sleep(0.5)
        return None

    def wait_rpc_ready(self, limit):
        """Until a GETV with R all coordinated by each peer answers (every peer-to-peer
        connection carries requests again), three times in a row; seconds taken or None."""
        t0, streak = time.time(), 0
        while time.time() - t0 < limit:
            ok = True
            for i in range(len(self.peers)):
                try:
                    c = self.client(i, timeout=5.0)
                    r = c.call("GETV", "probe", "R", "all", "TIMEOUT", "1000")
                    c.close()
                except ConnError:
                    r = None
                ok &= isinstance(r, list)
            streak = streak + 1 if ok else 0
            if streak >= 3:
                return time.time() - t0
            time.sleep(0.3)
        return None

    def info_field(self, i, field):
        try:
            c = self.client(i, timeout=5.0)
            text = c.call("INFO")
            c.close()
        except ConnError:
            return None
        if not isinstance(text, bytes):
            return None
        for line in text.decode().split("\r\n"):
            if line.startswith(field + ":"):
                return line.split(":", 1)[1]
        return None

    # -- workload
    def scenario(self, s, kind, lone, pre, cut, writers_cfg):
        ks = [f"c{s}:{j}" for j in range(self.a.contended)]
        kr = [f"r{s}:{j}" for j in range(self.a.contended)]
        ws = []
        for name, peer, side, rw in writers_cfg:
            if name.startswith("set"):
                ws.append(Writer(self, f"{name}.s{s}", "set", peer, keys=ks, side=side, scenario=s,
                                 rw_opts=rw, rate=self.a.rate, seed=self.rng.random()))
            else:
                ws.append(Writer(self, f"{name}.s{s}", "rmw", peer, keys=kr, side=side, scenario=s,
                                 rw_opts=rw, rate=self.a.rate, seed=self.rng.random()))
        for w in ws:
            w.start()
        time.sleep(pre)
        pairs = self.pairs_isolating(lone) if kind == "isolate" else [(self.peers[0], self.peers[lone])]
        # Plain SETs are routed to the key's first up primary. Until each side's failure
        # detector has declared the other side dead, a SET may be forwarded across the cut:
        # it times out, yet its bytes sit in the kernel's TCP queue and may be applied after
        # the heal, superseding later acknowledged writes (allowed: "may be partially
        # applied"), which would leave the SET checks nothing definite to hold. So in the
        # isolate scenario the SET writers pause over the cut until the detectors agree.
        setw = [w for w in ws if w.kind == "set"] if kind == "isolate" else []
        for w in setw:
            w.pause.set()
        for w in setw:
            w.idle.wait(5)
        self.iptables(pairs, "-A")
        self.event(f"cut{s}")
        self.log(f"scenario {s} ({kind}): cut {' '.join(f'{x}<->{y}' for x, y in pairs)}")
        if setw:
            took = self.wait_detected(lone, 30)
            self.log(f"scenario {s}: both sides see the other dead after "
                     f"{'%.1f s' % took if took is not None else 'NOT within 30 s'}; SET writers resume")
            self.event(f"detected{s}")
            for w in setw:
                w.pause.clear()
        time.sleep(cut)
        for w in ws:
            w.stop.set()
        for w in ws:
            w.join(12)
        self.event(f"stop{s}")
        self.iptables(pairs, "-D")
        self.event(f"heal{s}")
        took = self.wait_settled(60)
        ready = self.wait_rpc_ready(60)
        self.log(f"scenario {s}: healed; members all alive again after "
                 f"{'%.1f s' % took if took is not None else 'NOT within 60 s'}, "
                 f"reads with R all through every peer answer after "
                 f"{'%.1f s' % ready if ready is not None else 'NOT within 60 s'}")
        return took is not None

    def workload(self):
        n = len(self.peers)
        lone = n - 1
        c = self.client(0)
        r = c.call("NS.CREATE", "two", "N", "2", "W", "2")
        c.close()
        if isinstance(r, Err) and "exist" not in r.lower():
            raise SystemExit(f"partition-check: NS.CREATE two: {r}")
        time.sleep(1.0)
        uniques = [Writer(self, f"u{i + 1}", "unique", i, rate=self.a.rate, seed=self.rng.random())
                   for i in range(n)]
        uniques.append(Writer(self, "t1", "unique", 0, ns="two", rate=self.a.rate, seed=self.rng.random()))
        for w in uniques:
            w.start()
        self.event("start")
        q = ([], [])
        one = (["R", "1"], ["W", "1"])
        ok = self.scenario(1, "isolate", lone, self.a.pre, self.a.cut, [
            ("setA", 0, "A", q), ("setB", lone, "B", one),
            ("rmwA1", 0, "A", q), ("rmwA2", 1, "A", q), ("rmwB", lone, "B", one)])
        if self.a.bridge > 0:
            ok = self.scenario(2, "bridge", lone, self.a.pre, self.a.bridge, [
                ("setA", 0, "A", q), ("setB", lone, "B", q),
                ("rmwA", 0, "A", q), ("rmwM", 1, "M", q), ("rmwB", lone, "B", q)]) and ok
        time.sleep(self.a.post)
        for w in uniques:
            w.stop.set()
        for w in uniques:
            w.join(12)
        self.event("end")
        return ok

    # -- repair and reads
    def repair(self, budget=100.0):
        """`chorus repair` on every peer, within `budget` seconds in all (a wedged peer must
        not make the test unbounded: what is not repaired shows up as divergence)."""
        t0 = time.time()
        for i, p in enumerate(self.peers):
          for attempt in (1, 2):
            if time.time() - t0 > budget:
                self.log(f"repair on {p}: skipped, the repair budget of {budget:g} s is spent")
                break
            try:
                r = subprocess.run([self.a.bin, "-h", p, "repair"], capture_output=True, text=True, timeout=30)
                out = " ".join((r.stdout + " " + r.stderr).split())
                if r.returncode != 0:
                    out = f"exit {r.returncode}: {out}"
            except subprocess.TimeoutExpired:
                out = "timed out after 30 s"
            if not out.startswith("trees:") and "timed out" in out:
                # The CLI's client gives up after a fixed 10 s; a repair of many trees takes
                # longer (debug build, 5 peers). Send the same REPAIR with a longer wait.
                try:
                    c = self.client(i, timeout=max(5.0, min(60.0, budget - (time.time() - t0))))
                    r = c.call("REPAIR")
                    c.close()
                    out = f"(CLI: {out}; over RESP:) " + " ".join(
                        (r.decode() if isinstance(r, bytes) else str(r)).split())
                except ConnError as e:
                    out += f"; REPAIR over RESP: {e}"
            self.log(f"repair on {p}: {out[:200]}")
            if "trees:" in out and "failures:0" in out:
                break
        return time.time() - t0

    def keys(self):
        """(ns, key) of every key any write touched, in first-write order."""
        seen, out = set(), []
        for op in self.history.ops:
            k = (op["ns"], op["key"])
            if k not in seen:
                seen.add(k)
                out.append(k)
        return out

    def read_all(self, peer, keys, opts, ns_batches=500):
        """GETV of every key through one peer, pipelined: {(ns,key): reply}."""
        out = {}
        by_ns = {}
        for ns, key in keys:
            by_ns.setdefault(ns, []).append(key)
        for ns, ks in by_ns.items():
            c = Client(self.peers[peer], self.port, self.client_addr, timeout=30.0,
                       ns=None if ns == "default" else ns)
            failed = None
            for i in range(0, len(ks), ns_batches):
                chunk = ks[i:i + ns_batches]
                if failed is None:
                    try:
                        replies = c.pipeline([["GETV", k, *opts] for k in chunk])
                    except ConnError as e:
                        # A peer that does not answer in 30 s: every key left is unread
                        # (and reported), rather than the checker dying.
                        failed = Err(f"CLIENT no answer from {self.peers[peer]}: {e}")
                if failed is not None:
                    replies = [failed] * len(chunk)
                for k, r in zip(chunk, replies):
                    out[(ns, k)] = r
            c.close()
        return out

    def primaries(self, keys):
        """{(ns, key): the hosts of its primary replicas} (WHEREIS while all are up)."""
        out = {}
        by_ns = {}
        for ns, k in keys:
            by_ns.setdefault(ns, []).append(k)
        for ns, ks in by_ns.items():
            c = self.client(0, ns=None if ns == "default" else ns, timeout=30.0)
            for i in range(0, len(ks), 500):
                chunk = ks[i:i + 500]
                for k, r in zip(chunk, c.pipeline([["WHEREIS", k] for k in chunk])):
                    if isinstance(r, list):
                        out[(ns, k)] = {e[1].decode().split(":")[0] for e in r
                                        if isinstance(e, list) and len(e) >= 3 and e[2] == b"primary"}
            c.close()
        return out

    def convergence(self, keys):
        """Check 3: each peer's own copy of every key, read while every pair is cut."""
        prim = self.primaries(keys)
        pairs = self.all_pairs()
        # Reset rather than drop: a read's asks to the other replicas and its read repair
        # fail at once instead of waiting in TCP queues to be delivered after the heal.
        self.iptables(pairs, "-A", reset=True)
        views = {}
        try:
            time.sleep(0.3)
            for i, p in enumerate(self.peers):
                views[p] = self.read_all(i, keys, ["R", "1", "TIMEOUT", "3000"])
        finally:
            self.iptables(pairs, "-D", reset=True)
        bad = []
        for k in keys:
            holders = prim.get(k) or set(self.peers)
            seen = {}
            for p in self.peers:
                if p not in holders:
                    continue
                r = views[p].get(k)
                if isinstance(r, list) and r:
                    seen[p] = (r[0].hex(), tuple(sorted(v.decode("utf-8", "replace") for v in r[1:])))
                else:
                    seen[p] = ("error", str(r))
            if len(set(seen.values())) != 1:
                bad.append((k, seen))
        return bad


# ---------------------------------------------------------------- checks

def covered_closure(start_ids, covers):
    seen = set(start_ids)
    stack = list(start_ids)
    while stack:
        w = stack.pop()
        for c in covers.get(w, ()):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def check(run, final):
    ops = run.history.ops
    viol = []
    stats = {"unique_acked": 0, "unique_failed_present": 0, "keys_checked": 0,
             "contended_keys_with_siblings": 0, "excused_by_failed_write": 0,
             "concurrent_pairs_kept": 0}
    by_key = {}
    for op in ops:
        by_key.setdefault((op["ns"], op["key"]), []).append(op)
    cut1, heal1 = run.t("cut1"), run.t("heal1")
    excused = stats["excused"] = []

    for k, kops in by_key.items():
        stats["keys_checked"] += 1
        r = final.get(k)
        if not isinstance(r, list) or not r:
            viol.append(("read-failed", k, f"GETV R all answered {str(r)[:120]}"))
            continue
        values = [v.decode("utf-8", "replace") for v in r[1:]]
        fset = set(values)
        written = {op["value"] for op in kops}
        for v in fset - written:
            viol.append(("phantom", k, f"sibling {v!r} was never written"))
        kind = kops[0]["kind"]
        if kind == "unique":
            op = kops[0]
            if op["ok"]:
                stats["unique_acked"] += 1
                if values != [op["value"]]:
                    viol.append(("lost-ack", k, f"acked {op['value']!r} at {op['end']:.3f}; GETV R all -> {values}"))
            else:
                if values and values != [op["value"]]:
                    viol.append(("phantom", k, f"failed write {op['value']!r}; GETV R all -> {values}"))
                stats["unique_failed_present"] += bool(values)
            continue
        if len({op["side"] for op in kops if op["value"] in fset}) > 1:
            stats["contended_keys_with_siblings"] += 1
        byval = {op["value"]: op for op in kops}
        if kind == "rmw":
            covers = {op["id"]: [byval[v]["id"] for v in op.get("read", []) if v in byval] for op in kops}
            final_ids = [byval[v]["id"] for v in fset if v in byval]
            closure = covered_closure(final_ids, covers)
            for op in kops:
                if op["ok"] and op["id"] not in closure:
                    concurrent = [f for f in final_ids if op["id"] not in covered_closure([f], covers)]
                    other_side = any(byval_side != op["side"] for byval_side in
                                     (ops[f]["side"] for f in concurrent))
                    what = "sibling-missing" if other_side else "lost-ack"
                    viol.append((what, k, f"acked PUTV {op['value']!r} (side {op['side']}, "
                                          f"{op['start']:.3f}-{op['end']:.3f}) neither kept nor covered by a "
                                          f"kept write; GETV R all -> {values}"))
            continue
        # kind == "set": each writer's last acked SET.
        def may_cover(w2, w1):
            if w2["id"] == w1["id"]:
                return False
            if w2["ok"] and w2["end"] < w1["start"]:
                return False
            if (w1["scenario"] == 1 and w2["scenario"] == 1 and w1["side"] != w2["side"] and cut1
                    and w1["start"] > cut1 and w2["start"] > cut1 and w2["ok"] and heal1 and w2["end"] < heal1):
                return False
            return True
        last = {}
        for op in kops:
            if op["ok"]:
                last[op["writer"]] = op
        kept_last = [op for op in last.values() if op["value"] in fset]
        if (len(kept_last) == 2 and len({op["side"] for op in kept_last}) == 2
                and all(cut1 and op["start"] > cut1 for op in kept_last)):
            stats["concurrent_pairs_kept"] += 1
        for w, L in last.items():
            if L["value"] in fset:
                continue
            # Search a chain L -> w1 -> ... -> wk (each "may cover" the previous) ending in a kept write.
            frontier, seen, found, via_failed = [L], {L["id"]}, None, False
            while frontier and found is None:
                x = frontier.pop()
                for w2 in kops:
                    if w2["id"] in seen or not may_cover(w2, x):
                        continue
                    if w2["value"] in fset:
                        found = w2
                        break
                    seen.add(w2["id"])
                    frontier.append(w2)
            if found is not None:
                if not found["ok"] or len(seen) > 1:
                    stats["excused_by_failed_write"] += 1
                excused.append({"key": k, "last": L["value"], "kept": found["value"], "chain": len(seen)})
                continue
            concurrent_partner = [op for op in kept_last if op["side"] != L["side"]]
            what = "sibling-missing" if concurrent_partner else "lost-ack"
            viol.append((what, k, f"last acked SET of {w} {L['value']!r} (side {L['side']}, "
                                  f"{L['start']:.3f}-{L['end']:.3f}) is gone and no write that may have "
                                  f"seen it survives; GETV R all -> {values}"))
    return viol, stats


# ---------------------------------------------------------------- main

class Replay:
    """A finished run loaded from its history file (for --selftest)."""

    def __init__(self, h):
        self.events = [tuple(e) for e in h["events"]]
        self.history = History()
        self.history.ops = h["ops"]

    t = Run.t


def selftest(path):
    """Re-checks a recorded run, then breaks its final state in ways each check must catch."""
    with open(path) as f:
        h = json.load(f)
    run = Replay(h)
    final = {}
    for k, v in h["final"].items():
        ns, key = k.split("/", 1)
        final[(ns, key)] = [bytes.fromhex(x) for x in v] if isinstance(v, list) else Err(v)
    viol, stats = check(run, final)
    failures = []
    if viol:
        failures.append(f"the recorded run itself has {len(viol)} violations")
    ops = h["ops"]

    def expect(name, kind, mutate):
        f2 = {k: list(v) if isinstance(v, list) else v for k, v in final.items()}
        if not mutate(f2):
            print(f"partition-check: selftest {name}: nothing to mutate in this history (skipped)")
            return
        got = {v[0] for v in check(run, f2)[0]}
        status = "caught" if kind in got else "MISSED"
        print(f"partition-check: selftest {name}: expected {kind}, got {sorted(got)}: {status}")
        if kind not in got:
            failures.append(name)

    def drop_unique(f2):
        for op in ops:
            if op["kind"] == "unique" and op["ok"]:
                f2[(op["ns"], op["key"])] = [f2[(op["ns"], op["key"])][0]]
                return True
        return False

    acked = {op["value"].encode() for op in ops if op["ok"]}

    def drop_sibling(prefix):
        # Drop the last acknowledged sibling of a key that holds more than one.
        def m(f2):
            for (ns, key), v in f2.items():
                if key.startswith(prefix) and isinstance(v, list) and len(v) >= 3:
                    mine = [x for x in v[1:] if x in acked]
                    if mine:
                        f2[(ns, key)] = [x for x in v if x != mine[-1]]
                        return True
            return False
        return m

    def phantom(f2):
        k = next(iter(f2))
        f2[k] = list(f2[k]) + [b"nobody#wrote-this"]
        return True

    def stale_rmw(f2):
        # Replace an rmw key's siblings with an early acked value that later writes covered.
        for (ns, key), v in f2.items():
            if key.startswith("r1:") and isinstance(v, list):
                first = next((op for op in ops if op["key"] == key and op["ok"]), None)
                if first and first["value"].encode() not in v[1:]:
                    f2[(ns, key)] = [v[0], first["value"].encode()]
                    return True
        return False

    expect("lost unique write", "lost-ack", drop_unique)
    expect("one cut-time SET sibling dropped", "sibling-missing", drop_sibling("c1:"))
    expect("one rmw sibling dropped", "sibling-missing", drop_sibling("r1:"))
    expect("rmw key rolled back to an old value", "lost-ack", stale_rmw)
    expect("phantom value", "phantom", phantom)
    if failures:
        print(f"partition-check: selftest FAILED: {failures}")
        return 1
    print("partition-check: selftest OK: every injected fault was reported")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--selftest":
        return selftest(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", required=True, help="comma-separated peer addresses (client port --port)")
    ap.add_argument("--port", type=int, default=6380)
    ap.add_argument("--client-addr", default="127.0.0.200", help="source address of every client connection")
    ap.add_argument("--bin", required=True, help="the chorus binary (for `repair`)")
    ap.add_argument("--pre", type=float, default=3.0, help="seconds of workload before each cut")
    ap.add_argument("--cut", type=float, default=6.0,
                    help="seconds the last peer stays isolated after both sides saw the other dead (scenario 1)")
    ap.add_argument("--bridge", type=float, default=8.0, help="seconds of the 1<->last cut (scenario 2; 0 = skip)")
    ap.add_argument("--post", type=float, default=3.0, help="seconds of unique writes after the last heal")
    ap.add_argument("--contended", type=int, default=6, help="contended keys per kind and scenario")
    ap.add_argument("--rate", type=float, default=60.0, help="max operations per second per writer")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--history", default=None, help="write the history (JSON) here")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.randrange(1 << 30)
    run = Run(a)
    run.log(f"seed {a.seed}; peers {','.join(run.peers)}; pre {a.pre:g} s, cut {a.cut:g} s, "
            f"bridge {a.bridge:g} s, post {a.post:g} s")
    t_start = time.time()
    try:
        healed = run.workload()
    except ConnError as e:
        print(f"partition-check: setup failed: {e}")
        return 2
    ops = run.history.ops
    acked = sum(op["ok"] for op in ops)
    run.log(f"workload done: {len(ops)} writes attempted, {acked} acknowledged; errors by kind: "
            f"{json.dumps(run.history.errors, sort_keys=True)}")
    if not healed:
        run.log("warning: membership did not settle after a heal; checking anyway")

    # Hints first (they are part of how a cut-off replica catches up), then anti-entropy.
    t0 = time.time()
    pending = None
    while time.time() - t0 < 30:
        pending = [run.info_field(i, "hints_pending") for i in range(len(run.peers))]
        if all(p == "0" for p in pending):
            break
        time.sleep(0.5)
    run.log(f"hints pending per peer {pending} after {time.time() - t0:.1f} s")
    if not all(p == "0" for p in pending):
        run.log("warning: hints are not draining; a peer that neither delivers nor accepts hints "
                "may be wedged (look for threads blocked in the peer logs / a stack dump)")
    took = run.repair()
    time.sleep(1.0)
    keys = run.keys()
    bad = run.convergence(keys)
    rounds = 1
    if bad:
        run.log(f"after repair round 1: {len(bad)} keys differ between peers; settling and repairing again")
        run.wait_settled(30)
        run.repair()
        time.sleep(1.0)
        bad = run.convergence(keys)
        rounds = 2
    run.log(f"convergence: {len(keys)} keys read through each peer alone (repair took {took:.1f} s, "
            f"{rounds} round(s)); {len(bad)} differ")
    run.wait_settled(30)
    final = run.read_all(0, keys, ["R", "all", "TIMEOUT", "5000"])
    for attempt in range(3):
        # A failed read proves nothing either way: read it again, a few times, slowly.
        again = [k for k in keys if not isinstance(final.get(k), list)]
        if not again:
            break
        run.log(f"{len(again)} reads with R all failed (e.g. {str(final.get(again[0]))[:80]}); reading them again")
        time.sleep(2.0)
        final.update(run.read_all(attempt % len(run.peers), again, ["R", "all", "TIMEOUT", "5000"]))
    viol, stats = check(run, final)
    for k, seen in bad:
        viol.append(("diverged", k, "; ".join(f"{p}: ctx={v[0][:32]} siblings={list(v[1])}" for p, v in sorted(seen.items()))))

    if a.history:
        with open(a.history, "w") as f:
            json.dump({"seed": a.seed, "events": run.events, "ops": ops, "errors": run.history.errors,
                       "violations": viol, "excused": stats["excused"],
                       "final": {f"{k[0]}/{k[1]}": [x.hex() if isinstance(x, bytes) else str(x) for x in v]
                                 if isinstance(v, list) else str(v) for k, v in final.items()}}, f)
    kinds = {}
    for v in viol:
        kinds[v[0]] = kinds.get(v[0], 0) + 1
    print(f"partition-check: summary: {len(ops)} writes, {acked} acked, errors {json.dumps(run.history.errors, sort_keys=True)}; "
          f"{stats['keys_checked']} keys checked ({stats['unique_acked']} acked unique keys), "
          f"{stats['contended_keys_with_siblings']} contended keys hold siblings from both sides, "
          f"{stats['concurrent_pairs_kept']} cut-time SET pairs kept as siblings, "
          f"{stats['excused_by_failed_write']} last SETs explained only by a failed or cross-side write; "
          f"{time.time() - t_start:.0f} s")
    for e in stats["excused"][:3]:
        print(f"partition-check: e.g. {e['key'][1]}: last acked SET {e['last']!r} gone, may be covered "
              f"(chain of {e['chain']}) by kept {e['kept']!r}")
    if viol:
        print(f"partition-check: {len(viol)} VIOLATIONS {json.dumps(kinds, sort_keys=True)} (seed {a.seed}); examples:")
        shown = {}
        for what, k, detail in viol:
            shown[what] = shown.get(what, 0) + 1
            if shown[what] <= 5:
                print(f"  {what} {k[0]}/{k[1]}: {detail}")
        return 1
    print(f"partition-check: OK: no acknowledged write lost, every concurrent write kept, replicas converged")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConnError as e:
        # After the workload, every peer must answer: one that does not is a failure.
        print(f"partition-check: 1 VIOLATIONS {{\"unresponsive\": 1}}: a peer stopped answering: {e}")
        sys.exit(1)
