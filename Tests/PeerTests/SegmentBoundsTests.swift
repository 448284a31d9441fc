import Foundation
import Ring
import XCTest
@testable import Peer

/// Issue 14: anti-entropy segment requests and answers are bounded in bytes. Before, a
/// tree whose differing segments held more than a frame of keys (request) or records
/// (answer) failed with "response too large" on every round and never converged.
final class SegmentBoundsTests: XCTestCase {
    let seed: UInt64 = 0x5EED_0014

    func limits(messageBytes: Int) -> NodeEngine.Limits {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.antiEntropyIntervalMs = 0
        l.repairMessageBytes = messageBytes
        return l
    }

    func testGroupsKeepWholeSegmentsWithinTheBound() {
        let tree = TreeID(partition: 0, namespace: Array("default".utf8))
        let entries = (0..<2_000).map { (key: Array("key-\($0)-".utf8) + [UInt8](repeating: 0x61, count: 40), digest: UInt64($0)) }
        let segments = Array(Set(entries.map { MerkleTree.segment(of: $0.key) })).sorted()
        let groups = ExchangeCore.groups(tree: tree, segments: segments, entries: entries, maxBytes: 4_096)
        XCTAssertGreaterThan(groups.count, 10)
        XCTAssertEqual(groups.flatMap(\.segments), segments, "every segment once, in order")
        XCTAssertEqual(groups.map(\.entries.count).reduce(0, +), entries.count, "every entry once")
        for g in groups {
            let inGroup = Set(g.segments)
            XCTAssertTrue(g.entries.allSatisfy { inGroup.contains(MerkleTree.segment(of: $0.key)) }, "an entry outside its request's segments")
            if g.segments.count > 1 { XCTAssertLessThanOrEqual(g.entries.reduce(0) { $0 + $1.key.count + 12 } + 4 * g.segments.count, 4_096) }
            XCTAssertLessThanOrEqual(g.encode().count, 4_096 + 64)
        }
    }

    /// The stale side asks: the answers hold more records than a frame carries.
    func testLargeAnswersAreCutAndConvergeOverRounds() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, partitions: 4, limits: limits(messageBytes: 24 << 10))
        defer { c.shutdown() }
        c.setDown("n3", true)
        let value = String(repeating: "v", count: 3_000)
        for i in 0..<160 { XCTAssertNil(c.writeNow("n1", "key-\(i)", value + "\(i)")) }
        c.setDown("n3", false)
        c.wire.setMaxFrameBytes(96 << 10)
        var rounds = 0
        var received = 0
        while rounds < 30 {
            rounds += 1
            let r = c.repairNow("n3")
            XCTAssertEqual(r.failures, [], "round \(rounds)")
            guard r.failures.isEmpty else { return }
            received += r.received
            if r.received == 0 { break }
        }
        XCTAssertGreaterThan(rounds, 2, "the answers were not cut")
        XCTAssertEqual(received, 160)
        for i in 0..<160 { XCTAssertEqual(c.local("n3", "key-\(i)")?.digest, c.local("n1", "key-\(i)")?.digest, "key-\(i)") }
        XCTAssertGreaterThan(c.engines["n1"]!.antiEntropy.repairState.answersCut.load(ordering: .relaxed), 0)
    }

    /// The full side asks: its key list is larger than a frame; it goes in several requests.
    func testLargeKeyListsGoInSeveralRequestsInOneExchange() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, partitions: 4, limits: limits(messageBytes: 16 << 10))
        defer { c.shutdown() }
        c.setDown("n3", true)
        let long = String(repeating: "k", count: 1_000)
        for i in 0..<400 { XCTAssertNil(c.writeNow("n1", "\(long)-\(i)", "v\(i)")) }
        c.setDown("n3", false)
        c.wire.setMaxFrameBytes(64 << 10)
        let r = c.repairNow("n1")
        XCTAssertEqual(r.failures, [])
        XCTAssertEqual(r.sent, 400, "one repair pushes every key n3 missed")
        for i in 0..<400 { XCTAssertNotNil(c.local("n3", "\(long)-\(i)"), "key \(i) missing on n3") }
    }
}
