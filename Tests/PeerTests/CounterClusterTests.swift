import Foundation
import Gossip
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Counters on five peers with the real coordinators, SWIM failure detection and the
/// deterministic simulation (docs/VERSIONS.md, "Counters"): increments through every peer
/// at once, then a partition where both sides increment, then healing; every primary and
/// every peer's GET reads exactly the sum of the acknowledged increments, in a siblings and
/// an lww namespace, after hinted handoff, read repair and anti-entropy. A failure prints
/// the seed; CHORUS_SIM_SEED replays it.
final class CounterClusterTests: XCTestCase {
    var seed: UInt64 = 0
    var c: DeterministicCluster!
    let ids = (0..<5).map(GossipSimulator.id)
    let keys = ["c0", "c1", "c2", "c3"]

    override func setUpWithError() throws {
        seed = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0xC0_0417
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.hintIntervalMs = 100
        limits.antiEntropyIntervalMs = 0
        c = try DeterministicCluster.startWithGossip(count: 5, seed: seed, limits: limits)
        let table = try NamespaceTable().upserting(try Namespace(name: "fast", conflict: .lww))
        for v in c.views.values { v.adopt(namespaces: table) }
        c.clock.run(forMs: 2_000)
    }

    override func tearDown() { c.shutdown() }

    /// Acknowledged and unanswered increments per key.
    struct Tally {
        var acked: [String: Int64] = [:]
        var unsure: [String: [Int64]] = [:]
        var failures = 0
    }

    /// Starts one increment through every given peer at once and runs them all to their end.
    func incrementAtOnce(_ peers: [String], _ key: String, namespace: String, rng: inout SeededRandom, into tally: inout Tally) {
        let results = Mutex<[(Int64, Result<Int64, ClientError>)]>([])
        for node in peers {
            let delta = Int64(rng.int(-3...9))
            c.engines[node]?.increment(namespace: namespace, key: Array(key.utf8), by: delta, options: RequestOptions()) { r in
                results.withLock { $0.append((delta, r)) }
            }
        }
        c.clock.run(forMs: 60_000) { results.withLock { $0.count == peers.count } }
        for (delta, r) in results.withLock({ $0 }) {
            switch r {
            case .success: tally.acked[key, default: 0] += delta
            case .failure:
                tally.failures += 1
                tally.unsure[key, default: []].append(delta)
            }
        }
    }

