#!/usr/bin/env python3
"""Hostile clients for scripts/suites/hostile.sh (issue 14). Standard library only.

Each scenario attacks a running peer over real sockets and checks that the peer answers
the attack as it should and that a canary client, connected before the attack, is still
served after it. Every wait is bounded. Exit code 0 = all checks held; 1 = a check failed
(the message says which).

usage: hostile_client.py SCENARIO --host H [--port P] [--password PW] [--pid PID] ...
"""
import argparse
import socket
import sys
import time


def fail(msg):
    print(f"hostile: FAIL: {msg}", flush=True)
    sys.exit(1)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, host, port, timeout=5.0, source=None):
        self.s = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _more(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-", b":"):
            return line.decode(errors="replace")
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._more()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return [self.reply() for _ in range(max(n, 0))]
        raise ValueError(f"bad reply line {line!r}")

    def cmd(self, *args):
        self.send(enc(*args))
        return self.reply()

    def closed_by_peer(self, wait=5.0):
        """True when the server closes this connection within `wait` seconds."""
        self.s.settimeout(0.2)
        end = time.time() + wait
        while time.time() < end:
            try:
                if not self.s.recv(65536):
                    return True
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def authed(a):
    c = Conn(a.host, a.port)
    if a.password:
        r = c.cmd("AUTH", a.password)
        if r != "+OK":
            fail(f"AUTH answered {r!r}")
    return c


def canary_ok(a, canary):
    try:
        r = canary.cmd("PING")
    except OSError as e:
        fail(f"the canary connection was dropped: {e}")
    if r != "+PONG":
        fail(f"canary PING answered {r!r}")
    fresh = authed(a)
    if fresh.cmd("PING") != "+PONG":
        fail("a fresh connection was not served")
    fresh.close()


def context(entries):
    """VERSIONS.md / RECORDS.md: 0x01, count varint, (idLen u8, id, counter varint)*, sorted by id."""
    def varint(v):
        out = b""
        while v >= 0x80:
            out += bytes([(v & 0x7F) | 0x80])
            v >>= 7
        return out + bytes([v])
    out = b"\x01" + varint(len(entries))
    for node, counter in sorted(entries, key=lambda e: e[0].encode()):
        b = node.encode()
        out += bytes([len(b)]) + b + varint(counter)
    return out


# --- scenarios ---------------------------------------------------------------------------

def frames(a):
    canary = authed(a)
    # Oversized bulk header: refused at the header, connection closed.
    c = authed(a)
    c.send(b"*2\r\n$4\r\nECHO\r\n$999999999999\r\n")
    r = c.reply()
    if not (isinstance(r, str) and r.startswith("-ERR")):
        fail(f"oversized bulk header answered {r!r}")
    if not c.closed_by_peer():
        fail("connection with an oversized bulk header left open")
    # A million-element (and a 2^31) array header, then silence or a close.
    for header in (b"*1000000\r\n", b"*2147483648\r\n", b"*1048576\r\n$3\r\nGET\r\n"):
        c = authed(a)
        c.send(header)
        time.sleep(0.2)
        c.close()
    # Truncated frames, closed abruptly, many times.
    for i in range(200):
        c = Conn(a.host, a.port)
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\npartial" if i % 2 else b"*3\r\n$3\r\nSE")
        c.close()
    # Garbage.
    c = authed(a)
    c.send(b"\x00\xff*-5\r\n$-7\r\n")
    try:
        r = c.reply()
    except (ConnectionError, OSError):
        r = None
    if r is not None and not str(r).startswith("-ERR"):
        fail(f"garbage answered {r!r}")
    canary_ok(a, canary)
    print("hostile: frames ok (oversized and 2^31/10^6 array headers, 200 truncated frames, garbage)")


def preauth(a):
    canary = authed(a)
    c = Conn(a.host, a.port)
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n")
    try:
        c.send(b"x" * (256 << 10))
    except OSError:
        pass
    try:
        r = c.reply()
    except (ConnectionError, OSError):
        r = None
    if not (isinstance(r, str) and r.startswith("-NOAUTH")):
        fail(f"a 10 MB frame before AUTH answered {r!r}")
    if not c.closed_by_peer():
        fail("a 10 MB frame before AUTH did not close the connection")
    canary_ok(a, canary)
    print("hostile: pre-AUTH frame bounded (-NOAUTH, closed)")


def slow_readers(a):
    canary = authed(a)
    w = authed(a)
    value = b"v" * (100 << 10)
    if w.cmd("SET", "hostile:big", value) != "+OK":
        fail("SET of the big value")
    readers = []
    for _ in range(3):
        c = authed(a)
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.s.settimeout(0.5)
        batch = enc("GET", "hostile:big") * 3000
        try:
            c.send(batch)
        except (socket.timeout, OSError):
            pass  # the server stopped reading us: the point of the test
        readers.append(c)
    canary_ok(a, canary)
    closed = sum(1 for c in readers if c.closed_by_peer(wait=20))
    if closed != len(readers):
        fail(f"only {closed} of {len(readers)} clients that never read were disconnected")
    canary_ok(a, canary)
    print(f"hostile: {closed} slow readers disconnected past the reply byte limit; others served")


def idle(a):
    """Connections that never authenticate are closed after the AUTH deadline (10 s)."""
    canary = authed(a)
    conns = [Conn(a.host, a.port) for _ in range(a.count)]
    start = time.time()
    closed = sum(1 for c in conns if c.closed_by_peer(wait=max(0.5, 14 - (time.time() - start))))
    if closed != len(conns):
        fail(f"{len(conns) - closed} of {len(conns)} unauthenticated idle connections still open after 14 s")
    canary_ok(a, canary)
    print(f"hostile: {closed} idle unauthenticated connections closed by the AUTH deadline")


def flood(a):
    canary = authed(a)
    conns, refused = [], 0
    for _ in range(a.count):
        try:
            c = Conn(a.host, a.port, timeout=2)
        except OSError:
            refused += 1
            continue
        conns.append(c)
    # The ones past --max-clients get the Redis error and are closed.
    for c in conns:
        c.s.settimeout(0.05)
        try:
            data = c.s.recv(100)
            if data.startswith(b"-ERR max number of clients reached"):
                refused += 1
        except socket.timeout:
            pass
        except OSError:
            refused += 1
    if refused < a.count - a.max_clients:
        fail(f"{a.count} connections past --max-clients {a.max_clients}: only {refused} refused")
    try:
        r = canary.cmd("PING")
    except OSError as e:
        fail(f"canary dropped during the flood: {e}")
    if r != "+PONG":
        fail(f"canary answered {r!r} during the flood")
    for c in conns:
        c.close()
    time.sleep(0.5)
    canary_ok(a, canary)
    print(f"hostile: flood of {a.count} connections: {refused} refused with the max-clients error; canary served")


def forged(a):
    canary = authed(a)
    c = authed(a)
    forged_reply = c.cmd("PUTV", "hostile:forged", context([(a.victim, 2**64 - 1)]), "forged")
    if not (forged_reply == "+OK" or (isinstance(forged_reply, str) and forged_reply.startswith("-ERR bad context"))):
        fail(f"forged PUTV answered {forged_reply!r}")
    big = context([(f"fake-{i:05d}", 1) for i in range(1025)])
    r = c.cmd("PUTV", "hostile:wide", big, "v")
    if r != "-ERR bad context: 1025 entries (max 1024)":
        fail(f"1025-entry context answered {r!r}")
    r = c.cmd("PUTV", "hostile:wide", context([(f"fake-{i:05d}", 1) for i in range(1024)]), "v")
    if r != "+OK":
        fail(f"1024-entry context answered {r!r}")
    g = c.cmd("GETV", "hostile:wide")
    if not isinstance(g, list) or len(g) != 2:
        fail(f"GETV of the key written with a 1024-entry context answered {g!r}")
    canary_ok(a, canary)
    print(f"hostile: forged context {{{a.victim}: 2^64-1}} answered {forged_reply!r}; 1025-entry context refused; keys stay readable")


def namespaces(a):
    canary = authed(a)
    c = authed(a)
    r = c.cmd("NS.CREATE", "n" * 300)
    if not (isinstance(r, str) and "namespace name too long" in r):
        fail(f"NS.CREATE with a 300-byte name answered {r!r}")
    created, refused = 0, None
    for i in range(260):
        r = c.cmd("NS.CREATE", f"h{i:03d}-" + "x" * 250)
        if r == "+OK":
            created += 1
        elif isinstance(r, str) and "too many namespaces" in r:
            refused = r
            break
        else:
            fail(f"NS.CREATE {i} answered {r!r}")
    if refused is None:
        fail(f"{created} namespaces of 255-byte names accepted, none refused")
    canary_ok(a, canary)
    print(f"hostile: {created} namespaces of 255-byte names created, then {refused!r}")


def peer_drip(a):
    """Strangers (no secret) drip bytes into the peer RPC port of --host from 127.0.0.9 while
    writes that must reach that peer (W all) go through --via: they keep being acknowledged."""
    import threading
    stop = threading.Event()
    opened = [0]

    def attacker():
        socks = []
        header = bytes([0x43, 0x52, 1, 1, 0, 1] + [0] * 12 + [4, 0, 0, 0] + [0] * 4)
        while not stop.is_set():
            while len(socks) < a.count and not stop.is_set():
                try:
                    s = socket.create_connection((a.host, a.peer_port), timeout=0.3, source_address=("127.0.0.9", 0))
                    s.setblocking(False)
                    socks.append([s, 0])
                    opened[0] += 1
                except OSError:
                    break
            for entry in list(socks):
                try:
                    entry[0].send(header[entry[1] % len(header):][:1])
                    entry[1] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    entry[0].close()
                    socks.remove(entry)
            time.sleep(0.2)
        for entry in socks:
            entry[0].close()

    t = threading.Thread(target=attacker, daemon=True)
    t.start()
    time.sleep(2)
    via = Conn(a.via, a.port)
    if a.password:
        via.cmd("AUTH", a.password)
    acked = 0
    for i in range(50):
        r = via.cmd("SET", f"hostile:drip{i}", "v", "W", "all", "TIMEOUT", "3000")
        if r == "+OK":
            acked += 1
    stop.set()
    t.join(timeout=10)
    if acked < 50:
        fail(f"only {acked} of 50 W=all writes acknowledged while strangers dripped into {a.host}'s peer port")
    print(f"hostile: {opened[0]} dripping peer-port connections from a stranger; 50 of 50 W=all writes acknowledged")


def writes(a):
    c = authed(a)
    for i in range(a.count):
        r = c.cmd("SET", f"hostile:after:{a.host}:{i}", "v")
        if r != "+OK":
            fail(f"SET through {a.host} answered {r!r}")
    print(f"hostile: {a.count} SETs through {a.host} acknowledged")


def rss(a):
    print(rss_kib(a.pid))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6380)
    p.add_argument("--password", default=None)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--max-clients", type=int, default=0)
    p.add_argument("--victim", default="")
    p.add_argument("--peer-port", type=int, default=7947)
    p.add_argument("--via", default="127.0.0.2")
    a = p.parse_args()
    scenarios = dict(frames=frames, preauth=preauth, slow_readers=slow_readers, idle=idle, flood=flood,
                     forged=forged, namespaces=namespaces, peer_drip=peer_drip, writes=writes, rss=rss)
    if a.scenario not in scenarios:
        fail(f"unknown scenario {a.scenario}")
    scenarios[a.scenario](a)


if __name__ == "__main__":
    main()
