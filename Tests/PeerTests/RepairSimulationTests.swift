import Dispatch
import Foundation
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Nodes on the simulated network (SimNetwork) that can be added, restarted after a crash
/// (the memory file system drops what was not synced) and given rings by a stand-in for
/// gossip: every view adopts what the claimant's view proposes or settles.
final class RepairCluster: @unchecked Sendable {
    let network = SimNetwork()
    var engines: [String: NodeEngine] = [:]
    var views: [String: ClusterView] = [:]
    var files: [String: MemoryFileSystem] = [:]
    var admin: [String: String] = [:]
    var down: Set<String> = []
    let limits: NodeEngine.Limits
    let partitions: Int

    init(partitions: Int = 32, limits: NodeEngine.Limits) {
        self.partitions = partitions
        self.limits = limits
    }

    var ids: [String] { Ring.sortedIDs(engines.keys) }

    func addNode(_ id: String, namespaces: NamespaceTable? = nil) throws {
        let fs = files[id] ?? MemoryFileSystem()
        files[id] = fs
        var options = StorageOptions()
        options.fileSystem = fs
        let store = try Store.open(path: "/\(id)", options: options)
        let replica = try LocalReplica(store: store, nodeID: NodeID(id)!)
        let view = views[id] ?? ClusterView(localID: id)
        if let namespaces { view.adopt(namespaces: namespaces) }
        if let any = views.values.first, views[id] == nil {
            if let ring = any.snapshot().ring { view.adopt(ring: ring) }
            view.adopt(namespaces: any.snapshot().namespaces)
        }
        let engine = NodeEngine(nodeID: id, replica: replica, cluster: view, transport: SimTransport(network: network, from: id),
                                scheduler: DispatchNodeScheduler(width: 8), limits: limits)
        network.add(engine)
        engines[id] = engine
        views[id] = view
        engine.start()
    }

    /// Stops a node as a crash would: its store is closed without a flush and the memory
    /// file system forgets unsynced bytes; then it comes back on the same files.
    func crashAndRestart(_ id: String) throws {
        guard let e = engines[id], let fs = files[id] else { return }
        e.stop()
        network.setDown(id, true)
        try? e.replica.store.close()
        fs.crash()
        try addNode(id)
        network.setDown(id, false)
    }

    func shutdown() {
        for e in engines.values {
            e.stop()
            try? e.replica.store.close()
        }
    }

    /// Publishes every member's liveness and admin state to every view.
    func publishMembers() {
        for view in views.values {
            for id in engines.keys {
                let isDown = down.contains(id)
                view.update(member: .init(id: id, isUp: !isDown, status: isDown ? "dead" : "alive", admin: admin[id] ?? "joined",
                                          incarnation: 1, clientAddress: "", gossipAddress: ""))
            }
        }
    }

    func setDown(_ id: String, _ isDown: Bool) {
        if isDown { down.insert(id) } else { down.remove(id) }
        network.setDown(id, isDown)
        publishMembers()
    }

    /// One round of what gossip and the claimant do: propose, or settle when every
    /// receiver reported done; every view adopts the result. True when the ring changed.
    @discardableResult
    func claimRound() -> Bool {
        publishMembers()
        let reports = Dictionary(uniqueKeysWithValues: engines.map { ($0.key, $0.value.handoffReport) })
        for view in views.values {
            if let next = view.proposedRing(partitionCount: partitions) ?? view.settledRing(reports: reports) {
                for v in views.values { v.adopt(ring: next) }
                return true
            }
        }
        return false
    }

    var ring: Ring? { views.values.first?.snapshot().ring }

    /// Runs claim rounds until the ring holds exactly `members` and no transfer is left.
    func settle(members: Set<String>, seconds: Double = 60, while work: () -> Void = {}) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            claimRound()
            work()
            if let r = ring, !r.isTransferring, Set(r.nodes) == members { return true }
            usleep(50_000)
        }
        return false
    }

    func write(_ node: String, _ key: String, _ value: String?, namespace: String = "default") -> ClientError? {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<ClientError??>(nil)
        engines[node]!.write(ClientWrite(namespace: namespace, key: Array(key.utf8), value: value.map { Array($0.utf8) },
                                         context: nil, options: RequestOptions())) { e in
            box.withLock { $0 = .some(e) }
            done.signal()
        }
        guard done.wait(timeout: .now() + 10) == .success else { return ClientError("write did not complete") }
        return box.withLock { $0 } ?? ClientError("no outcome")
    }

    /// The values a node's own store holds for a key (nil: no record at all).
    func local(_ node: String, _ key: String, namespace: String = "default") -> KeyRecord? {
        guard let ring, let e = engines[node] else { return nil }
        let p = ring.partition(namespace: Array(namespace.utf8), key: Array(key.utf8))
        return try? e.replica.read(KeyAddress(namespace: Array(namespace.utf8), partition: UInt32(p), key: Array(key.utf8)))
    }

    func primaries(_ key: String, n: Int = 3, namespace: String = "default") -> Set<String> {
        guard let ring else { return [] }
        return Set(PreferenceList(ring: ring, namespace: Array(namespace.utf8), key: Array(key.utf8), n: n).primaries)
    }
}

