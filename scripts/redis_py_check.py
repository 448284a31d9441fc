"""redis-py 8 with its default settings against a running Chorus cluster (scripts/suites/redis-py.sh).

Usage: redis_py_check.py HOST [HOST ...]   (every peer at HOST:6380)
       redis_py_check.py --password PW HOST  (a peer started with --requirepass PW: HELLO AUTH only)
Checks, through every peer: the RESP3 handshake redis-py 8 makes (HELLO 3, CLIENT SETINFO),
the reply shapes of a raw connection against redis-server's (resp3_shapes.py),
SET/GET/DEL/MGET/MSET/EXISTS/SCAN, STRLEN/GETRANGE/TYPE/TOUCH/UNLINK/DBSIZE/KEYS, the CLIENT
and CONFIG commands, INFO, a non-transactional pipeline of hundreds of commands,
decode_responses=True, scan_iter, the transactional pipeline's refusal as a ResponseError,
and Redis's error texts. Prints one line per check and exits 1 on the first failure.
"""
import sys

import redis

import resp3_shapes

REFUSAL = ("transactions (MULTI/EXEC) are not supported: keys live on different replica sets; "
           "send the commands as a plain pipeline (redis-py: pipeline(transaction=False))")


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def expect_error(call, text, what):
    try:
        call()
    except redis.ResponseError as e:
        check(text in str(e), f"{what}: error {str(e)!r} does not contain {text!r}")
        return str(e)
    raise Failure(f"{what}: no ResponseError")


