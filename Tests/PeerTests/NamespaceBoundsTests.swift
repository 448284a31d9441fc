import Foundation
import Gossip
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Issue 14, high 3: the namespace table is bounded before it is accepted (count, name
/// length, encoded size), so it always fits one gossip value; a table persisted past the
/// bound by an older version no longer crashes a restart.
final class NamespaceBoundsTests: XCTestCase {
    static func name(_ i: Int, bytes: Int = Namespace.maxNameBytes) -> String {
        let tag = "ns\(i)-"
        return tag + String(repeating: "x", count: bytes - tag.utf8.count)
    }

    static func widest(_ name: String) throws -> Namespace {
        try Namespace(name: name, n: 3, r: .count(3), w: .count(3), conflict: .siblings,
                      siblingLimit: Namespace.maxSiblingLimit, tombstoneGraceMs: Int64.max)
    }

    func testAFullTableOfTheLongestNamesFitsOneGossipValue() throws {
        var table = NamespaceTable()
        for i in 1..<NamespaceTable.maxNamespaces { table = try table.upserting(NamespaceBoundsTests.widest(NamespaceBoundsTests.name(i))) }
        XCTAssertEqual(table.namespaces.count, NamespaceTable.maxNamespaces)
        XCTAssertLessThanOrEqual(table.encode().count, ClusterStateValue.maxPayloadBytes)
        XCTAssertThrowsError(try table.upserting(NamespaceBoundsTests.widest("one-more"))) { error in
            XCTAssertEqual("\(error)", "too many namespaces (max 200) (namespace 'one-more')")
        }
        XCTAssertNoThrow(try table.upserting(Namespace(name: NamespaceBoundsTests.name(3), n: 3)), "changing one that exists is not adding")
    }

    func testANameTooLongIsAClearError() {
        XCTAssertThrowsError(try Namespace(name: String(repeating: "n", count: 256), n: 3).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("namespace name too long or empty: 256 bytes (1 to 255)"), "\(error)")
        }
    }

    func testTheClaimantRefusesTheNamespacePastTheBound() throws {
        let c = try DeterministicCluster.start(["n0", "n1", "n2"], seed: 0x5EED_0014, limits: NodeEngine.Limits())
        defer { c.shutdown() }
        let engine = try XCTUnwrap(c.engines["n0"])
        for i in 1..<NamespaceTable.maxNamespaces {
            guard case .success = engine.applyNamespace(try NamespaceBoundsTests.widest(NamespaceBoundsTests.name(i)), publish: { _ in }) else {
                return XCTFail("namespace \(i) refused")
            }
        }
        guard case .failure(let e) = engine.applyNamespace(try NamespaceBoundsTests.widest("one-more"), publish: { _ in }) else {
            return XCTFail("a namespace past the bound was accepted")
        }
        XCTAssertEqual(e.line, "ERR too many namespaces (max 200) (namespace 'one-more')")
    }

    /// An older version let ~245 namespaces of 255-byte names in; that table, persisted,
    /// trapped in Gossip on the next publish. Now the node starts, serves, refuses to gossip
    /// the table (and says so), and refuses more namespaces.
    func testRestartWithAPersistedOversizedTableDoesNotCrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-ns-bounds-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var list = [Namespace.standard]
        for i in 1..<245 { list.append(try NamespaceBoundsTests.widest(NamespaceBoundsTests.name(i))) }
        let oversized = try NamespaceTable(version: 300, namespaces: list)
        XCTAssertGreaterThan(oversized.encode().count, ClusterStateValue.maxPayloadBytes, "the table of the report")
        do {
            try FileManager.default.createDirectory(atPath: dir + "/store", withIntermediateDirectories: true)
            let store = try Store.open(path: dir + "/store", options: StorageOptions())
            let replica = try LocalReplica(store: store, nodeID: "n1")
            try replica.setMeta("namespaces", oversized.encode())
            try store.close()
        }
        var config = NodeConfig(dataDirectory: dir)
        config.nodeID = "n1"
        config.clientPort = 0
        config.gossipPort = 0
        config.peerPort = 0
        config.httpPort = 0
        let node = try Node(config: config)
        try node.start()
        defer { node.shutdown() }
        XCTAssertEqual(node.cluster.snapshot().namespaces.namespaces.count, 245, "the persisted table is still served")
        node.publish(namespaces: oversized)
        let done = Mutex<Result<Void, ClientError>?>(nil)
        node.engine.createNamespace(try Namespace(name: "more", n: 1), publish: { node.publish(namespaces: $0) }) { r in done.withLock { $0 = r } }
        let deadline = Date().addingTimeInterval(5)
        while done.withLock({ $0 == nil }), Date() < deadline { usleep(10_000) }
        guard case .failure(let e)? = done.withLock({ $0 }) else { return XCTFail("NS.CREATE past the bound: \(String(describing: done.withLock { $0 }))") }
        XCTAssertTrue(e.line.hasPrefix("ERR too many namespaces"), e.line)
    }
}
