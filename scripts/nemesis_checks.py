"""Writers and checks the nemesis suite adds to scripts/partition_check.py's (python3 standard
library only). partition_check.py's writers and `check` cover unique keys (no acknowledged
write lost, a failed write absent or its own value), contended SET and GETV/PUTV keys (every
acknowledged write kept as a sibling or covered by a kept one; no phantom value). Added here:

  deletes   SET then DEL of a key of its own: an acknowledged DEL stays deleted (a paused or
            restarted replica's old copy must not resurrect it); a key whose SET or DEL
            failed reads back as nothing or its own value.
  lww       one thread writes a few keys of an lww namespace strictly one write after the
            other, alternating between two peers: the final value must be the last
            acknowledged write's, or a failed write's (it may have been applied after all).
            An older acknowledged value winning is a lost write (what a clock running ahead
            does when nothing refuses it).
  probes    `SET probe W all TIMEOUT 1000` while a replica is paused: a TIMEOUT answer must
            come after about 1 s (not early: a timer fired by a forward wall-clock step) and
            every probe must be answered (not stalled by a backward step).
"""
import threading
import time

from partition_check import Client, ConnError, Err, Simple, error_kind


class Ops:
    """A thread-safe list of operation records (dicts)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, op):
        with self.lock:
            self.items.append(op)


class LoopWriter(threading.Thread):
    """A client thread running `step` until stopped, at most `rate` steps a second."""

    def __init__(self, name, host, ns=None, rate=40.0, timeout=8.0):
        super().__init__(daemon=True, name=name)
        self.wname, self.rate = name, rate
        self.client = Client(host, 6380, "127.0.0.200", timeout=timeout, ns=ns)
        self.stop = threading.Event()
        self.seq = 0

    def do(self, *args):
        try:
            return self.client.call(*args)
        except ConnError as e:
            self.client.close()
            return Err(f"CLIENT {e}")

    def run(self):
        while not self.stop.is_set():
            t0 = time.time()
            self.seq += 1
            if self.step() is False:
                time.sleep(0.05)
            spare = 1.0 / self.rate - (time.time() - t0)
            if spare > 0:
                time.sleep(spare)
        self.client.close()


def ok(reply):
    return isinstance(reply, Simple) and reply == "OK"


class DeleteWriter(LoopWriter):
    """SET k v, then DEL k once the SET was acknowledged; one key per step."""

    def __init__(self, name, host, peer_index, ops, rate=30.0):
        super().__init__(name, host, rate=rate)
        self.ops, self.peer = ops, peer_index

    def step(self):
        key, value = f"{self.wname}:{self.seq}", f"{self.wname}#{self.seq}"
        t0 = time.time()
        r = self.do("SET", key, value, "W", "2", "TIMEOUT", "2000")
        op = {"key": key, "value": value, "peer": self.peer, "start": t0, "set_ok": ok(r), "set_s": time.time() - t0,
              "set_err": None if ok(r) else str(r)[:120], "del_ok": None}
        if ok(r):
            d = self.do("DEL", key)
            op["del_ok"] = isinstance(d, int)
            op["del_err"] = None if op["del_ok"] else str(d)[:120]
        op["end"] = time.time()
        self.ops.add(op)
        return op["set_ok"] and op["del_ok"] is not False


class LWWSequence(threading.Thread):
    """Writes `keys` of namespace `ns` one write at a time, alternating between `hosts`."""

    def __init__(self, name, hosts, ns, keys, ops, rate=30.0):
        super().__init__(daemon=True, name=name)
        self.wname, self.ns, self.keys, self.ops, self.rate = name, ns, keys, ops, rate
        self.clients = [Client(h, 6380, "127.0.0.200", timeout=5.0, ns=ns) for h in hosts]
        self.stop = threading.Event()

    def run(self):
        seq = 0
        while not self.stop.is_set():
            t0 = time.time()
            seq += 1
            key = self.keys[seq % len(self.keys)]
            via = seq % len(self.clients)
            value = f"{self.wname}#{seq}"
            try:
                r = self.clients[via].call("SET", key, value, "TIMEOUT", "2000")
            except ConnError as e:
                self.clients[via].close()
                r = Err(f"CLIENT {e}")
            self.ops.add({"key": key, "value": value, "via": via, "start": t0, "end": time.time(),
                          "ok": ok(r), "err": None if ok(r) else str(r)[:160]})
            spare = 1.0 / self.rate - (time.time() - t0)
            if spare > 0:
                time.sleep(spare)
        for c in self.clients:
            c.close()


class TimeoutProbe(LoopWriter):
    """SET probe:<n> W all TIMEOUT `timeout_ms` through one peer while a replica is paused."""

    def __init__(self, name, host, ops, timeout_ms=1000):
        super().__init__(name, host, rate=3.0, timeout=6.0)
        self.ops, self.timeout_ms = ops, timeout_ms

    def step(self):
        t0 = time.time()
        r = self.do("SET", f"{self.wname}:{self.seq}", "x", "W", "all", "TIMEOUT", str(self.timeout_ms))
        self.ops.add({"start": t0, "latency": time.time() - t0, "reply": str(r)[:120],
                      "kind": "OK" if ok(r) else error_kind(r)})


def values_of(reply):
    return [v.decode("utf-8", "replace") for v in reply[1:]] if isinstance(reply, list) and reply else None


# PeerLatency's lowest forward deadline: a write answered sooner was never failed over.
FORWARD_DEADLINE_FLOOR_S = 0.050


def check_deletes(ops, final):
    """Violations (kind, key, detail) of the delete writers' keys; final: {key: GETV reply}."""
    viol = []
    for op in ops:
        got = values_of(final.get(op["key"]))
        if got is None:
            viol.append(("read-failed", op["key"], f"GETV R all answered {str(final.get(op['key']))[:100]}"))
        elif op["set_ok"] and op["del_ok"]:
            if got:
                # A SET acknowledged within the forward deadline's floor never failed over, so
                # no late copy of it can exist: the DEL (failed over to a coordinator that had
                # not received the SET) missed it (docs/FAULTS.md, "A blind write at a stand-in").
                set_s, del_s = op.get("set_s", 0), op.get("end", 0) - op.get("start", 0) - op.get("set_s", 0)
                kind = "resurrected-stale-del" if set_s < FORWARD_DEADLINE_FLOOR_S else "resurrected"
                viol.append((kind, op["key"], f"SET acknowledged after {set_s * 1000:.0f} ms, DEL acknowledged after "
                                              f"{del_s * 1000:.0f} ms, yet GETV R all -> {got}"))
        elif got not in ([], [op["value"]]):
            viol.append(("phantom", op["key"], f"wrote only {op['value']!r}; GETV R all -> {got}"))
    return viol


