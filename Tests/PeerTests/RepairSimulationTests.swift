import Foundation
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Ownership handoff, anti-entropy and tombstone reaping on the deterministic simulation
/// (seeded wire, virtual clock, one thread). A failure prints the seed; set
/// CHORUS_SIM_SEED to replay it.
final class RepairSimulationTests: XCTestCase {
    var seed: UInt64 = 0

    override func setUp() {
        seed = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0006
    }

    func limits(antiEntropy: Bool = false) -> NodeEngine.Limits {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.hintIntervalMs = 100
        l.antiEntropyIntervalMs = antiEntropy ? 100 : 0
        l.handoffChunkBytes = 2_048
        l.handoffBytesPerSecond = 200_000
        l.dropDelayMs = 2_000
        l.handoffStallMs = 5_000
        return l
    }

    /// A client writing a new key every `everyMs` of virtual time through a rotating
    /// coordinator, recording what was acknowledged.
    final class WriteLoad: @unchecked Sendable {
        let acked = Mutex<[String: String]>([:])
        let running = Mutex(true)
        var sequence = 0
        func start(_ c: DeterministicCluster, everyMs: Int) {
            c.clock.after(ms: everyMs) { [self] in
                guard running.withLock({ $0 }) else { return }
                let coordinators = c.ids.filter { c.admin[$0] != "leaving" && !c.down.contains($0) }
                sequence += 1
                let key = "key-\(sequence)", value = "v\(sequence)"
                c.write(coordinators[sequence % coordinators.count], key, value) { [self] e in
                    if e == nil { acked.withLock { $0[key] = value } }
                }
                start(c, everyMs: everyMs)
            }
        }
        func stop() { running.withLock { $0 = false } }
    }

    func misplaced(_ c: DeterministicCluster, _ acked: [String: String]) -> [String] {
        var out: [String] = []
        for (key, value) in acked.sorted(by: { $0.key < $1.key }) {
            let holders = Set(c.ids.filter { c.local($0, key) != nil })
            if holders != c.primaries(key) { out.append("\(key) on \(holders.sorted()), primaries \(c.primaries(key).sorted())") }
            for p in c.primaries(key) where liveValues(c.local(p, key)) != [value] {
                out.append("\(key) on \(p): \(liveValues(c.local(p, key))) != \(value)")
            }
        }
        return out
    }

    // MARK: Ownership handoff

