import Foundation
import Gossip
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Five peers with the real coordinators, in-memory stores and SWIM failure detection from
/// the gossip simulator, on the deterministic simulation (virtual clock, seeded wire). A
/// failure prints the seed; CHORUS_SIM_SEED replays it.
final class ClusterSimulationTests: XCTestCase {
    var seed: UInt64 = 0
    var c: DeterministicCluster!
    let ids = (0..<5).map(GossipSimulator.id)

    override func setUpWithError() throws {
        seed = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0005
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.hintIntervalMs = 100
        limits.antiEntropyIntervalMs = 0
        c = try DeterministicCluster.startWithGossip(count: 5, seed: seed, limits: limits)
        c.clock.run(forMs: 2_000)
    }

    override func tearDown() { c.shutdown() }

    func values(_ r: Result<KeyRecord?, ClientError>) -> [String] {
        guard case .success(let rec) = r else { return [] }
        return liveValues(rec)
    }

    func isSeenDown(_ node: String, by observers: [String]) -> Bool {
        observers.allSatisfy { !(c.views[$0]?.snapshot().isUp(node) ?? true) }
    }

    func testSequentialWritesThroughAnyPeerNeverCreateSiblings() {
        for (i, node) in ids.enumerated() {
            XCTAssertNil(c.writeNow(node, "k", "v\(i)"))
        }
        XCTAssertEqual(values(c.readNow("n2", "k", options: RequestOptions(r: .all))), ["v4"], "seed \(seed)")
    }

    func testWritesSurviveACrashWithSloppyQuorumAndHintsArriveOnReturn() {
        let key = "sloppy"
        let primaries = c.primaries(key)
        let victim = primaries.sorted()[0]
        let others = ids.filter { $0 != victim }
        let coordinator = ids.first { !primaries.contains($0) }!
        c.crash(victim)
        XCTAssertTrue(c.clock.run(forMs: 30_000) { self.isSeenDown(victim, by: others) }, "SWIM did not detect the crash, seed \(seed)")
        XCTAssertNil(c.writeNow(coordinator, key, "while-down", options: RequestOptions(w: .all)))
        let hintsHeld = others.reduce(0) { $0 + c.engines[$1]!.replica.hints.total }
        XCTAssertGreaterThan(hintsHeld, 0, "a fallback holds a hint for \(victim)")
        // The owner returns: gossip sees it alive, hints are delivered and then deleted.
        c.recover(victim)
        XCTAssertTrue(c.clock.run(forMs: 60_000, checkEveryMs: 100) { self.ids.allSatisfy { self.c.engines[$0]!.replica.hints.total == 0 } },
                      "hints not delivered, seed \(seed)")
        XCTAssertEqual(liveValues(c.local(victim, key)), ["while-down"], "owner has no copy after hint delivery")
    }

    func testPartitionProducesSiblingsThatPutvResolves() {
        let key = "split"
        XCTAssertNil(c.writeNow("n0", key, "base"))
        // {n0,n1} | {n2,n3,n4}: each side's SWIM declares the other dead; both take writes.
        let left = ["n0", "n1"], right = ["n2", "n3", "n4"]
        c.partition(left, right)
        XCTAssertTrue(c.clock.run(forMs: 60_000, checkEveryMs: 100) {
            right.allSatisfy { self.isSeenDown($0, by: left) } && left.allSatisfy { self.isSeenDown($0, by: right) }
        }, "the sides did not see each other down, seed \(seed)")
        XCTAssertNil(c.writeNow("n0", key, "left", options: RequestOptions(w: .one)))
        XCTAssertNil(c.writeNow("n3", key, "right", options: RequestOptions(w: .one)))
        c.heal()
        XCTAssertTrue(c.clock.run(forMs: 120_000, checkEveryMs: 100) { self.ids.allSatisfy { self.c.engines[$0]!.replica.hints.total == 0 } },
                      "hints not drained, seed \(seed)")
        let merged = c.readNow("n1", key, options: RequestOptions(r: .all))
        XCTAssertEqual(values(merged), ["left", "right"], "both concurrent writes survive as siblings, seed \(seed)")
        guard case .success(let rec?) = merged, case .siblings(let s) = rec else { return XCTFail("no record") }
        XCTAssertNil(c.writeNow("n4", key, "resolved", context: s.read().context.encodeContext()))
        XCTAssertEqual(values(c.readNow("n0", key, options: RequestOptions(r: .all))), ["resolved"])
    }

