import Dispatch
import Foundation
import Ring
import Storage
import XCTest
@testable import Peer

/// INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT through a real RESP server and ClientCommands
/// over three in-memory engines (SPEC 3 and 5): replies, Redis's error texts, GET of a
/// counter, SET/DEL over one, INCR from a decimal string, and the quorum options.
final class CounterCommandsTests: XCTestCase {
    var network = ScanSimNetwork()
    var engines: [String: NodeEngine] = [:]
    let ids = ["n1", "n2", "n3"]

    override func setUpWithError() throws {
        network = ScanSimNetwork()
        engines = [:]
        let ring = try Claim.initial(partitionCount: 16, members: ids, targetN: 3)
        for id in ids {
            var options = StorageOptions()
            options.fileSystem = MemoryFileSystem()
            let store = try Store.open(path: "/\(id)", options: options)
            let replica = try LocalReplica(store: store, nodeID: NodeID(id)!)
            let view = ClusterView(localID: id)
            view.adopt(ring: ring)
            view.adopt(namespaces: try NamespaceTable().upserting(try Namespace(name: "fast", conflict: .lww)))
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

    private func client(_ node: String) throws -> RESPClient {
        let commands = ClientCommands(engine: engines[node]!, requirePass: nil, publishNamespaces: { _ in },
                                      info: { [("Server", [("chorus_version", "0.1.0")])] }, settings: ClientSettings())
        let server = try startRESPServer(commands)
        let c = try connectRESP(server)
        addTeardownBlock { c.close() }
        return c
    }

    func testCounterCommandsAnswerAsRedis() throws {
        let c = try client("n1"), d = try client("n3")
        for ns in ["default", "fast"] {
            XCTAssertEqual(try c.command("NS.USE", ns), .ok)
            XCTAssertEqual(try d.command("NS.USE", ns), .ok)
            XCTAssertEqual(try c.command("INCR", "k"), .integer(1), ns)
            XCTAssertEqual(try d.command("INCRBY", "k", "41"), .integer(42), ns)
            XCTAssertEqual(try c.command("DECR", "k", "W", "all"), .integer(41), ns)
            XCTAssertEqual(try d.command("DECRBY", "k", "50", "W", "2", "TIMEOUT", "3000"), .integer(-9), ns)
            XCTAssertEqual(try c.command("GET", "k", "R", "all"), .bulk("-9"), "GET of a counter is its decimal value (\(ns))")
            XCTAssertEqual(try d.command("TYPE", "k"), .simple("string"))
            // A SET replaces the counter; INCR starts from a decimal value.
            XCTAssertEqual(try c.command("SET", "k", "100"), .ok)
            XCTAssertEqual(try d.command("INCR", "k"), .integer(101), ns)
            XCTAssertEqual(try c.command("SET", "plain", "-7"), .ok)
            XCTAssertEqual(try d.command("INCRBY", "plain", "10"), .integer(3), ns)
            // DEL removes it; the next INCR starts from 0.
            XCTAssertEqual(try c.command("DEL", "k"), .integer(1))
            XCTAssertEqual(try d.command("GET", "k", "R", "all"), .nullBulk)
            XCTAssertEqual(try d.command("EXISTS", "k"), .integer(0))
            XCTAssertEqual(try c.command("INCR", "k"), .integer(1), ns)
            // Redis's errors, nothing changed.
            XCTAssertEqual(try c.command("SET", "word", "hello"), .ok)
            XCTAssertEqual(try c.command("INCR", "word"), .error("ERR value is not an integer or out of range"))
            XCTAssertEqual(try c.command("GET", "word"), .bulk("hello"))
            for bad in ["1.5", "", "9223372036854775808", "+1", " 1", "0x10"] {
                XCTAssertEqual(try c.command("INCRBY", "k", bad), .error("ERR value is not an integer or out of range"), bad)
            }
            XCTAssertEqual(try c.command("SET", "big", "9223372036854775806"), .ok)
            XCTAssertEqual(try c.command("INCR", "big"), .integer(Int64.max))
            XCTAssertEqual(try c.command("INCR", "big"), .error("ERR increment or decrement would overflow"))
            XCTAssertEqual(try c.command("DECRBY", "big", "-1"), .error("ERR increment or decrement would overflow"))
            XCTAssertEqual(try c.command("GET", "big"), .bulk("9223372036854775807"))
            XCTAssertEqual(try c.command("SET", "small", "-9223372036854775807"), .ok)
            XCTAssertEqual(try c.command("DECR", "small"), .integer(Int64.min))
            XCTAssertEqual(try c.command("DECR", "small"), .error("ERR increment or decrement would overflow"))
            XCTAssertEqual(try c.command("DECRBY", "k", "-9223372036854775808"), .error("ERR decrement would overflow"))
            XCTAssertEqual(try c.command("GET", "k"), .bulk("1"))
        }
        XCTAssertEqual(try c.command("INCR"), .error("ERR wrong number of arguments for 'incr' command"))
        XCTAssertEqual(try c.command("INCRBY", "k"), .error("ERR wrong number of arguments for 'incrby' command"))
        XCTAssertEqual(try c.command("INCR", "k", "R", "all"), .error("ERR syntax R is not an option of INCR (it writes; use W)"))
        XCTAssertEqual(try c.command("INCRBYFLOAT", "k", "1.5"), .error(ClientCommands.incrByFloatRefusal))
        XCTAssertEqual(try c.command("PING"), .simple("PONG"), "the connection stays usable")
    }

    /// Increments through every peer at once: every one counts, each reply is a value the
    /// counter passed through, and the final value is the exact sum.
    func testConcurrentIncrementsThroughEveryPeerAllCount() throws {
        let clients = try ids.map { try client($0) }
        let group = DispatchGroup()
        let perClient = 40
        for (i, c) in clients.enumerated() {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                for _ in 0..<perClient {
                    let r = try? c.command("INCRBY", "hits", String(i + 1))
                    guard case .integer = r else { return XCTFail("INCRBY through n\(i + 1): \(String(describing: r))") }
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let want = (1...3).reduce(0) { $0 + $1 * perClient }
        for c in clients { XCTAssertEqual(try c.command("GET", "hits", "R", "all"), .bulk(String(want))) }
    }
}
