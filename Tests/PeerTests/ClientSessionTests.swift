import Dispatch
import Foundation
import Ring
import Storage
import XCTest
@testable import Peer

/// Connection setup and the RESP3 shapes through a real RESP server and ClientCommands over
/// three in-memory engines: HELLO (versions, AUTH, SETNAME, NOAUTH), CLIENT, SELECT, COMMAND,
/// CONFIG GET, INFO, the transaction refusal, unknown commands, and every reply of a
/// connection switching protocol in the middle of a pipeline.
final class ClientSessionTests: XCTestCase {
    var network = ScanSimNetwork()
    var engines: [String: NodeEngine] = [:]
    let ids = ["n1", "n2", "n3"]

    override func setUp() {
        network = ScanSimNetwork()
        engines = [:]
        let ring = try! Claim.initial(partitionCount: 16, members: ids, targetN: 3)
        for id in ids {
            var options = StorageOptions()
            options.fileSystem = MemoryFileSystem()
            let store = try! Store.open(path: "/\(id)", options: options)
            let replica = try! LocalReplica(store: store, nodeID: NodeID(id)!)
            let view = ClusterView(localID: id)
            view.adopt(ring: ring)
            var limits = NodeEngine.Limits()
            limits.defaultTimeoutMs = 2_000
            let engine = NodeEngine(nodeID: id, replica: replica, cluster: view, transport: ScanSimTransport(network: network, from: id),
                                    scheduler: DispatchNodeScheduler(), limits: limits)
            network.add(engine)
            engines[id] = engine
            for other in ids {
                view.update(member: .init(id: other, isUp: true, status: "alive", admin: "joined", incarnation: 1,
                                          clientAddress: "", gossipAddress: ""))
            }
        }
    }

    override func tearDown() {
        for e in engines.values {
            e.stop()
            try? e.replica.store.close()
        }
    }

    private func serve(requirePass: String? = nil) throws -> (RESPServer, RESPClient) {
        var settings = ClientSettings()
        settings.port = 6390
        let commands = ClientCommands(engine: engines["n1"]!, requirePass: requirePass, publishNamespaces: { _ in },
                                      info: { [("Server", [("chorus_version", "0.1.0")]), ("Cluster", [("members", "3")])] },
                                      settings: settings)
        let server = try startRESPServer(commands)
        let client = try connectRESP(server)
        addTeardownBlock { client.close() }
        return (server, client)
    }

    private func helloMap(_ value: RESPValue) -> [String: RESPValue]? {
        let entries: [(RESPValue, RESPValue)]
        switch value {
        case .map(let pairs): entries = pairs.map { ($0.key, $0.value) }
        case .array(let flat) where flat.count % 2 == 0: entries = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
        default: return nil
        }
        var out: [String: RESPValue] = [:]
        for (k, v) in entries { out[k.text ?? ""] = v }
        return out
    }

