import Foundation
import Ring
import Storage
import XCTest
@testable import Peer

/// Issue 14 (low): the ring and namespace table are no longer persisted with `try?`. A
/// failed write is counted and logged; a stored value that does not decode is logged and
/// the node still starts.
final class MetaPersistTests: XCTestCase {
    func config(_ dir: String) -> NodeConfig {
        var c = NodeConfig(dataDirectory: dir)
        c.nodeID = "n1"
        c.clientPort = 0
        c.gossipPort = 0
        c.peerPort = 0
        c.httpPort = 0
        return c
    }

    func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("chorus-meta-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    }

    func testAFailedNamespaceWriteIsCountedNotHidden() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try Node(config: config(dir))
        try node.store.close()
        let table = try NamespaceTable(version: 2, namespaces: [Namespace.standard, try Namespace(name: "more", n: 1)])
        node.publish(namespaces: table)
        XCTAssertEqual(node.engine.metaPersistFailures.load(ordering: .relaxed), 1, "the failed write was hidden")
        XCTAssertEqual(node.cluster.snapshot().namespaces.version, 2, "the table is still adopted in memory")
    }

    func testAStoredRingThatDoesNotDecodeIsIgnoredAndTheNodeStarts() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try FileManager.default.createDirectory(atPath: dir + "/store", withIntermediateDirectories: true)
            let store = try Store.open(path: dir + "/store", options: StorageOptions())
            let replica = try LocalReplica(store: store, nodeID: "n1")
            try replica.setMeta("ring", [0xde, 0xad, 0xbe, 0xef])
            try store.close()
        }
        let node = try Node(config: config(dir))
        XCTAssertNil(node.cluster.snapshot().ring)
        try node.store.close()
    }
}