    func get(_ node: String, _ key: String, namespace: String, r: QuorumLevel = .all) -> String? {
        guard case .success(let record) = c.readNow(node, key, namespace: namespace, options: RequestOptions(r: r)) else { return "unavailable" }
        guard case .bulk(let bytes) = ClientCommands.getReply(record, atMs: 0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func localValue(_ node: String, _ key: String, namespace: String) -> String? {
        guard case .bulk(let bytes) = ClientCommands.getReply(c.local(node, key, namespace: namespace), atMs: 0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func isSeenDown(_ node: String, by observers: [String]) -> Bool {
        observers.allSatisfy { !(c.views[$0]?.snapshot().isUp(node) ?? true) }
    }

    /// The value must be the acknowledged sum, plus at most some of the unanswered ones.
    func check(_ value: String?, _ key: String, _ tally: Tally, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let acked = tally.acked[key, default: 0]
        let unsure = tally.unsure[key, default: []]
        guard let value, let v = Int64(value) else { return XCTFail("\(what): \(key) reads \(value ?? "nil"), seed \(seed)", file: file, line: line) }
        if unsure.isEmpty {
            XCTAssertEqual(v, acked, "\(what): \(key), seed \(seed)", file: file, line: line)
            return
        }
        // Some subset of the unanswered deltas may have been applied.
        var possible: Set<Int64> = [acked]
        for d in unsure { possible.formUnion(possible.map { $0 + d }) }
        XCTAssertTrue(possible.contains(v), "\(what): \(key) reads \(v), acked \(acked), unanswered \(unsure), seed \(seed)", file: file, line: line)
    }

    func runPartitionScenario(namespace: String) {
        var rng = SeededRandom(seed: seed &+ UInt64(namespace.utf8.count))
        var tally = Tally()
        // Through every peer at once, twice per key.
        for key in keys {
            for _ in 0..<2 { incrementAtOnce(ids, key, namespace: namespace, rng: &rng, into: &tally) }
        }
        XCTAssertEqual(tally.failures, 0, "no fault yet, every increment is acknowledged, seed \(seed)")
        for key in keys {
            for node in ids { check(get(node, key, namespace: namespace, r: .quorum), key, tally, "before the partition through \(node)") }
        }

        // {n0,n1} | {n2,n3,n4}: each side's SWIM declares the other dead; both increment.
        let left = ["n0", "n1"], right = ["n2", "n3", "n4"]
        c.partition(left, right)
        XCTAssertTrue(c.clock.run(forMs: 60_000, checkEveryMs: 100) {
            right.allSatisfy { self.isSeenDown($0, by: left) } && left.allSatisfy { self.isSeenDown($0, by: right) }
        }, "the sides did not see each other down, seed \(seed)")
        let before = tally.acked
        for key in keys {
            for _ in 0..<3 {
                incrementAtOnce(left, key, namespace: namespace, rng: &rng, into: &tally)
                incrementAtOnce(right, key, namespace: namespace, rng: &rng, into: &tally)
            }
        }
        XCTAssertNotEqual(tally.acked, before, "increments were acknowledged during the partition, seed \(seed)")
        // Each side reads its own increments only: the other side's are not lost, only not yet seen.
        c.heal()
        XCTAssertTrue(c.clock.run(forMs: 120_000, checkEveryMs: 100) { self.ids.allSatisfy { self.c.engines[$0]!.replica.hints.total == 0 } },
                      "hints not drained, seed \(seed)")
        // Read repair through every peer, then anti-entropy: every peer's GET and every
        // primary's own copy read the exact sum.
        for key in keys {
            for node in ids { check(get(node, key, namespace: namespace), key, tally, "after healing through \(node)") }
        }
        for node in ids { XCTAssertTrue(c.repairNow(node).failures.isEmpty, "repair on \(node), seed \(seed)") }
        for key in keys {
            for node in c.primaries(key, namespace: namespace) {
                check(localValue(node, key, namespace: namespace), key, tally, "\(node)'s own copy after anti-entropy")
            }
            for node in ids { check(get(node, key, namespace: namespace, r: .one), key, tally, "R=1 through \(node)") }
        }
        // One more increment after healing supersedes every sibling: one value, exact.
        for key in keys {
            incrementAtOnce(["n3"], key, namespace: namespace, rng: &rng, into: &tally)
            check(get("n0", key, namespace: namespace), key, tally, "after a post-heal increment")
            if namespace == "default", case .success(let rec?) = c.readNow("n1", key, options: RequestOptions(r: .all)), case .siblings(let s) = rec {
                XCTAssertEqual(s.siblings.count, 1, "\(key): a post-heal increment supersedes the concurrent ones, seed \(seed)")
            }
        }
    }

    func testBothSidesOfAPartitionIncrementAndTheSumIsExactAfterHealingSiblings() {
        runPartitionScenario(namespace: "default")
    }

    func testBothSidesOfAPartitionIncrementAndTheSumIsExactAfterHealingLWW() {
        runPartitionScenario(namespace: "fast")
    }

    /// A SET on one side of the partition replaces what it had seen; the other side's
    /// increments (concurrent with it) are kept on top.
    func testSetOnOneSideKeepsTheOtherSidesIncrementsOnTop() {
        for namespace in ["default", "fast"] {
            let key = "s-\(namespace)"
            for node in ids { XCTAssertNoThrow(try increment(node, key, 2, namespace: namespace).get()) }
            XCTAssertEqual(get("n4", key, namespace: namespace), "10")
            let left = ["n0", "n1"], right = ["n2", "n3", "n4"]
            c.partition(left, right)
            XCTAssertTrue(c.clock.run(forMs: 60_000, checkEveryMs: 100) {
                right.allSatisfy { self.isSeenDown($0, by: left) } && left.allSatisfy { self.isSeenDown($0, by: right) }
            }, "the sides did not see each other down, seed \(seed)")
            XCTAssertNil(c.writeNow("n2", key, "100", namespace: namespace))
            XCTAssertNoThrow(try increment("n0", key, 5, namespace: namespace).get())
            XCTAssertNoThrow(try increment("n1", key, 1, namespace: namespace).get())
            c.heal()
            XCTAssertTrue(c.clock.run(forMs: 120_000, checkEveryMs: 100) { self.ids.allSatisfy { self.c.engines[$0]!.replica.hints.total == 0 } },
                          "hints not drained, seed \(seed)")
            c.clock.run(forMs: 5_000)
            if namespace == "default" {
                XCTAssertEqual(get("n3", key, namespace: namespace), "106", "SET 100 replaced the 10; +6 concurrent with it on top, seed \(seed)")
            } else {
                // lww: the SET is the base only if its timestamp is the later; every increment counts.
                let v = get("n3", key, namespace: namespace)
                XCTAssertTrue(v == "106" || v == "16", "\(key) reads \(v ?? "nil"), seed \(seed)")
            }
            XCTAssertNil(c.writeNow("n4", key, nil, namespace: namespace))
            XCTAssertNil(get("n0", key, namespace: namespace), "a DEL that saw every increment leaves the key absent")
            XCTAssertEqual(try increment("n1", key, 3, namespace: namespace).get(), 3, "INCR after DEL starts from 0")
        }
    }

    func increment(_ node: String, _ key: String, _ delta: Int64, namespace: String) -> Result<Int64, ClientError> {
        let box = Mutex<Result<Int64, ClientError>?>(nil)
        c.engines[node]?.increment(namespace: namespace, key: Array(key.utf8), by: delta, options: RequestOptions()) { r in box.withLock { $0 = r } }
        c.clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
        return box.withLock { $0 } ?? .failure(ClientError("increment did not complete"))
    }
}

/// An increment is never coordinated twice (docs/VERSIONS.md, "Counters"), on the
/// deterministic cluster with a perfect failure detector that keeps every node "up".
final class CounterFailoverTests: XCTestCase {
    let seed: UInt64 = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0xC0_FA11

    /// The forward reaches the coordinator, which applies and replicates the increment, but
    /// its answer never comes back (one-way loss). The request fails with the TIMEOUT that
    /// says it may have been applied, and it is not coordinated again elsewhere: after
    /// healing every increment attempted is counted exactly once, not twice. (SET in the same
    /// spot fails over and folds the two copies by write id: FailoverSimulationTests.)
    func testAnUnansweredIncrementIsAppliedOnceNotRetriedElsewhere() throws {
        var limits = NodeEngine.Limits()
        limits.hintIntervalMs = 100
        limits.antiEntropyIntervalMs = 0
        let c = try DeterministicCluster.start(["n0", "n1", "n2"], seed: seed, limits: limits)
        defer { c.shutdown() }
        c.clock.run(forMs: 500)
        for i in 0..<30 { XCTAssertNil(c.writeNow(c.ids[i % 3], "warm\(i)", "w")) }
        guard let ring = c.ring else { return XCTFail("no ring") }
        let ks = (0..<2_000).map { "inc\($0)" }.filter {
            PreferenceList(ring: ring, namespace: Array("default".utf8), key: Array($0.utf8), n: 3).primaries.first == "n0"
        }.prefix(4)
        XCTAssertEqual(ks.count, 4)
        c.wire.drop(from: "n0", to: "n1")  // n0 hears n1, n1 never hears n0
        var attempts: [String: Int] = [:], unanswered = 0
        for k in ks {
            for _ in 0..<3 {
                let box = Mutex<Result<Int64, ClientError>?>(nil)
                c.engines["n1"]?.increment(namespace: "default", key: Array(k.utf8), by: 5, options: RequestOptions(timeoutMs: 1_500)) { r in
                    box.withLock { $0 = r }
                }
                c.clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
                attempts[k, default: 0] += 1
                if case .failure(let e)? = box.withLock({ $0 }) {
                    unanswered += 1
                    XCTAssertTrue(e.line.hasPrefix("TIMEOUT") || e.line.hasPrefix("UNAVAILABLE"), "\(k): \(e.line), seed \(seed)")
                    XCTAssertTrue(e.line.contains("may"), "the error says it may have been applied: \(e.line)")
                }
            }
        }
        XCTAssertGreaterThan(unanswered, 0, "the first increments' answers were lost, seed \(seed)")
        c.wire.heal()
        c.clock.run(forMs: 2_000)
        for k in ks {
            guard case .success(let record) = c.readNow("n2", k, options: RequestOptions(r: .all)),
                  case .bulk(let bytes) = ClientCommands.getReply(record, atMs: 0) else { return XCTFail("\(k) unreadable, seed \(seed)") }
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(5 * attempts[k, default: 0]),
                           "\(k): every increment applied exactly once (the unanswered ones reached n0), seed \(seed)")
        }
    }
}

/// Ownership handoff carries counters: a fourth peer joins while every peer increments; once
/// the ring settles, every primary of every counter (the new owner included, whose copy came
/// by handoff) holds exactly the acknowledged sum, and so does every GET.
final class CounterHandoffTests: XCTestCase {
    let seed: UInt64 = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0xC0_4A2D

    func testAJoiningPeerReceivesCountersByHandoffAndEveryIncrementCounts() throws {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.hintIntervalMs = 100
        l.antiEntropyIntervalMs = 0
        l.handoffChunkBytes = 2_048
        l.handoffBytesPerSecond = 50_000
        l.dropDelayMs = 2_000
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, partitions: 16, limits: l)
        defer { c.shutdown() }
        c.clock.run(forMs: 500)
        var rng = SeededRandom(seed: seed)
        var acked: [String: Int64] = [:]
        var unsure: [String: Int] = [:]
        func incrementOnce(_ node: String, _ key: String) {
            let delta = Int64(rng.int(1...9))
            let box = Mutex<Result<Int64, ClientError>?>(nil)
            c.engines[node]?.increment(namespace: "default", key: Array(key.utf8), by: delta, options: RequestOptions(w: .all)) { r in
                box.withLock { $0 = r }
            }
            c.clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
            if case .success? = box.withLock({ $0 }) { acked[key, default: 0] += delta } else { unsure[key, default: 0] += 1 }
        }
        let keys = (0..<40).map { "hc\($0)" }
        for (i, k) in keys.enumerated() { for j in 0..<3 { incrementOnce("n\((i + j) % 3 + 1)", k) } }
        c.admin["n4"] = "joining"
        try c.addNode("n4")
        XCTAssertTrue(c.clock.run(forMs: 10_000) { c.ring?.isTransferring == true }, "no transfer started, seed \(seed)")
        // Increments during the transfer, through every peer (the joining one too).
        var during = 0
        while c.ring?.isTransferring == true && during < 400 {
            let k = keys[rng.int(0..<keys.count)]
            incrementOnce(["n1", "n2", "n3", "n4"][rng.int(0..<4)], k)
            during += 1
        }
        XCTAssertGreaterThan(during, 0, "increments ran during the transfer, seed \(seed)")
        XCTAssertTrue(c.clock.run(forMs: 600_000) { c.settled(on: ["n1", "n2", "n3", "n4"]) }, "join did not settle, seed \(seed)")
        c.admin["n4"] = "joined"
        XCTAssertGreaterThan(c.engines["n4"]!.handoff.counters.keysReceived.load(ordering: .relaxed), 0, "n4 received nothing by handoff")
        for k in keys { incrementOnce(["n1", "n2", "n3", "n4"][rng.int(0..<4)], k) }
        c.clock.run(forMs: 5_000)
        XCTAssertEqual(unsure.values.reduce(0, +), 0, "no fault: every increment acknowledged, seed \(seed)")
        var onN4 = 0
        for k in keys {
            let want = String(acked[k, default: 0])
            for p in c.primaries(k) {
                guard case .bulk(let bytes) = ClientCommands.getReply(c.local(p, k), atMs: 0) else { XCTFail("\(k) missing on \(p), seed \(seed)"); continue }
                XCTAssertEqual(String(decoding: bytes, as: UTF8.self), want, "\(k) on primary \(p), seed \(seed)")
                if p == "n4" { onN4 += 1 }
            }
            guard case .success(let record) = c.readNow("n2", k, options: RequestOptions(r: .all)),
                  case .bulk(let bytes) = ClientCommands.getReply(record, atMs: 0) else { XCTFail("\(k) unreadable, seed \(seed)"); continue }
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), want, "\(k) through GET, seed \(seed)")
        }
        XCTAssertGreaterThan(onN4, 0, "the new peer is a primary of some counters, seed \(seed)")
    }
}