    func testHelloSwitchesProtocolAndAnswersRedisSevenMap() throws {
        let (_, c) = try serve()
        // HELLO without a version stays RESP2: the same fields as a flat array.
        let plain = try c.command("HELLO")
        guard case .array(let flat) = plain, flat.count == 14 else { return XCTFail("HELLO in RESP2: \(plain)") }
        XCTAssertEqual(try c.command("GET", "absent"), .nullBulk)
        let hello = try c.command("HELLO", "3")
        guard case .map(let pairs) = hello else { return XCTFail("HELLO 3 did not answer a map: \(hello)") }
        XCTAssertEqual(pairs.map { $0.key.text ?? "" }, ["server", "version", "proto", "id", "mode", "role", "modules"])
        let fields = try XCTUnwrap(helloMap(hello))
        XCTAssertEqual(fields["proto"], .integer(3))
        XCTAssertEqual(fields["mode"], .bulk("standalone"))
        XCTAssertEqual(fields["role"], .bulk("master"))
        XCTAssertEqual(fields["modules"], .array([]))
        guard case .integer(let id)? = fields["id"] else { return XCTFail("no id") }
        XCTAssertEqual(try c.command("CLIENT", "ID"), .integer(id))
        // After HELLO 3: nil is `_`, INFO a verbatim string, CONFIG GET a map.
        XCTAssertEqual(try c.command("GET", "absent"), .null)
        XCTAssertEqual(try c.command("MGET", "absent"), .array([.null]))
        XCTAssertEqual(try c.command("CLIENT", "GETNAME"), .null)
        guard case .verbatim("txt", let info) = try c.command("INFO") else { return XCTFail("INFO is not verbatim") }
        XCTAssertEqual(String(decoding: info, as: UTF8.self), "# Server\r\nchorus_version:0.1.0\r\n\r\n# Cluster\r\nmembers:3\r\n")
        guard case .verbatim("txt", let server) = try c.command("INFO", "SERVER") else { return XCTFail("INFO server") }
        XCTAssertEqual(String(decoding: server, as: UTF8.self), "# Server\r\nchorus_version:0.1.0\r\n")
        XCTAssertEqual(try c.command("CONFIG", "GET", "save", "appendonly"),
                       .map([RESPPair(.bulk("save"), .bulk("")), RESPPair(.bulk("appendonly"), .bulk("yes"))]))
        XCTAssertEqual(try c.command("CONFIG", "GET", "port"), .map([RESPPair(.bulk("port"), .bulk("6390"))]))
        XCTAssertEqual(try c.command("CONFIG", "GET", "nosuch"), .map([]))
        // Chorus's own commands: NS.INFO's name/value list is a map, the arrays stay arrays.
        guard case .map(let nsInfo) = try c.command("NS.INFO", "default") else { return XCTFail("NS.INFO in RESP3") }
        XCTAssertEqual(nsInfo.first, RESPPair(.bulk("name"), .bulk("default")))
        XCTAssertEqual(try c.command("GETV", "absent"), .array([.bulk([])]))
        guard case .array(let ring) = try c.command("RING"), ring.count == 3 else { return XCTFail("RING in RESP3") }
        guard case .array(let members) = try c.command("MEMBERS"), members.count == 3 else { return XCTFail("MEMBERS in RESP3") }
        // Back to RESP2.
        guard case .array = try c.command("HELLO", "2") else { return XCTFail("HELLO 2 did not answer RESP2") }
        XCTAssertEqual(try c.command("GET", "absent"), .nullBulk)
        XCTAssertEqual(try c.command("CONFIG", "GET", "save"), .array([.bulk("save"), .bulk("")]))
        guard case .array(let flatInfo) = try c.command("NS.INFO", "default"), flatInfo.count == 16 else { return XCTFail("NS.INFO in RESP2") }
        guard case .bulk = try c.command("INFO") else { return XCTFail("INFO in RESP2 is not a bulk string") }
    }

    func testHelloErrorsAreRedisTextsAndLeaveTheProtocolAlone() throws {
        let (_, c) = try serve()
        XCTAssertEqual(try c.command("HELLO", "4"), .error("NOPROTO unsupported protocol version"))
        XCTAssertEqual(try c.command("HELLO", "1"), .error("NOPROTO unsupported protocol version"))
        XCTAssertEqual(try c.command("HELLO", "abc"), .error("ERR Protocol version is not an integer or out of range"))
        XCTAssertEqual(try c.command("HELLO", "03"), .error("ERR Protocol version is not an integer or out of range"))
        XCTAssertEqual(try c.command("HELLO", "3", "BOGUS"), .error("ERR Syntax error in HELLO option 'BOGUS'"))
        XCTAssertEqual(try c.command("HELLO", "3", "AUTH", "default"), .error("ERR Syntax error in HELLO option 'AUTH'"))
        XCTAssertEqual(try c.command("HELLO", "3", "SETNAME"), .error("ERR Syntax error in HELLO option 'SETNAME'"))
        XCTAssertEqual(try c.command("HELLO", "3", "SETNAME", "a b"),
                       .error("ERR Client names cannot contain spaces, newlines or special characters."))
        XCTAssertEqual(try c.command("GET", "absent"), .nullBulk, "a refused HELLO must not switch to RESP3")
        // Without --requirepass the default user takes any password, as Redis's nopass user.
        guard case .map = try c.command("HELLO", "3", "AUTH", "default", "x", "SETNAME", "app") else { return XCTFail("HELLO AUTH") }
        XCTAssertEqual(try c.command("CLIENT", "GETNAME"), .bulk("app"))
    }