def check_lww(ops, final):
    """Violations of the lww sequence's keys (final: {key: GETV reply in its namespace})."""
    viol = []
    by_key = {}
    for op in sorted(ops, key=lambda o: o["start"]):
        by_key.setdefault(op["key"], []).append(op)
    for key, kops in by_key.items():
        got = values_of(final.get(key))
        if got is None:
            viol.append(("read-failed", key, f"GETV R all answered {str(final.get(key))[:100]}"))
            continue
        acked = [o for o in kops if o["ok"]]
        if not acked:
            continue
        last = acked[-1]
        allowed = {last["value"]} | {o["value"] for o in kops if not o["ok"]}
        if len(got) != 1 or got[0] not in allowed:
            older = {o["value"] for o in acked[:-1]}
            what = "lost-ack" if (not got or got[0] in older) else "phantom"
            viol.append((what, key, f"last acknowledged write {last['value']!r} (via peer index "
                                    f"{last['via']}, {last['start']:.3f}); GETV R all -> {got}"))
    return viol


def check_probes(ops, timeout_ms):
    """Violations of the timeout probes: early TIMEOUTs and unanswered probes."""
    viol = []
    for op in ops:
        if op["kind"] == "TIMEOUT" and op["latency"] < 0.8 * timeout_ms / 1000:
            viol.append(("timer-early", "probe", f"TIMEOUT after {op['latency'] * 1000:.0f} ms "
                                                 f"(TIMEOUT {timeout_ms}) at {op['start']:.3f}"))
        if op["kind"] == "CLIENT":
            viol.append(("timer-stalled", "probe", f"no answer in {op['latency']:.1f} s at {op['start']:.3f}: {op['reply']}"))
        elif op["latency"] > timeout_ms / 1000 + 2.0:
            viol.append(("timer-stalled", "probe", f"answered after {op['latency']:.1f} s (TIMEOUT {timeout_ms} ms)"))
    return viol