    func testGrowThreeToSixAndShrinkToThreeUnderWritesKeepsEveryKeyOnExactlyItsPrimaries() throws {
        // Anti-entropy runs: with message loss a W=2 write can miss its third replica
        // without any hint (the quorum was already met), and only repair restores it.
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits(antiEntropy: true))
        defer { c.shutdown() }
        let load = WriteLoad()
        load.start(c, everyMs: 10)
        c.clock.run(forMs: 5_000)
        c.wire.setLoss(percent: 1)
        for id in ["n4", "n5", "n6"] {
            c.admin[id] = "joining"
            try c.addNode(id)
        }
        XCTAssertTrue(c.clock.run(forMs: 600_000) { c.settled(on: ["n1", "n2", "n3", "n4", "n5", "n6"]) }, "grow did not settle, seed \(seed)")
        for id in ["n4", "n5", "n6"] { c.admin[id] = "joined" }
        XCTAssertGreaterThan(c.engines["n4"]!.handoff.counters.keysReceived.load(ordering: .relaxed), 0, "n4 received nothing by handoff")
        c.clock.run(forMs: 3_000)
        for id in ["n1", "n2", "n3"] { c.admin[id] = "leaving" }
        XCTAssertTrue(c.clock.run(forMs: 600_000) { c.settled(on: ["n4", "n5", "n6"]) }, "shrink did not settle, seed \(seed)")
        c.wire.setLoss(percent: 0)
        c.clock.run(forMs: 3_000)
        load.stop()
        // In-flight writes end, ranges that moved away are dropped after the delay, and
        // anti-entropy rounds complete the replicas that lost messages.
        let acked = load.acked.withLock { $0 }
        XCTAssertGreaterThan(acked.count, 1_000, "seed \(seed)")
        c.clock.run(forMs: 120_000, checkEveryMs: 5_000) { self.misplaced(c, acked).isEmpty }
        let wrong = misplaced(c, acked)
        XCTAssertEqual(wrong.count, 0, "seed \(seed), first: \(wrong.prefix(5))")
    }

    func testHandoffResumesFromItsCheckpointAfterTheReceiverAndTheSenderCrash() throws {
        var l = limits()
        l.handoffBytesPerSecond = 20_000  // slow, so the crashes land mid-transfer
        l.handoffConcurrency = 1
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, partitions: 8, limits: l)
        defer { c.shutdown() }
        for i in 0..<1_500 { XCTAssertNil(c.writeNow("n\(i % 3 + 1)", "key-\(i)", String(repeating: "x", count: 60))) }
        c.admin["n4"] = "joining"
        try c.addNode("n4")
        XCTAssertTrue(c.clock.run(forMs: 10_000) { c.ring?.isTransferring == true })
        XCTAssertTrue(c.clock.run(forMs: 120_000) { c.engines["n4"]!.handoff.counters.keysReceived.load(ordering: .relaxed) >= 300 })
        try c.crashAndRestart("n4")
        c.clock.run(forMs: 3_000)
        let sender = c.engines["n4"]!.handoff.transfers.first { $0.state == .running }?.from ?? "n1"
        try c.crashAndRestart(sender)
        XCTAssertTrue(c.clock.run(forMs: 1_200_000) { c.settled(on: ["n1", "n2", "n3", "n4"]) }, "handoff did not finish, seed \(seed)")
        c.clock.run(forMs: 5_000)
        let held = (0..<1_500).filter { c.local("n4", "key-\($0)") != nil }.count
        let pulledAfterRestart = Int(c.engines["n4"]!.handoff.counters.keysReceived.load(ordering: .relaxed))
        XCTAssertGreaterThan(held, 300)
        // Resumed from the checkpoint, not started over: the restarted engine pulled less than n4 holds.
        XCTAssertLessThan(pulledAfterRestart, held, "seed \(seed)")
        for i in 0..<1_500 where c.primaries("key-\(i)").contains("n4") {
            XCTAssertNotNil(c.local("n4", "key-\(i)"), "key-\(i) missing on n4, seed \(seed)")
        }
    }

    // MARK: Anti-entropy

    func testDivergedReplicasConvergeAndOnlyDifferingKeysTravel() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits())
        defer { c.shutdown() }
        for i in 0..<1_000 { XCTAssertNil(c.writeNow("n1", "key-\(i)", "v\(i)")) }
        c.setDown("n3", true)
        for i in 1_000..<1_050 { XCTAssertNil(c.writeNow("n1", "key-\(i)", "v\(i)")) }
        for i in 0..<10 { XCTAssertNil(c.writeNow("n2", "key-\(i)", nil)) }
        for i in 10..<15 { XCTAssertNil(c.writeNow("n2", "key-\(i)", "new\(i)")) }
        c.setDown("n3", false)
        // With three nodes and N = 3 there is no fallback, so no hint: only repair can help.
        XCTAssertEqual(c.engines["n1"]!.replica.hints.total + c.engines["n2"]!.replica.hints.total, 0)
        let r = c.repairNow("n1")
        XCTAssertEqual(r.failures, [])
        XCTAssertEqual(r.sent, 65, "n1 should push exactly the 65 keys n3 missed")
        for i in 0..<1_050 {
            XCTAssertEqual(c.local("n3", "key-\(i)")?.digest, c.local("n1", "key-\(i)")?.digest, "key-\(i) differs after repair")
        }
        for i in 0..<10 { XCTAssertEqual(liveValues(c.local("n3", "key-\(i)")), []) }
        let again = c.repairNow("n3")
        XCTAssertEqual(again.sent + again.received, 0, "a second repair found differences")
        for id in ["n2", "n3"] {
            for t in c.engines[id]!.antiEntropy.replicatedTrees(c.views[id]!.snapshot()) {
                XCTAssertEqual(try c.engines[id]!.replica.tree(t.id).root, try c.engines["n1"]!.replica.tree(t.id).root)
            }
        }
    }

    func testTheStaleSideAsksAndPushesNothingBack() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits())
        defer { c.shutdown() }
        for i in 0..<300 { XCTAssertNil(c.writeNow("n1", "key-\(i)", "v\(i)")) }
        c.setDown("n3", true)
        for i in 0..<20 { XCTAssertNil(c.writeNow("n1", "key-\(i)", "new\(i)")) }
        c.setDown("n3", false)
        // n3 compares with n1 and n2: it receives the 20 newer records once (the second
        // comparison finds them equal) and sends none of its stale ones back.
        let r = c.repairNow("n3")
        XCTAssertEqual(r.failures, [])
        XCTAssertEqual(r.received, 20)
        XCTAssertEqual(r.sent, 0, "stale records were pushed back to the replicas that had newer ones")
        for i in 0..<20 { XCTAssertEqual(liveValues(c.local("n3", "key-\(i)")), ["new\(i)"]) }
    }

    func testBackgroundAntiEntropyRepairsWithoutBeingAsked() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits(antiEntropy: true))
        defer { c.shutdown() }
        c.setDown("n2", true)
        for i in 0..<200 { XCTAssertNil(c.writeNow("n1", "key-\(i)", "v\(i)")) }
        c.setDown("n2", false)
        let repaired = c.clock.run(forMs: 600_000, checkEveryMs: 1_000) { (0..<200).allSatisfy { liveValues(c.local("n2", "key-\($0)")) == ["v\($0)"] } }
        XCTAssertTrue(repaired, "background anti-entropy did not repair n2, seed \(seed)")
    }

    func testTreesKeptByWritesEqualTreesRebuiltFromStorage() throws {
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits())
        defer { c.shutdown() }
        let e = c.engines["n1"]!
        let trees = e.antiEntropy.replicatedTrees(c.views["n1"]!.snapshot())
        for t in trees { _ = try e.replica.tree(t.id) }  // built now, then kept by writes
        for i in 0..<500 { XCTAssertNil(c.writeNow("n\(i % 3 + 1)", "key-\(i % 200)", i % 7 == 0 ? nil : "v\(i)")) }
        for t in trees {
            let kept = try e.replica.tree(t.id)
            e.replica.trees.drop(t.id)
            XCTAssertEqual(try e.replica.tree(t.id), kept, "tree \(t.id) drifted from storage")
        }
    }

    // MARK: Tombstones

    func testDeleteWhileAReplicaIsDownStaysDeletedAndIsReapedEverywhere() throws {
        let ns = try Namespace(name: "default", tombstoneGraceMs: 60_000)
        let table = try NamespaceTable(version: 2, namespaces: [ns])
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits(), namespaces: table)
        defer { c.shutdown() }
        XCTAssertNil(c.writeNow("n1", "doomed", "alive"))
        XCTAssertNil(c.writeNow("n1", "kept", "alive"))
        c.setDown("n3", true)
        XCTAssertNil(c.writeNow("n1", "doomed", nil))
        c.setDown("n3", false)
        XCTAssertEqual(liveValues(c.local("n3", "doomed")), ["alive"], "n3 should still hold the old value")
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            XCTAssertNotNil(c.local(id, "doomed"), "\(id) reaped before the grace period")
            XCTAssertEqual(liveValues(c.local(id, "doomed")), [])
        }
        c.clock.run(forMs: 61_000)
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertNil(c.local(id, "doomed"), "\(id) still holds the tombstone")
            XCTAssertEqual(liveValues(c.local(id, "kept")), ["alive"])
        }
        XCTAssertEqual(c.engines.values.reduce(0) { $0 + Int($1.antiEntropy.repairState.tombstonesReaped.load(ordering: .relaxed)) }, 3)
        // Nothing brings it back: more repair rounds, a crash and restart, compaction.
        try c.crashAndRestart("n2")
        for id in ["n1", "n2", "n3"] { _ = c.repairNow(id) }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertEqual(liveValues(c.local(id, "doomed")), [], "\(id) resurrected the key")
        }
    }

    func testExpiredKeyIsSweptIntoTheTombstoneIndexAndReapedEverywhere() throws {
        let ns = try Namespace(name: "default", tombstoneGraceMs: 60_000)
        let table = try NamespaceTable(version: 2, namespaces: [ns])
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits(), namespaces: table)
        defer { c.shutdown() }
        guard let n1 = c.engines["n1"] else { return XCTFail("no n1") }
        let box = Mutex<Result<TransformReply, ClientError>?>(nil)
        let at = n1.expiryNowMs + 10_000
        n1.transform(namespace: "default", key: Array("brief".utf8), .set(value: Array("v".utf8), condition: .always, reply: .ok, expiry: .at(at)),
                     options: RequestOptions()) { r in box.withLock { $0 = r } }
        c.clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
        guard case .success = box.withLock({ $0 }) else { return XCTFail("SET EX failed") }
        XCTAssertNil(c.writeNow("n1", "kept", "alive"))
        for id in ["n1", "n2", "n3"] {
            XCTAssertEqual(liveValues(c.local(id, "brief")), ["v"])
            XCTAssertEqual(try c.engines[id]!.replica.tombstones(self.tree(c, "brief")).count, 0, "\(id) timed an unexpired key")
        }
        c.clock.run(forMs: 11_000)
        // The first round after the expiry confirms it and sweeps it into the index, timed
        // from its expiry; the next round after the grace reaps it.
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            XCTAssertEqual(try c.engines[id]!.replica.tombstones(self.tree(c, "brief")).count, 1, "\(id) did not time the expired key")
        }
        c.clock.run(forMs: 61_000)
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertNil(c.local(id, "brief"), "\(id) still holds the expired key")
            XCTAssertEqual(liveValues(c.local(id, "kept")), ["alive"])
        }
        XCTAssertEqual(c.engines.values.reduce(0) { $0 + Int($1.antiEntropy.repairState.tombstonesReaped.load(ordering: .relaxed)) }, 3)
        try c.crashAndRestart("n2")
        for id in ["n1", "n2", "n3"] { _ = c.repairNow(id) }
        for id in ["n1", "n2", "n3"] { XCTAssertNil(c.local(id, "brief"), "\(id) brought the expired key back") }
    }

    private func tree(_ c: DeterministicCluster, _ key: String) -> TreeID {
        let p = c.ring.map { $0.partition(namespace: Array("default".utf8), key: Array(key.utf8)) } ?? 0
        return TreeID(partition: UInt32(p), namespace: Array("default".utf8))
    }
}
