"""Node-wide queued-command bound over real sockets (issue 14, scripts/suites/queued.sh).

`load`: CONNS connections each pipeline PER SETs (each under the per-connection bound of
128) at a peer whose replicas are paused; /metrics is sampled while they wait, and every
sample of chorus_client_commands_queued must stay within BOUND. Then `resume` is the
caller's SIGCONT; every command must get a reply (OK, or a one-line -TIMEOUT/-UNAVAILABLE:
the replicas were paused), and a fresh client must be served. Plain sockets, bounded in
time."""
import socket, sys, time, urllib.request

host, http, bound, conns, per, pause_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]

def queued():
    text = urllib.request.urlopen(f"http://{http}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith("chorus_client_commands_queued "):
            return float(line.split()[1])
    raise SystemExit("queued: FAIL: no chorus_client_commands_queued in /metrics")

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

socks = []
for c in range(conns):
    s = socket.create_connection((host, 6380), timeout=60)
    s.sendall(b"".join(cmd("SET", f"q{c}:{i}", "v" * 100) for i in range(per)))
    socks.append(s)
samples = []
deadline = time.time() + 3
while time.time() < deadline:
    samples.append(queued())
    time.sleep(0.1)
print(f"queued: {conns}x{per} commands sent; queued samples max={max(samples):.0f} bound={bound}", flush=True)
if max(samples) > bound:
    raise SystemExit(f"queued: FAIL: {max(samples):.0f} commands queued, over the bound {bound}")
if max(samples) < bound:
    raise SystemExit(f"queued: FAIL: only {max(samples):.0f} queued: the load did not reach the bound, the test shows nothing")
open(pause_file, "w").write("resume\n")  # the suite resumes the replicas now

def read_replies(s, n):
    buf, got, kinds = b"", 0, {}
    while got < n:
        while b"\r\n" in buf and got < n:
            line, buf = buf.split(b"\r\n", 1)
            kind = line.split(b" ")[0][:12].decode(errors="replace")
            kinds[kind] = kinds.get(kind, 0) + 1
            got += 1
        if got < n:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit(f"queued: FAIL: connection closed after {got} of {n} replies")
            buf += chunk
    return kinds

totals = {}
for s in socks:
    for k, v in read_replies(s, per).items():
        totals[k] = totals.get(k, 0) + v
    s.close()
print(f"queued: every command answered: {totals}", flush=True)
bad = {k: v for k, v in totals.items() if k not in ("+OK", "-TIMEOUT", "-UNAVAILABLE")}
if bad:
    raise SystemExit(f"queued: FAIL: unexpected replies {bad}")
s = socket.create_connection((host, 6380), timeout=10)
s.sendall(cmd("SET", "fresh", "x") + cmd("GET", "fresh"))
kinds = read_replies(s, 2)
if kinds.get("+OK") != 1:
    raise SystemExit(f"queued: FAIL: a fresh client was not served after the load: {kinds}")
print(f"queued: fresh client served; queued now {queued():.0f}", flush=True)