    func testHelloAuthWithRequirePass() throws {
        let (_, c) = try serve(requirePass: "secret")
        XCTAssertEqual(try c.command("GET", "k"), .error("NOAUTH Authentication required. Send AUTH with the password first"))
        guard case .error(let e) = try c.command("HELLO", "3"), e.hasPrefix("NOAUTH HELLO must be called with the client already authenticated") else {
            return XCTFail("HELLO without AUTH")
        }
        XCTAssertEqual(try c.command("HELLO", "3", "AUTH", "default", "wrong"),
                       .error("WRONGPASS invalid username-password pair or user is disabled."))
        XCTAssertEqual(try c.command("HELLO", "3", "AUTH", "alice", "secret"),
                       .error("WRONGPASS invalid username-password pair or user is disabled."))
        XCTAssertEqual(try c.command("GET", "k"), .error("NOAUTH Authentication required. Send AUTH with the password first"))
        guard case .map = try c.command("HELLO", "3", "AUTH", "default", "secret") else { return XCTFail("HELLO AUTH") }
        XCTAssertEqual(try c.command("GET", "absent"), .null)
        let (_, d) = try serve(requirePass: "secret")
        guard case .error = try d.command("HELLO", "3") else { return XCTFail("HELLO 3 without AUTH was accepted") }
        XCTAssertEqual(try d.command("AUTH", "default", "secret"), .ok)
        XCTAssertEqual(try d.command("GET", "absent"), .nullBulk, "an unauthenticated HELLO 3 must not have switched protocol")
        XCTAssertEqual(try d.command("AUTH", "wrong"), .error("WRONGPASS invalid username-password pair or user is disabled."))
    }

