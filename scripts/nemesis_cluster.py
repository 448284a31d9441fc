"""The peers of one nemesis scenario as real `chorus serve` processes (python3 standard
library only): start, kill -9, SIGSTOP/SIGCONT, wipe a data directory, shift a wall clock
through the project's LD_PRELOAD shim, cut links with iptables, and wait (bounded) for
membership and handoffs to settle. Used by scripts/nemesis.py inside the private network and
mount namespace scripts/nemesis-test.sh made. Every process is stopped by its PID.
"""
import os
import shutil
import signal
import subprocess
import time

from partition_check import Client, ConnError


class Cluster:
    """Peers 127.0.0.<i> on the default ports, data under `work`/n<i>."""

    def __init__(self, bin_path, work, shim=None, serve_args=(), log=print):
        self.bin, self.work, self.shim = bin_path, work, shim
        self.serve_args = list(serve_args)
        self.procs = {}          # i -> Popen
        self.clock_files = {}    # i -> offset file of the shim
        self.mounts = []
        self.log = log
        os.makedirs(work, exist_ok=True)

    def addr(self, i):
        return f"127.0.0.{i}"

    def gossip_id(self, i):
        return f"127.0.0.{i}:7946"

    def data(self, i):
        return os.path.join(self.work, f"n{i}")

    # -- processes
    def start(self, i, seed_from=1, clock_shift=False):
        """Starts peer i (seeded from peer `seed_from` unless it is peer 1 of a new cluster).
        clock_shift: under the clock shim, offset read from a file (set_clock_offset)."""
        args = [self.bin, "serve", "--host", self.addr(i), "--data", self.data(i)] + self.serve_args
        if i != seed_from or seed_from != 1 or self.procs:
            args += ["--seed", f"{self.addr(seed_from)}:7946"]
        env = dict(os.environ)
        if clock_shift or i in self.clock_files:
            if not self.shim:
                raise SystemExit("nemesis: the clock shim was not built")
            path = self.clock_files.setdefault(i, os.path.join(self.work, f"clock{i}"))
            if not os.path.exists(path):
                self.set_clock_offset(i, 0)
            env["LD_PRELOAD"] = self.shim
            env["CHORUS_CLOCK_OFFSET_FILE"] = path
        logf = open(os.path.join(self.work, f"n{i}.log"), "ab")
        self.procs[i] = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()

    def set_clock_offset(self, i, ms):
        """Peer i's wall clock runs `ms` ahead (negative: behind); takes effect within 50 ms."""
        path = self.clock_files.setdefault(i, os.path.join(self.work, f"clock{i}"))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{int(ms)}\n")
        os.replace(tmp, path)

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def kill9(self, i):
        p = self.procs.pop(i, None)
        if p is None:
            return
        try:
            p.send_signal(signal.SIGCONT)
            p.kill()
        except ProcessLookupError:
            pass
        p.wait(10)

    def pause(self, i):
        self.procs[i].send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.procs[i].send_signal(signal.SIGCONT)

    def wipe(self, i):
        """Removes peer i's whole data directory (the peer must be stopped)."""
        assert not self.alive(i)
        shutil.rmtree(self.data(i), ignore_errors=True)

    def mount_tmpfs(self, i, mib):
        """Peer i's data directory on a tmpfs of `mib` MiB (private mount namespace)."""
        d = self.data(i)
        os.makedirs(d, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", d], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"nemesis: cannot mount a tmpfs on {d}: {r.stderr.strip()}")
        self.mounts.append(d)

    def stop_all(self):
        for i in list(self.procs):
            self.kill9(i)
        subprocess.run(["iptables", "-F"], capture_output=True)
        for d in self.mounts:
            subprocess.run(["umount", d], capture_output=True)
        self.mounts = []

    # -- the network
    def iptables(self, rules, action):
        """rules: (source peer, destination peer) pairs; each drops what s sends to d."""
        for s, d in rules:
            cmd = ["iptables", action, "INPUT", "-s", self.addr(s), "-d", self.addr(d), "-j", "DROP"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"nemesis: cannot run {' '.join(cmd)}: {r.stderr.strip()}")

    @staticmethod
    def both_ways(a, b):
        return [(x, y) for x in a for y in b] + [(y, x) for x in a for y in b]

    # -- what peers say
    def call(self, i, *args, timeout=5.0):
        try:
            c = Client(self.addr(i), 6380, "127.0.0.200", timeout=timeout)
            c.connect()
            r = c.call(*args)
            c.close()
            return r
        except ConnError:
            return None

    def members(self, i):
        """{gossip id: (state, admin, partitions)} as peer i sees it, or None."""
        try:
            r = subprocess.run([self.bin, "-h", self.addr(i), "status"], capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        out = {}
        for line in r.stdout.splitlines()[2:]:
            f = line.split()
            if len(f) >= 5 and ":" in f[0] and f[4].isdigit():
                out[f[0]] = (f[2], f[3], int(f[4]))
        return out

    def status_text(self, i):
        try:
            r = subprocess.run([self.bin, "-h", self.addr(i), "status"], capture_output=True, text=True, timeout=10)
            return r.stdout
        except subprocess.TimeoutExpired:
            return ""

    def settled(self, peers):
        """Every peer in `peers` sees exactly them alive, joined and owning partitions."""
        want = {self.gossip_id(i) for i in peers}
        for i in peers:
            m = self.members(i)
            if m is None:
                return False
            owning = {k for k, (st, adm, parts) in m.items() if st == "alive" and adm == "joined" and parts > 0}
            if owning != want:
                return False
        return True

    def wait(self, what, condition, limit, every=0.25):
        """Seconds until `condition()` held, or None after `limit` seconds."""
        t0 = time.time()
        while time.time() - t0 < limit:
            if condition():
                return time.time() - t0
            time.sleep(every)
        return None

    def wait_settled(self, peers, limit=60):
        return self.wait("settled", lambda: self.settled(peers), limit, every=0.5)

    def handoffs_done(self, i):
        for line in self.status_text(i).splitlines():
            if line.startswith("handoffs: ") and line.rstrip().endswith(" 0 not done"):
                return True
        return False

    def handoffs_running(self, i):
        for line in self.status_text(i).splitlines():
            if line.startswith("handoffs: ") and not line.rstrip().endswith(" 0 not done"):
                return True
        return False

    def info_field(self, i, field):
        text = self.call(i, "INFO")
        if not isinstance(text, bytes):
            return None
        for line in text.decode().split("\r\n"):
            if line.startswith(field + ":"):
                return line.split(":", 1)[1]
        return None