func liveValues(_ record: KeyRecord?) -> [String] {
    guard let record, case .siblings(let s) = record else { return [] }
    return s.read().values.map { String(decoding: $0, as: UTF8.self) }.sorted()
}

final class RepairSimulationTests: XCTestCase {
    func limits(antiEntropy: Bool = false) -> NodeEngine.Limits {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.hintIntervalMs = 50
        l.antiEntropyIntervalMs = antiEntropy ? 50 : 0
        l.handoffChunkBytes = 2_048
        l.dropDelayMs = 200
        l.handoffStallMs = 2_000
        return l
    }

    func startCluster(_ ids: [String], partitions: Int = 32, limits: NodeEngine.Limits, namespaces: NamespaceTable? = nil) throws -> RepairCluster {
        let c = RepairCluster(partitions: partitions, limits: limits)
        let ring = try Claim.initial(partitionCount: partitions, members: ids, targetN: 3)
        for id in ids {
            try c.addNode(id, namespaces: namespaces)
            c.views[id]?.adopt(ring: ring)
        }
        c.publishMembers()
        return c
    }

    // MARK: Ownership handoff

    func testGrowThreeToSixAndShrinkToThreeUnderWritesKeepsEveryKeyOnExactlyItsPrimaries() throws {
        let c = try startCluster(["n1", "n2", "n3"], limits: limits())
        defer { c.shutdown() }
        var acked: [String: String] = [:]
        var seq = 0
        func writeSome(_ count: Int) {
            let coordinators = c.ids.filter { c.admin[$0] != "leaving" }
            for _ in 0..<count {
                let key = "key-\(seq)", value = "v\(seq)"
                if c.write(coordinators[seq % coordinators.count], key, value) == nil { acked[key] = value }
                seq += 1
            }
        }
        writeSome(600)
        for id in ["n4", "n5", "n6"] {
            try c.addNode(id)
            c.admin[id] = "joining"
        }
        XCTAssertTrue(c.settle(members: ["n1", "n2", "n3", "n4", "n5", "n6"], while: { writeSome(20) }), "grow did not settle")
        for id in ["n4", "n5", "n6"] { c.admin[id] = "joined" }
        XCTAssertTrue(c.engines["n4"]!.handoff.keysReceived.load(ordering: .relaxed) > 0, "n4 received nothing by handoff")
        writeSome(200)
        for id in ["n1", "n2", "n3"] { c.admin[id] = "leaving" }
        XCTAssertTrue(c.settle(members: ["n4", "n5", "n6"], while: { writeSome(20) }), "shrink did not settle")
        writeSome(100)
        XCTAssertGreaterThan(acked.count, 1_000)
        // Ranges moved away are dropped after the delay.
        let deadline = Date().addingTimeInterval(10)
        var misplaced: [String] = []
        repeat {
            misplaced = []
            for (key, value) in acked {
                let holders = Set(c.ids.filter { c.local($0, key) != nil })
                if holders != c.primaries(key) { misplaced.append("\(key) on \(holders.sorted()), primaries \(c.primaries(key).sorted())") }
                for p in c.primaries(key) where liveValues(c.local(p, key)) != [value] {
                    misplaced.append("\(key) on \(p): \(liveValues(c.local(p, key))) != \(value)")
                }
            }
            if misplaced.isEmpty { break }
            usleep(100_000)
        } while Date() < deadline
        XCTAssertEqual(misplaced.count, 0, "first: \(misplaced.prefix(5))")
    }

    func testHandoffResumesFromItsCheckpointAfterTheReceiverCrashes() throws {
        var l = limits()
        l.handoffBytesPerSecond = 40_000  // slow enough to crash it mid-way
        l.handoffConcurrency = 1
        let c = try startCluster(["n1", "n2", "n3"], partitions: 8, limits: l)
        defer { c.shutdown() }
        for i in 0..<1_500 { XCTAssertNil(c.write("n\(i % 3 + 1)", "key-\(i)", String(repeating: "x", count: 60))) }
        try c.addNode("n4")
        c.admin["n4"] = "joining"
        c.claimRound()
        XCTAssertEqual(c.ring?.isTransferring, true)
        let receiver = c.engines["n4"]!
        let deadline = Date().addingTimeInterval(20)
        while receiver.handoff.keysReceived.load(ordering: .relaxed) < 200, Date() < deadline { usleep(20_000) }
        let before = receiver.handoff.keysReceived.load(ordering: .relaxed)
        XCTAssertGreaterThan(before, 0)
        try c.crashAndRestart("n4")
        // The sender restarts too, mid-stream.
        try c.crashAndRestart("n1")
        XCTAssertTrue(c.settle(members: ["n1", "n2", "n3", "n4"], seconds: 90), "handoff did not finish after restarts")
        let after = c.engines["n4"]!.handoff.keysReceived.load(ordering: .relaxed)
        let planned = HandoffPlan.pulls(ring: try Claim.initial(partitionCount: 8, members: ["n1", "n2", "n3"]), namespaces: [.standard], node: "n4")
        XCTAssertTrue(planned.isEmpty)
        // Resumed, not restarted: the restarted receiver pulled fewer keys than it holds.
        let held = (0..<1_500).filter { c.local("n4", "key-\($0)") != nil }.count
        XCTAssertGreaterThan(held, 0)
        XCTAssertLessThan(Int(after), held, "the restarted receiver pulled everything again (\(after) of \(held))")
        for i in 0..<1_500 where c.primaries("key-\(i)").contains("n4") {
            XCTAssertNotNil(c.local("n4", "key-\(i)"), "key-\(i) missing on n4")
        }
    }

