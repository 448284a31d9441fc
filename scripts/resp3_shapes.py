"""Reply shapes over a raw socket, compared with redis-server 7.0.15's (scripts/redis_py_check.py).

A shape is the reply's RESP type tree without the values: `%[$ $]` is a map of one bulk
string to a bulk string, `=` a verbatim string, `_` the RESP3 null, `*[*]` an array holding
one array (not looked into). GOLDEN was captured by running `shapes()` against a real
redis-server 7.0.15 (Debian 12) on a fresh database; Chorus must answer the same shape to
the same commands in the same order (HELLO 3 first, HELLO 2 near the end).
"""
import socket


def read_value(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ValueError(f"short line {line!r}")
    t, body = line[:1], line[1:-2]
    if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return (t.decode(), body)
    if t in (b"$", b"=", b"!"):
        n = int(body)
        if n < 0:
            return (t.decode() + "-1", None)
        data = f.read(n + 2)
        return (t.decode(), data[:-2])
    if t in (b"*", b"~", b">", b"%"):
        n = int(body)
        if n < 0:
            return (t.decode() + "-1", None)
        count = n * 2 if t == b"%" else n
        return (t.decode(), [read_value(f) for _ in range(count)])
    raise ValueError(f"type {t!r}")

def skeleton(v, depth):
    t, body = v
    if isinstance(body, list):
        if depth == 0:
            return t
        return t + "[" + " ".join(skeleton(x, depth - 1) for x in body) + "]"
    return t

CASES = [  # (command words, how deep the skeleton goes)
    (["HELLO", "3"], 1), (["GET", "absent:k"], 1), (["MGET", "absent:k", "absent:k"], 1),
    (["CONFIG", "GET", "save"], 1), (["CONFIG", "GET", "appendonly"], 1), (["CONFIG", "GET", "nosuch"], 1),
    (["INFO"], 1), (["INFO", "server"], 1), (["CLIENT", "INFO"], 1), (["CLIENT", "LIST"], 1),
    (["CLIENT", "GETNAME"], 1), (["CLIENT", "SETNAME", "x"], 1), (["CLIENT", "GETNAME"], 1), (["CLIENT", "ID"], 1),
    (["COMMAND", "COUNT"], 1), (["COMMAND", "DOCS", "get"], 1), (["COMMAND", "DOCS", "nosuch"], 1),
    (["COMMAND", "INFO", "get"], 1), (["SELECT", "0"], 1), (["PING"], 1), (["ECHO", "x"], 1),
    (["SET", "shape:k", "v"], 1), (["GET", "shape:k"], 1), (["STRLEN", "shape:k"], 1), (["GETRANGE", "shape:k", "0", "0"], 1),
    (["TYPE", "shape:k"], 1), (["TOUCH", "shape:k"], 1), (["EXISTS", "shape:k"], 1), (["UNLINK", "shape:k"], 1),
    (["DBSIZE"], 1), (["KEYS", "shape:*"], 1), (["SCAN", "0", "MATCH", "shape:*"], 1), (["HELLO", "2"], 1), (["GET", "absent:k"], 1),
    (["CONFIG", "GET", "save"], 1),
]

def shapes(host, port):
    s = socket.create_connection((host, port), timeout=10)
    f = s.makefile("rb")
    out = []
    for words, depth in CASES:
        s.sendall(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words))
        out.append((" ".join(words), skeleton(read_value(f), depth)))
    s.close()
    return out

GOLDEN = [  # redis-server 7.0.15
    ('HELLO 3', '%[$ $ $ $ $ : $ : $ $ $ $ $ *]'),
    ('GET absent:k', '_'),
    ('MGET absent:k absent:k', '*[_ _]'),
    ('CONFIG GET save', '%[$ $]'),
    ('CONFIG GET appendonly', '%[$ $]'),
    ('CONFIG GET nosuch', '%[]'),
    ('INFO', '='),
    ('INFO server', '='),
    ('CLIENT INFO', '='),
    ('CLIENT LIST', '='),
    ('CLIENT GETNAME', '_'),
    ('CLIENT SETNAME x', '+'),
    ('CLIENT GETNAME', '$'),
    ('CLIENT ID', ':'),
    ('COMMAND COUNT', ':'),
    ('COMMAND DOCS get', '%[$ %]'),
    ('COMMAND DOCS nosuch', '%[]'),
    ('COMMAND INFO get', '*[*]'),
    ('SELECT 0', '+'),
    ('PING', '+'),
    ('ECHO x', '$'),
    ('SET shape:k v', '+'),
    ('GET shape:k', '$'),
    ('STRLEN shape:k', ':'),
    ('GETRANGE shape:k 0 0', '$'),
    ('TYPE shape:k', '+'),
    ('TOUCH shape:k', ':'),
    ('EXISTS shape:k', ':'),
    ('UNLINK shape:k', ':'),
    ('DBSIZE', ':'),
    ('KEYS shape:*', '*[]'),
    ('SCAN 0 MATCH shape:*', '*[$ *]'),
    ('HELLO 2', '*[$ $ $ $ $ : $ : $ $ $ $ $ *]'),
    ('GET absent:k', '$-1'),
    ('CONFIG GET save', '*[$ $]'),
]


def compare(host, port=6380):
    """The (command, want, got) triples where Chorus's shape differs from Redis's."""
    got = shapes(host, port)
    if len(got) != len(GOLDEN) or any(c != g[0] for (c, _), g in zip(got, GOLDEN)):
        return [("CASES and GOLDEN disagree", len(GOLDEN), len(got))]
    return [(cmd, want, shape) for (cmd, want), (_, shape) in zip(GOLDEN, got) if want != shape]
