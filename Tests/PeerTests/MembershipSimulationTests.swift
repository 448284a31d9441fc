import Foundation
import Ring
import Synchronization
import XCTest
@testable import Peer

/// Membership changes driven by the operator commands through the real policy core, on
/// the deterministic simulation: LEAVE until the node stops itself, and REMOVE of a
/// crashed node while a join is still handing partitions off. A failure prints the seed;
/// CHORUS_SIM_SEED replays it.
final class MembershipSimulationTests: XCTestCase {
    var seed: UInt64 = 0

    override func setUp() {
        seed = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0012
    }

    func limits() -> NodeEngine.Limits {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.hintIntervalMs = 100
        l.antiEntropyIntervalMs = 0
        l.handoffChunkBytes = 2_048
        l.handoffBytesPerSecond = 20_000  // slow, so the removal lands mid-transfer
        l.handoffConcurrency = 1
        l.dropDelayMs = 2_000
        l.handoffStallMs = 5_000
        return l
    }

    /// Keys whose primaries (from `c`'s ring) do not all hold `value`.
    func missing(_ c: DeterministicCluster, keys: Range<Int>, value: String) -> [String] {
        keys.map { "key-\($0)" }.filter { key in c.primaries(key).contains { liveValues(c.local($0, key)) != [value] } }
    }

    func testLeaveHandsOffThenTheNodeStopsItself() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3", "n4"], seed: seed, partitions: 8, limits: limits())
        defer { c.shutdown() }
        for i in 0..<600 { XCTAssertNil(c.writeNow("n\(i % 4 + 1)", "key-\(i)", "v")) }
        guard case .success(let reply) = c.adminCommand(.leave, at: "n4") else { return XCTFail("LEAVE refused") }
        XCTAssertTrue(reply.hasPrefix("OK leaving"))
        guard case .failure(let again) = c.adminCommand(.leave, at: "n4") else { return XCTFail("a second LEAVE was accepted") }
        XCTAssertEqual(again.line, "ERR node is leaving, cannot leave")
        XCTAssertTrue(c.clock.run(forMs: 600_000) { c.exited["n4"] != nil }, "n4 did not stop, seed \(seed)")
        XCTAssertEqual(c.exited["n4"], .left)
        XCTAssertTrue(c.settled(on: ["n1", "n2", "n3"]), "n4 stopped before the ring without it settled, seed \(seed)")
        XCTAssertTrue(c.logLines.contains { $0.node == "n4" && $0.event.msg == "left the cluster; stopping" })
        XCTAssertEqual(missing(c, keys: 0..<600, value: "v"), [], "seed \(seed)")
    }

    func testRemoveOfACrashedNodeWhileAJoinIsHandingOffSettlesWithEveryKeyOnItsPrimaries() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3", "n4"], seed: seed, partitions: 8, limits: limits())
        defer { c.shutdown() }
        for i in 0..<1_500 { XCTAssertNil(c.writeNow("n\(i % 4 + 1)", "key-\(i)", String(repeating: "x", count: 60))) }
        c.admin["n5"] = "joining"
        try c.addNode("n5")
        XCTAssertTrue(c.clock.run(forMs: 10_000) { c.ring?.isTransferring == true }, "the join was not proposed, seed \(seed)")
        XCTAssertTrue(c.clock.run(forMs: 120_000) { c.engines["n5"]!.handoff.counters.keysReceived.load(ordering: .relaxed) >= 200 })
        let joinRing = try XCTUnwrap(c.ring)
        XCTAssertTrue(joinRing.isTransferring, "the join settled before the removal; slow the handoff, seed \(seed)")
        XCTAssertEqual(c.admin["n5"], "joined", "the policy marks a joiner held by the ring joined")
        // n2 crashes mid-handoff, and the operator removes it on n1.
        c.setDown("n2", true)
        guard case .success(let reply) = c.adminCommand(.remove("n2"), at: "n1") else { return XCTFail("REMOVE refused") }
        XCTAssertTrue(reply.hasPrefix("OK removing n2"))
        XCTAssertTrue(c.clock.run(forMs: 2_000) { (c.ring?.version ?? 0) > joinRing.version }, "no ring without n2 was proposed, seed \(seed)")
        XCTAssertTrue(c.clock.run(forMs: 1_200_000) { c.settled(on: ["n1", "n3", "n4", "n5"]) }, "did not settle without n2, seed \(seed)")
        let value = String(repeating: "x", count: 60)
        XCTAssertEqual(missing(c, keys: 0..<1_500, value: value).prefix(5), [], "seed \(seed)")
        // The removed node comes back: it sees itself removed and stops, holding nothing the ring needs.
        c.setDown("n2", false)
        XCTAssertTrue(c.clock.run(forMs: 1_000) { c.exited["n2"] != nil }, "a removed node kept running, seed \(seed)")
        XCTAssertEqual(c.exited["n2"], .removed)
        XCTAssertTrue(c.settled(on: ["n1", "n3", "n4", "n5"]))
    }
}