    func testStrictQuorumReadsSeeEveryAcknowledgedWrite() {
        var rng = SeededRandom(seed: seed)
        var acked: [String: String] = [:]
        var reads = 0
        for round in 0..<40 {
            // A random node crashes for each write, and a random one for each read.
            let down = ids[rng.below(ids.count)]
            c.crash(down)
            c.clock.run(forMs: Int64(rng.int(0...3_000)))
            let key = "q\(round % 10)"
            let writers = ids.filter { $0 != down }
            if c.writeNow(writers[rng.below(writers.count)], key, "r\(round)", options: RequestOptions(r: .quorum, w: .quorum, strict: true)) == nil {
                acked[key] = "r\(round)"
            }
            c.recover(down)
            let readDown = ids[rng.below(ids.count)]
            c.crash(readDown)
            c.clock.run(forMs: Int64(rng.int(0...3_000)))
            let readers = ids.filter { $0 != readDown }
            if let want = acked[key] {
                // SPEC 6: the read sees that write or a successor. Failover between
                // coordinators may leave an older write beside it as a sibling (docs/VERSIONS.md).
                // An unavailable read (too few primaries seen up) is allowed; a stale one is not.
                let result = c.readNow(readers[rng.below(readers.count)], key, options: RequestOptions(r: .quorum, strict: true))
                if case .success(let record) = result {
                    reads += 1
                    let seen = liveValues(record)
                    XCTAssertTrue(seen.contains(want), "round \(round): read \(seen), last acknowledged \(want), seed \(seed)")
                }
            }
            c.recover(readDown)
            c.clock.run(forMs: 500)
        }
        XCTAssertGreaterThan(acked.count, 5, "seed \(seed)")
        XCTAssertGreaterThan(reads, 5, "seed \(seed)")
    }

    func testConcurrentNamespaceCreationsOnTwoPeersBothSurvive() throws {
        // Gossip stand-in: a published table reaches every view 50 ms later, so creations
        // on different peers race as they would for real.
        let views = Array(c.views.values)
        let clock = c.clock
        let publish: @Sendable (NamespaceTable) -> Void = { t in clock.after(ms: 50) { for v in views { v.adopt(namespaces: t) } } }
        for e in c.engines.values { e.namespacePublisher = publish }
        let done = Mutex(0)
        for (node, name) in [("n3", "alpha"), ("n4", "beta"), ("n1", "gamma")] {
            c.engines[node]!.createNamespace(try Namespace(name: name, n: 2), publish: publish) { r in
                if case .success = r { done.withLock { $0 += 1 } }
            }
        }
        XCTAssertTrue(c.clock.run(forMs: 10_000) { done.withLock { $0 } == 3 }, "creations did not all succeed, seed \(seed)")
        c.clock.run(forMs: 1_000)
        for (id, view) in c.views {
            let names = Set(view.snapshot().namespaces.namespaces.map(\.name))
            XCTAssertTrue(names.isSuperset(of: ["alpha", "beta", "gamma"]), "\(id) has \(names.sorted())")
        }
        // The same name with other settings is refused, wherever it is asked.
        let refused = Mutex<ClientError?>(nil)
        c.engines["n2"]!.createNamespace(try Namespace(name: "alpha", n: 3), publish: publish) { r in
            if case .failure(let e) = r { refused.withLock { $0 = e } }
        }
        c.clock.run(forMs: 5_000) { refused.withLock { $0 } != nil }
        XCTAssertEqual(refused.withLock { $0 }?.line, "ERR namespace 'alpha' exists with other settings")
    }
}
