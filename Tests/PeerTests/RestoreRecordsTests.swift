import Dispatch
import Foundation
import Ring
import Storage
import XCTest
@testable import Peer

/// RESTORE.RECORDS through a real RESP server over three in-memory engines: records reach
/// every primary as merges (newer and concurrent writes kept, no new dots), and bad input is
/// refused whole with its index, changing nothing.
final class RestoreRecordsTests: XCTestCase {
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

    private func serve() throws -> RESPClient {
        let commands = ClientCommands(engine: engines["n1"]!, requirePass: nil, publishNamespaces: { _ in },
                                      info: { [] }, settings: ClientSettings())
        let server = try startRESPServer(commands)
        let client = try connectRESP(server)
        addTeardownBlock { client.close() }
        return client
    }

    private func address(_ key: String) -> KeyAddress {
        let ring = engines["n1"]!.cluster.snapshot().ring!
        let ns = Array(Namespace.defaultName.utf8)
        return KeyAddress(namespace: ns, partition: UInt32(ring.partition(namespace: ns, key: Array(key.utf8))), key: Array(key.utf8))
    }

    /// A record written long ago by node `old`: one value at dot (old, counter).
    private func oldRecord(_ value: String, actor: NodeID = "old", counter: UInt64 = 7) throws -> KeyRecord {
        let state = try KeyState(context: VersionVector([actor: counter]),
                                 siblings: [Sibling(dot: Dot(actor: actor, counter: counter), value: .value(Array(value.utf8)))])
        return .siblings(state)
    }

    private func restore(_ c: RESPClient, _ triples: [(String, String, [UInt8])]) throws -> RESPValue {
        try c.command([Array("RESTORE.RECORDS".utf8)] + triples.flatMap { [Array($0.0.utf8), Array($0.1.utf8), $0.2] })
    }

    func testRecordsReachEveryPrimaryAsMergesWithTheirOwnDots() throws {
        let c = try serve()
        let record = try oldRecord("from-backup")
        XCTAssertEqual(try restore(c, [("default", "a", record.encode()), ("default", "b", try oldRecord("bb").encode())]), .integer(2))
        for id in ids {
            XCTAssertEqual(try engines[id]!.replica.read(address("a")), record, "replica \(id) holds the record as it was")
        }
        XCTAssertEqual(try c.command("GET", "a"), .bulk(Array("from-backup".utf8)))
        XCTAssertEqual(try c.command("GET", "b"), .bulk(Array("bb".utf8)))

        // A write made after the backup (its context covers the backed-up dot) wins; one
        // made without knowledge of it (a fresh cluster's own write) stays beside it.
        XCTAssertEqual(try c.command("SET", "a", "newer"), .ok)
        XCTAssertEqual(try c.command("SET", "fresh", "mine"), .ok)
        XCTAssertEqual(try restore(c, [("default", "a", record.encode()), ("default", "fresh", try oldRecord("theirs").encode())]), .integer(2))
        XCTAssertEqual(try c.command("GET", "a"), .bulk(Array("newer".utf8)))
        guard case .array(let items) = try c.command("GETV", "fresh") else { return XCTFail("GETV fresh") }
        XCTAssertEqual(Set(items.dropFirst().compactMap(\.text)), ["mine", "theirs"])
        // No dot was issued for the restored records: the context names "old" at 7 exactly.
        guard case .siblings(let state)? = try engines["n2"]!.replica.read(address("fresh")) else { return XCTFail("no record") }
        XCTAssertEqual(state.context.dictionary["old"], 7)
        XCTAssertEqual(state.siblings.count, 2)
    }

    func testBadInputIsRefusedWholeAndChangesNothing() throws {
        let c = try serve()
        let good = try oldRecord("v").encode()
        func refused(_ reply: RESPValue, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            guard case .error(let e) = reply else { return XCTFail("not refused: \(reply)", file: file, line: line) }
            XCTAssertTrue(e.contains(text), e, file: file, line: line)
        }
        refused(try restore(c, [("default", "k", good), ("default", "k2", Array("junk".utf8))]), "record 1 does not decode")
        refused(try restore(c, [("default", "k", good), ("nope", "k2", good)]), "record 1: unknown namespace 'nope'")
        refused(try restore(c, [("default", "", good)]), "record 0: empty key")
        refused(try c.command("RESTORE.RECORDS", "default", "k"), "wrong number of arguments")
        let lww = KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1, logical: 0, node: "old"), value: .value([1])))
        refused(try restore(c, [("default", "k", lww.encode())]), "does not fit namespace 'default'")
        // A dot far above what its node has leased: that id started its counters over.
        engines["n1"]!.replica.counterBounds.learn(node: "n2", leasedUpTo: 10_000)
        refused(try restore(c, [("default", "k", try oldRecord("x", actor: "n2", counter: 1_000_000).encode())]),
                "names write 1000000 of node n2")
        for id in ids { XCTAssertNil(try engines[id]!.replica.read(address("k")), "a refused batch stored nothing on \(id)") }
        // Within the lease it is accepted.
        XCTAssertEqual(try restore(c, [("default", "k", try oldRecord("x", actor: "n2", counter: 9_000).encode())]), .integer(1))
    }
}