def run(hosts):
    live = {}  # every key this checker wrote and did not delete, with its value

    for i, host in enumerate(hosts):
        tag = f"peer {host}"
        r = redis.Redis(host=host, port=6380)  # redis-py 8 defaults: RESP3 (HELLO 3), bytes
        check(r.ping() is True, f"{tag}: PING")
        info_line = r.client_info()
        check(str(info_line.get("resp")) == "3", f"{tag}: default connection speaks RESP3 ({info_line})")
        check(info_line.get("lib-name", "").startswith("redis-py"), f"{tag}: CLIENT SETINFO LIB-NAME was kept ({info_line})")
        meta = r.connection_pool.get_connection().handshake_metadata
        check(meta is not None and (meta.get(b"proto") == 3 or meta.get("proto") == 3), f"{tag}: HELLO map {meta}")
        print(f"{tag}: RESP3 handshake ok (HELLO map {sorted(k.decode() if isinstance(k, bytes) else k for k in meta)})")
        wrong = resp3_shapes.compare(host)
        check(not wrong, f"{tag}: reply shapes differ from redis-server 7.0.15's: {wrong}")
        print(f"{tag}: {len(resp3_shapes.GOLDEN)} reply shapes (RESP3 and RESP2) as redis-server 7.0.15's")

        # Strings and keys.
        check(r.set(f"k{i}", f"value{i}") is True, f"{tag}: SET")
        live[f"k{i}"] = f"value{i}"
        for key, value in live.items():
            check(r.get(key) == value.encode(), f"{tag}: GET {key}")
        check(r.get("absent") is None, f"{tag}: GET of an absent key is None")
        check(r.mset({f"m{i}a": "1", f"m{i}b": "22"}) is True, f"{tag}: MSET")
        live.update({f"m{i}a": "1", f"m{i}b": "22"})
        check(r.mget([f"m{i}a", "absent", f"m{i}b"]) == [b"1", None, b"22"], f"{tag}: MGET with a nil")
        check(r.exists(f"k{i}", "absent", f"m{i}a") == 2, f"{tag}: EXISTS")
        check(r.strlen(f"m{i}b") == 2 and r.strlen("absent") == 0, f"{tag}: STRLEN")
        check(r.getrange(f"k{i}", 1, 3) == b"alu" and r.getrange(f"k{i}", -2, -1) == f"e{i}".encode(),
              f"{tag}: GETRANGE")
        check(r.getrange("absent", 0, 5) == b"", f"{tag}: GETRANGE of an absent key")
        check(r.type(f"k{i}") == b"string" and r.type("absent") == b"none", f"{tag}: TYPE")
        check(r.touch(f"k{i}", "absent") == 1, f"{tag}: TOUCH")
        r.set(f"gone{i}", "x")
        check(r.unlink(f"gone{i}", "absent") == 1 and r.get(f"gone{i}") is None, f"{tag}: UNLINK")
        r.set(f"gone{i}", "x")
        check(r.delete(f"gone{i}") == 1 and r.exists(f"gone{i}") == 0, f"{tag}: DEL")
        print(f"{tag}: SET/GET/MGET/MSET/EXISTS/STRLEN/GETRANGE/TYPE/TOUCH/UNLINK/DEL ok")

        # A plain pipeline of hundreds of commands, replies in order.
        pipe = r.pipeline(transaction=False)
        for n in range(300):
            pipe.set(f"p{i}:{n}", f"v{n}")
        for n in range(300):
            pipe.get(f"p{i}:{n}")
        pipe.get("absent")
        pipe.execute_command("NOSUCHCOMMAND")
        results = pipe.execute(raise_on_error=False)
        def first_difference(got, want):
            return next(((n, g, w) for n, (g, w) in enumerate(zip(got, want)) if g != w), None)
        bad = first_difference(results[:300], [True] * 300)
        check(bad is None, f"{tag}: pipelined SETs: first difference (index, got, want) {bad}")
        bad = first_difference(results[300:600], [f"v{n}".encode() for n in range(300)])
        check(bad is None, f"{tag}: pipelined GETs in order: first difference (index, got, want) {bad}")
        check(results[600] is None, f"{tag}: pipelined GET nil")
        check(isinstance(results[601], redis.ResponseError) and "unknown command 'NOSUCHCOMMAND'" in str(results[601]),
              f"{tag}: pipelined unknown command {results[601]!r}")
        live.update({f"p{i}:{n}": f"v{n}" for n in range(300)})
        print(f"{tag}: pipeline(transaction=False) of 602 commands ok")

        # The transactional pipeline (redis-py's default) is refused; the connection stays usable.
        tx = r.pipeline()
        tx.set(f"tx{i}", "1")
        tx.get(f"tx{i}")
        text = expect_error(tx.execute, REFUSAL, f"{tag}: pipeline() (MULTI/EXEC)")
        live[f"tx{i}"] = "1"  # no transaction state: the commands between MULTI and EXEC ran
        for word in ("MULTI", "EXEC", "DISCARD"):
            expect_error(lambda: r.execute_command(word), REFUSAL, f"{tag}: {word}")
        expect_error(lambda: r.execute_command("WATCH", "k"), REFUSAL, f"{tag}: WATCH")
        check(r.ping() is True and r.get(f"k{i}") == f"value{i}".encode(), f"{tag}: connection usable after the refusals")
        print(f"{tag}: transactions refused ({text[:60]}...), connection usable")

        # Redis's error texts.
        expect_error(lambda: r.execute_command("LPUSH", "l", "x"), "unknown command 'LPUSH'", f"{tag}: LPUSH is not built")
        check(r.incr(f"ctr{i}") == 1 and r.incrby(f"ctr{i}", 41) == 42 and r.get(f"ctr{i}") == b"42", f"{tag}: INCR/INCRBY")
        live[f"ctr{i}"] = "42"
        expect_error(lambda: r.incr(f"k{i}"), "value is not an integer or out of range", f"{tag}: INCR of a non-integer")
        expect_error(lambda: r.execute_command("GET"), "wrong number of arguments for 'get' command", f"{tag}: GET arity")
        expect_error(lambda: r.getrange("k", "x", 1), "value is not an integer or out of range", f"{tag}: GETRANGE x")
        expect_error(lambda: r.execute_command("SELECT", 1), "DB index is out of range", f"{tag}: SELECT 1")
        check(r.execute_command("SELECT", 0) in (True, b"OK", "OK"), f"{tag}: SELECT 0")
        expect_error(lambda: r.execute_command("HELLO", 4), "unsupported protocol version", f"{tag}: HELLO 4")
        print(f"{tag}: error texts ok")

        # Connection and server introspection.
        check(r.client_setname(f"checker{i}") is True, f"{tag}: CLIENT SETNAME")
        name = r.client_getname()
        check(name in (f"checker{i}", f"checker{i}".encode()), f"{tag}: CLIENT GETNAME {name!r}")
        cid = r.client_id()
        check(isinstance(cid, int) and cid > 0, f"{tag}: CLIENT ID")
        listed = r.client_list()
        check(any(int(c["id"]) == cid and c["name"] == f"checker{i}" for c in listed), f"{tag}: CLIENT LIST has this connection")
        check(r.config_get("save") == {b"save": b""} or r.config_get("save") == {"save": ""}, f"{tag}: CONFIG GET save")
        cfg = r.config_get("appendonly")
        check(list(cfg.values()) in ([b"yes"], ["yes"]), f"{tag}: CONFIG GET appendonly {cfg}")
        check(len(r.config_get("*")) >= 8, f"{tag}: CONFIG GET *")
        info = r.info()
        check("chorus_version" in info and "members" in info, f"{tag}: INFO parsed to a dict ({list(info)[:5]})")
        check("members" not in r.info("server") and "chorus_version" in r.info("server"), f"{tag}: INFO server")
        check(r.command_count() >= 30, f"{tag}: COMMAND COUNT")
        docs = r.execute_command("COMMAND DOCS", "get")
        check(b"get" in docs or "get" in docs, f"{tag}: COMMAND DOCS get {docs}")
        getv = r.execute_command("GETV", f"k{i}")
        check(isinstance(getv, list) and getv[1:] == [f"value{i}".encode()], f"{tag}: GETV array {getv}")
        members = r.execute_command("MEMBERS")
        check(len(members) == len(hosts) and all(m[3] == b"alive" for m in members), f"{tag}: MEMBERS {members}")
        ring = r.execute_command("RING")
        check(isinstance(ring, list) and ring[1] == len(ring[2]), f"{tag}: RING")
        print(f"{tag}: CLIENT/CONFIG/INFO/COMMAND/GETV/MEMBERS/RING ok")

        # decode_responses=True and scan_iter over the whole namespace.
        d = redis.Redis(host=host, port=6380, decode_responses=True)
        check(d.get(f"k{i}") == f"value{i}" and d.mget([f"m{i}a", "absent"]) == ["1", None], f"{tag}: decode_responses GET/MGET")
        scanned = set(d.scan_iter(count=50))
        check(scanned == set(live), f"{tag}: scan_iter: missing {sorted(set(live) - scanned)[:5]}, extra {sorted(scanned - set(live))[:5]}")
        matched = set(d.scan_iter(match=f"p{i}:1?", count=20))
        check(matched == {f"p{i}:1{n}" for n in range(10)}, f"{tag}: scan_iter(match=) {sorted(matched)[:5]}")
        check(set(d.keys(f"m{i}*")) == {f"m{i}a", f"m{i}b"}, f"{tag}: KEYS pattern")
        check(d.dbsize() == len(live), f"{tag}: DBSIZE {d.dbsize()} != {len(live)} keys written")
        check(d.info()["chorus_version"], f"{tag}: decode_responses INFO")
        print(f"{tag}: decode_responses, scan_iter ({len(scanned)} keys), KEYS, DBSIZE ({len(live)}) ok")

        # RESP2 still works when asked for.
        r2 = redis.Redis(host=host, port=6380, protocol=2)
        check(str(r2.client_info().get("resp")) == "2" and r2.get("absent") is None and r2.get(f"k{i}") == f"value{i}".encode(),
              f"{tag}: protocol=2")
        check(r2.config_get("save") == {b"save": b""} or r2.config_get("save") == {"save": ""}, f"{tag}: RESP2 CONFIG GET")
        print(f"{tag}: protocol=2 ok")
        for c in (r, d, r2):
            c.close()


def run_with_password(host, password):
    """redis-py with a password logs in inside HELLO (HELLO 3 AUTH default <password>)."""
    r = redis.Redis(host=host, port=6380, password=password)
    check(r.ping() is True and str(r.client_info().get("resp")) == "3", f"peer {host}: HELLO 3 AUTH default <password>")
    r.close()
    for wrong in ("wrong", None):
        try:
            redis.Redis(host=host, port=6380, password=wrong).ping()
        except redis.AuthenticationError as e:
            print(f"peer {host}: password {wrong!r} refused: {type(e).__name__}: {e}")
            continue
        raise Failure(f"peer {host}: password {wrong!r} was accepted")
    print(f"peer {host}: --requirepass: HELLO AUTH ok")


def main():
    args = sys.argv[1:]
    password = None
    if len(args) >= 2 and args[0] == "--password":
        password, args = args[1], args[2:]
    hosts = args or ["127.0.0.1"]
    print(f"redis-py {redis.__version__} against {', '.join(hosts)}")
    try:
        if password is not None:
            for host in hosts:
                run_with_password(host, password)
        else:
            run(hosts)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    except Exception as e:  # a crash of the checker or a client error is a failure too
        import traceback
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