    // MARK: Anti-entropy

    func testDivergedReplicasConvergeAndOnlyDifferingKeysTravel() throws {
        let c = try startCluster(["n1", "n2", "n3"], limits: limits())
        defer { c.shutdown() }
        for i in 0..<1_000 { XCTAssertNil(c.write("n1", "key-\(i)", "v\(i)")) }
        c.setDown("n3", true)
        for i in 1_000..<1_050 { XCTAssertNil(c.write("n1", "key-\(i)", "v\(i)")) }
        for i in 0..<10 { XCTAssertNil(c.write("n2", "key-\(i)", nil)) }
        for i in 10..<15 { XCTAssertNil(c.write("n2", "key-\(i)", "new\(i)")) }
        c.setDown("n3", false)
        // With three nodes and N = 3 there is no fallback, so no hint: only repair can help.
        XCTAssertEqual(c.engines["n1"]!.replica.hints.total + c.engines["n2"]!.replica.hints.total, 0)
        let r = c.engines["n1"]!.repairNow()
        XCTAssertEqual(r.failures, [])
        XCTAssertEqual(r.sent, 65, "n1 should push exactly the 65 keys n3 missed")
        for i in 0..<1_050 {
            XCTAssertEqual(c.local("n3", "key-\(i)")?.digest, c.local("n1", "key-\(i)")?.digest, "key-\(i) differs after repair")
        }
        for i in 0..<10 { XCTAssertEqual(liveValues(c.local("n3", "key-\(i)")), []) }
        let again = c.engines["n3"]!.repairNow()
        XCTAssertEqual(again.sent + again.received, 0, "a second repair found differences")
        for id in ["n1", "n2", "n3"] {
            let trees = c.engines[id]!.replicatedTrees(c.views[id]!.snapshot())
            for t in trees { XCTAssertEqual(try c.engines[id]!.replica.tree(t.id).root, try c.engines["n1"]!.replica.tree(t.id).root) }
        }
    }

    func testTreesKeptByWritesEqualTreesRebuiltFromStorage() throws {
        let c = try startCluster(["n1", "n2", "n3"], limits: limits())
        defer { c.shutdown() }
        let e = c.engines["n1"]!
        let trees = e.replicatedTrees(c.views["n1"]!.snapshot())
        for t in trees { _ = try e.replica.tree(t.id) }  // built now, then kept by writes
        for i in 0..<500 { XCTAssertNil(c.write("n\(i % 3 + 1)", "key-\(i % 200)", i % 7 == 0 ? nil : "v\(i)")) }
        for t in trees {
            let kept = try e.replica.tree(t.id)
            e.replica.trees.drop(t.id)
            XCTAssertEqual(try e.replica.tree(t.id), kept, "tree \(t.id) drifted from storage")
        }
    }

    // MARK: Tombstones

    func testDeleteWhileAReplicaIsDownStaysDeletedAndIsReapedEverywhere() throws {
        let ns = try Namespace(name: "default", tombstoneGraceMs: 300)
        let table = try NamespaceTable(version: 2, namespaces: [ns])
        let c = try startCluster(["n1", "n2", "n3"], limits: limits(), namespaces: table)
        defer { c.shutdown() }
        XCTAssertNil(c.write("n1", "doomed", "alive"))
        XCTAssertNil(c.write("n1", "kept", "alive"))
        c.setDown("n3", true)
        XCTAssertNil(c.write("n1", "doomed", nil))
        c.setDown("n3", false)
        XCTAssertEqual(liveValues(c.local("n3", "doomed")), ["alive"], "n3 should still hold the old value")
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.engines[id]!.repairNow().failures, []) }
        for id in ["n1", "n2", "n3"] {
            XCTAssertNotNil(c.local(id, "doomed"), "\(id) reaped before the grace period")
            XCTAssertEqual(liveValues(c.local(id, "doomed")), [])
        }
        usleep(400_000)
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.engines[id]!.repairNow().failures, []) }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertNil(c.local(id, "doomed"), "\(id) still holds the tombstone")
            XCTAssertEqual(liveValues(c.local(id, "kept")), ["alive"])
        }
        XCTAssertEqual(c.engines.values.reduce(0) { $0 + Int($1.repairState.tombstonesReaped.load(ordering: .relaxed)) }, 3)
        // Nothing brings it back: more repair rounds, restarts, compaction.
        try c.crashAndRestart("n2")
        for id in ["n1", "n2", "n3"] { _ = c.engines[id]!.repairNow() }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertEqual(liveValues(c.local(id, "doomed")), [], "\(id) resurrected the key")
        }
    }
}