    func testClientSubcommands() throws {
        let (server, c) = try serve()
        XCTAssertEqual(try c.command("CLIENT", "SETNAME", "worker-1"), .ok)
        XCTAssertEqual(try c.command("CLIENT", "GETNAME"), .bulk("worker-1"))
        XCTAssertEqual(try c.command("CLIENT", "SETNAME", "bad name"),
                       .error("ERR Client names cannot contain spaces, newlines or special characters."))
        XCTAssertEqual(try c.command("CLIENT", "SETNAME", "a", "b"), .error("ERR wrong number of arguments for 'client|setname' command"))
        XCTAssertEqual(try c.command("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), .ok)
        XCTAssertEqual(try c.command("CLIENT", "SETINFO", "lib-ver", "8.1.0"), .ok)
        XCTAssertEqual(try c.command("CLIENT", "SETINFO", "foo", "bar"), .error("ERR Unrecognized option 'foo'"))
        XCTAssertEqual(try c.command("CLIENT", "SETINFO", "lib-name", "a b"),
                       .error("ERR lib-name cannot contain spaces, newlines or special characters."))
        XCTAssertEqual(try c.command("CLIENT", "ID", "x"), .error("ERR wrong number of arguments for 'client|id' command"))
        XCTAssertEqual(try c.command("CLIENT"), .error("ERR wrong number of arguments for 'client' command"))
        XCTAssertEqual(try c.command("CLIENT", "MAINT_NOTIFICATIONS", "ON"),
                       .error("ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."))
        guard case .integer(let id) = try c.command("CLIENT", "ID") else { return XCTFail("CLIENT ID") }
        guard let info = try c.command("CLIENT", "INFO").text else { return XCTFail("CLIENT INFO") }
        XCTAssertTrue(info.hasPrefix("id=\(id) addr=127.0.0.1:"), info)
        for field in ["name=worker-1", "laddr=127.0.0.1:6390", "db=0", "cmd=client", "resp=2", "lib-name=redis-py", "lib-ver=8.1.0"] {
            XCTAssertTrue(info.contains(" \(field) "), "\(field) missing from \(info)")
        }
        XCTAssertTrue(info.hasSuffix("\n"))
        let other = try connectRESP(server)
        defer { other.close() }
        XCTAssertEqual(try other.command("HELLO", "3").isNull, false)
        guard case .verbatim(_, let listBytes) = try other.command("CLIENT", "LIST") else { return XCTFail("CLIENT LIST in RESP3") }
        let lines = String(decoding: listBytes, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.contains { $0.hasPrefix("id=\(id) ") && $0.contains(" resp=2 ") })
        XCTAssertTrue(lines.contains { !$0.hasPrefix("id=\(id) ") && $0.contains(" resp=3 ") })
        guard let only = try c.command("CLIENT", "LIST", "ID", String(id)).text else { return XCTFail("CLIENT LIST ID") }
        XCTAssertEqual(only.split(separator: "\n").count, 1)
        XCTAssertEqual(try c.command("CLIENT", "LIST", "TYPE", "pubsub"), .bulk(""))
        XCTAssertEqual(try c.command("CLIENT", "LIST", "ID", "x"), .error("ERR Invalid client ID"))
        XCTAssertEqual(try c.command("CLIENT", "LIST", "TYPE", "bogus"), .error("ERR Unknown client type 'bogus'"))
        XCTAssertEqual(try c.command("CLIENT", "LIST", "BOGUS"), .error("ERR syntax error"))
        other.close()
        XCTAssertTrue(respWaitUntil {
            ((try? c.command("CLIENT", "LIST").text) ?? nil)?.split(separator: "\n").count == 1
        }, "a closed connection stays in CLIENT LIST")
    }

    func testSelectTransactionsAndUnknownCommands() throws {
        let (_, c) = try serve()
        XCTAssertEqual(try c.command("SELECT", "0"), .ok)
        guard case .error(let e) = try c.command("SELECT", "1"), e.hasPrefix("ERR DB index is out of range") else {
            return XCTFail("SELECT 1")
        }
        XCTAssertEqual(try c.command("SELECT", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(try c.command("SELECT"), .error("ERR wrong number of arguments for 'select' command"))
        let refusal = RESPValue.error("ERR transactions (MULTI/EXEC) are not supported: keys live on different replica sets; "
            + "send the commands as a plain pipeline (redis-py: pipeline(transaction=False))")
        for words in [["MULTI"], ["EXEC"], ["WATCH", "k"], ["DISCARD"], ["multi"]] {
            XCTAssertEqual(try c.command(words.map { Array($0.utf8) }), refusal, "\(words)")
        }
        // No transaction state: a command after MULTI runs at once, not QUEUED.
        XCTAssertEqual(try c.command("MULTI"), refusal)
        XCTAssertEqual(try c.command("SET", "after-multi", "1"), .ok)
        XCTAssertEqual(try c.command("GET", "after-multi"), .bulk("1"))
        XCTAssertEqual(try c.command("EXEC"), refusal)
        XCTAssertEqual(try c.command("PING"), .simple("PONG"))
        // Commands not built are unknown (not stubs), with SPEC section 5's text.
        for name in ["LPUSH", "HSET", "UNWATCH", "Foo"] {
            XCTAssertEqual(try c.command([Array(name.utf8), Array("k".utf8)]), .error("ERR unknown command '\(name)'"))
        }
        XCTAssertEqual(try c.command("SET", "k", "v", "BOGUS"), .error("ERR syntax unexpected argument 'BOGUS'; options are R, W, STRICT and TIMEOUT"))
    }

    func testCommandTableMatchesTheDispatcher() throws {
        let (_, c) = try serve()
        XCTAssertEqual(try c.command("COMMAND", "COUNT"), .integer(Int64(CommandTable.all.count)))
        guard case .array(let all) = try c.command("COMMAND") else { return XCTFail("COMMAND") }
        XCTAssertEqual(all.count, CommandTable.all.count)
        // Every command the table names is served (not unknown); the others are unknown.
        for spec in CommandTable.all where !["quit", "leave", "remove", "repair"].contains(spec.name) {
            let reply = try c.command([Array(spec.name.uppercased().utf8)])
            if case .error(let e) = reply { XCTAssertFalse(e.hasPrefix("ERR unknown command"), "\(spec.name): \(e)") }
        }
        guard case .array(let info) = try c.command("COMMAND", "INFO", "get", "nosuch") else { return XCTFail("COMMAND INFO") }
        XCTAssertEqual(info.count, 2)
        XCTAssertEqual(info[1], .nullArray)
        guard case .array(let get) = info[0], get.count == 10 else { return XCTFail("COMMAND INFO get: \(info[0])") }
        XCTAssertEqual(get[0], .bulk("get"))
        XCTAssertEqual(get[1], .integer(-2))
        XCTAssertEqual(get[2], .array([.simple("readonly"), .simple("fast")]))
        _ = try c.command("HELLO", "3")
        guard case .map(let docs) = try c.command("COMMAND", "DOCS", "get", "nosuch") else { return XCTFail("COMMAND DOCS in RESP3") }
        XCTAssertEqual(docs.map(\.key), [.bulk("get")])
        guard case .map(let fields) = docs[0].value else { return XCTFail("docs entry") }
        XCTAssertEqual(fields.map { $0.key.text ?? "" }, ["summary", "since", "group", "complexity"])
        guard case .array(let info3) = try c.command("COMMAND", "INFO", "set"), case .array(let set) = info3[0] else { return XCTFail("COMMAND INFO set") }
        XCTAssertEqual(set[2], .set([.simple("write"), .simple("denyoom")]))
        XCTAssertEqual(try c.command("COMMAND", "COUNT", "x"), .error("ERR wrong number of arguments for 'command|count' command"))
        XCTAssertEqual(try c.command("COMMAND", "FOO"), .error("ERR unknown subcommand 'FOO'. Try COMMAND HELP."))
        XCTAssertEqual(try c.command("CONFIG", "GET"), .error("ERR wrong number of arguments for 'config|get' command"))
        XCTAssertEqual(try c.command("CONFIG", "FOO"), .error("ERR unknown subcommand 'FOO'. Try CONFIG HELP."))
    }

    func testStringCommandsAndDBSize() throws {
        let (_, c) = try serve()
        XCTAssertEqual(try c.command("DBSIZE"), .integer(0))
        XCTAssertEqual(try c.command("SET", "s", "hello"), .ok)
        XCTAssertEqual(try c.command("MSET", "a", "1", "b", "22"), .ok)
        XCTAssertEqual(try c.command("STRLEN", "s"), .integer(5))
        XCTAssertEqual(try c.command("STRLEN", "absent", "R", "all"), .integer(0))
        XCTAssertEqual(try c.command("GETRANGE", "s", "1", "3"), .bulk("ell"))
        XCTAssertEqual(try c.command("GETRANGE", "s", "-3", "-1", "R", "one"), .bulk("llo"))
        XCTAssertEqual(try c.command("GETRANGE", "absent", "0", "1"), .bulk(""))
        XCTAssertEqual(try c.command("GETRANGE", "s", "+1", "2"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(try c.command("GETRANGE", "s", "0"), .error("ERR wrong number of arguments for 'getrange' command"))
        XCTAssertEqual(try c.command("TYPE", "s"), .simple("string"))
        XCTAssertEqual(try c.command("TYPE", "absent"), .simple("none"))
        XCTAssertEqual(try c.command("STRLEN", "s", "W", "2"), .error("ERR syntax W is not an option of STRLEN (it reads; use R)"))
        XCTAssertEqual(try c.command("TOUCH", "s", "absent", "a"), .integer(2))
        XCTAssertEqual(try c.command("DBSIZE"), .integer(3))
        XCTAssertEqual(try c.command("DBSIZE", "R", "all", "TIMEOUT", "3000"), .integer(3))
        XCTAssertEqual(try c.command("UNLINK", "a", "absent", "W", "all"), .integer(1))
        XCTAssertEqual(try c.command("EXISTS", "a"), .integer(0))
        XCTAssertEqual(try c.command("DBSIZE"), .integer(2))
        XCTAssertEqual(try c.command("DBSIZE", "W", "1"), .error("ERR syntax W is not an option of DBSIZE (it reads; use R)"))
    }

    func testAPipelineSwitchingProtocolGetsEachReplyInItsOwnProtocol() throws {
        let (_, c) = try serve()
        var batch: [UInt8] = []
        for words in [["GET", "absent"], ["HELLO", "3"], ["GET", "absent"], ["HELLO", "2"], ["GET", "absent"]] {
            RESPWriter.appendCommand(words.map { Array($0.utf8) }, to: &batch)
        }
        c.sendRaw(batch)
        try c.flush()
        XCTAssertEqual(try c.readReply(), .nullBulk)
        guard case .map = try c.readReply() else { return XCTFail("HELLO 3") }
        XCTAssertEqual(try c.readReply(), .null)
        guard case .array = try c.readReply() else { return XCTFail("HELLO 2") }
        XCTAssertEqual(try c.readReply(), .nullBulk)
    }

    func testPipelinedCommandsOnOneKeyRunInOrder() throws {
        let (_, c) = try serve()
        // Without per-key ordering these run concurrently: a GET could read before its SET,
        // and SETs could land in any order.
        var batch: [UInt8] = []
        for i in 0..<200 {
            RESPWriter.appendCommand([Array("SET".utf8), Array("order".utf8), Array("v\(i)".utf8)], to: &batch)
            RESPWriter.appendCommand([Array("GET".utf8), Array("order".utf8)], to: &batch)
            if i % 50 == 49 {
                RESPWriter.appendCommand([Array("DEL".utf8), Array("order".utf8)], to: &batch)
                RESPWriter.appendCommand([Array("EXISTS".utf8), Array("order".utf8)], to: &batch)
                RESPWriter.appendCommand([Array("DBSIZE".utf8)], to: &batch)
            }
        }
        c.sendRaw(batch)
        try c.flush()
        for i in 0..<200 {
            XCTAssertEqual(try c.readReply(), .ok)
            XCTAssertEqual(try c.readReply(), .bulk("v\(i)"), "GET after SET v\(i) in one pipeline")
            if i % 50 == 49 {
                XCTAssertEqual(try c.readReply(), .integer(1))
                XCTAssertEqual(try c.readReply(), .integer(0), "EXISTS after DEL in one pipeline")
                XCTAssertEqual(try c.readReply(), .integer(0), "DBSIZE after DEL in one pipeline")
            }
        }
        XCTAssertEqual(try c.command("GET", "order"), .nullBulk)
    }
}
