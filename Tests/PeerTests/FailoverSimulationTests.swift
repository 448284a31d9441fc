import Foundation
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// SPEC 6, availability before failure detection: faults that no failure detector has seen
/// yet (the test's detector keeps every node "up"), on the deterministic simulation. Every
/// request that can reach W (R) nodes must succeed, well within its TIMEOUT, and a retried
/// write must never show as two siblings. A failure prints the seed; CHORUS_SIM_SEED replays.
final class FailoverSimulationTests: XCTestCase {
    var seed: UInt64 = 0

    override func setUp() {
        seed = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0xFA11_0000
    }

    func cluster(_ count: Int) throws -> DeterministicCluster {
        var limits = NodeEngine.Limits()
        limits.hintIntervalMs = 100
        limits.antiEntropyIntervalMs = 0  // convergence here must come from the request path
        let c = try DeterministicCluster.start((0..<count).map { "n\($0)" }, seed: seed, limits: limits)
        c.clock.run(forMs: 500)
        return c
    }

    /// Keys whose first primary is `node`.
    func keys(firstPrimary node: String, in c: DeterministicCluster, count: Int, prefix: String) -> [String] {
        guard let ring = c.ring else { return [] }
        var out: [String] = []
        var i = 0
        while out.count < count && i < 100_000 {
            let k = "\(prefix)\(i)"
            if PreferenceList(ring: ring, namespace: Array("default".utf8), key: Array(k.utf8), n: 3).primaries.first == node { out.append(k) }
            i += 1
        }
        return out
    }

    /// Warm traffic through every node, so every peer has round-trip samples of every peer.
    func warmUp(_ c: DeterministicCluster) {
        for i in 0..<60 {
            let node = c.ids[i % c.ids.count]
            XCTAssertNil(c.writeNow(node, "warm\(i)", "w"), "warm-up write, seed \(seed)")
        }
    }

    struct Timed {
        var error: ClientError?
        var ms: Int64
    }

    func timedWrite(_ c: DeterministicCluster, _ node: String, _ key: String, _ value: String,
                    options: RequestOptions = RequestOptions()) -> Timed {
        let start = c.clock.nowMs
        let error = c.writeNow(node, key, value, options: options)
        return Timed(error: error, ms: c.clock.nowMs - start)
    }

    func timedRead(_ c: DeterministicCluster, _ node: String, _ key: String,
                   options: RequestOptions = RequestOptions()) -> (Result<KeyRecord?, ClientError>, Int64) {
        let start = c.clock.nowMs
        let r = c.readNow(node, key, options: options)
        return (r, c.clock.nowMs - start)
    }

    func siblingValues(_ r: Result<KeyRecord?, ClientError>) -> [String]? {
        guard case .success(let rec) = r else { return nil }
        guard let rec, case .siblings(let s) = rec else { return [] }
        return s.siblings.compactMap { $0.value.bytes.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The issue's case: three peers, the first primary of the keys silently drops every
    /// packet (iptables DROP both ways); writes and reads through the other two succeed at
    /// once with the default TIMEOUT, and once the silent peer has missed a couple of
    /// deadlines it is passed over without waiting at all.
    func testSilentFirstPrimaryDoesNotBlockWritesOrReads() throws {
        let c = try cluster(3)
        defer { c.shutdown() }
        warmUp(c)
        let ks = keys(firstPrimary: "n0", in: c, count: 40, prefix: "s")
        c.wire.setSilent("n0")
        var latencies: [Int64] = []
        for (i, k) in ks.enumerated() {
            let via = i % 2 == 0 ? "n1" : "n2"
            let t = timedWrite(c, via, k, "v\(i)")
            XCTAssertNil(t.error, "write \(k) via \(via) with n0 silent, seed \(seed)")
            latencies.append(t.ms)
        }
        XCTAssertLessThanOrEqual(latencies.max() ?? 0, 600, "no write waits more than two forward deadlines: \(latencies), seed \(seed)")
        // After the first misses n0 is passed over: the rest take one replica round trip.
        XCTAssertTrue(c.engines["n1"]!.latency.isDeprioritized("n0") && c.engines["n2"]!.latency.isDeprioritized("n0"),
                      "n0 missed its deadlines, seed \(seed)")
        XCTAssertLessThanOrEqual(latencies.suffix(20).max() ?? 0, 60, "once passed over, no wait: \(latencies.suffix(20)), seed \(seed)")
        XCTAssertGreaterThan(c.engines["n1"]!.counters.forwardFailovers.load(ordering: .relaxed)
                             + c.engines["n2"]!.counters.forwardFailovers.load(ordering: .relaxed), 0)
        for (i, k) in ks.enumerated() {
            let (r, ms) = timedRead(c, i % 2 == 0 ? "n2" : "n1", k)
            XCTAssertEqual(siblingValues(r), ["v\(i)"], "read \(k) with n0 silent, seed \(seed)")
            XCTAssertLessThanOrEqual(ms, 60, "a read needs R=2 of the two that answer, seed \(seed)")
        }
        // n0 returns: its first answer clears the miss streak, and it coordinates again.
        c.wire.heal()
        XCTAssertNil(c.writeNow("n1", ks[0], "after"))
        XCTAssertNil(c.writeNow("n1", ks[1], "after"))
        XCTAssertFalse(c.engines["n1"]!.latency.isDeprioritized("n0"), "n0 answered again, seed \(seed)")
    }

    /// The forward reaches the coordinator, which applies and replicates the write, but its
    /// answer never comes back (one-way loss). The client peer fails over and the write is
    /// applied a second time under another dot; the write id folds both into one sibling, on
    /// every replica and in every read.
    func testRetriedForwardFoldsIntoOneSibling() throws {
        let c = try cluster(3)
        defer { c.shutdown() }
        warmUp(c)
        let ks = keys(firstPrimary: "n0", in: c, count: 10, prefix: "r")
        c.wire.drop(from: "n0", to: "n1")  // n0 hears n1 but n1 never hears n0
        for (i, k) in ks.enumerated() {
            XCTAssertNil(c.writeNow("n1", k, "once\(i)"), "write \(k), seed \(seed)")
        }
        XCTAssertGreaterThan(c.engines["n1"]!.counters.forwardFailovers.load(ordering: .relaxed), 0, "the forwards were retried")
        c.wire.heal()
        c.clock.run(forMs: 2_000)
        for (i, k) in ks.enumerated() {
            let r = c.readNow("n2", k, options: RequestOptions(r: .all))
            XCTAssertEqual(siblingValues(r), ["once\(i)"], "one client write, one sibling: \(k), seed \(seed)")
            // Read repair has run: every replica holds the write once.
            c.clock.run(forMs: 200)
            for node in c.ids {
                guard case .siblings(let s)? = c.local(node, k) else { return XCTFail("\(node) has no record of \(k), seed \(seed)") }
                XCTAssertEqual(s.siblings.count, 1, "\(node) holds \(s.siblings), seed \(seed)")
            }
        }
        // A later SET through any peer still supersedes it: no hidden sibling remains.
        XCTAssertNil(c.writeNow("n2", ks[0], "next"))
        XCTAssertEqual(siblingValues(c.readNow("n0", ks[0], options: RequestOptions(r: .all))), ["next"])
    }

    /// A peer that answers ten times slower than the rest: every write and read succeeds,
    /// none waits longer than a forward deadline plus a round trip.
    func testTenTimesSlowerPeerStillServes() throws {
        let c = try cluster(3)
        defer { c.shutdown() }
        warmUp(c)
        c.wire.setSlow("n0", factor: 10)
        let ks = keys(firstPrimary: "n0", in: c, count: 30, prefix: "w")
        var latencies: [Int64] = []
        for (i, k) in ks.enumerated() {
            let t = timedWrite(c, i % 2 == 0 ? "n1" : "n2", k, "v\(i)")
            XCTAssertNil(t.error, "write \(k) with n0 slow, seed \(seed)")
            latencies.append(t.ms)
        }
        XCTAssertLessThanOrEqual(latencies.max() ?? 0, 600, "latencies \(latencies), seed \(seed)")
        for (i, k) in ks.enumerated() {
            let (r, ms) = timedRead(c, "n1", k)
            XCTAssertEqual(siblingValues(r).map { $0.contains("v\(i)") }, true, "read \(k): \(r), seed \(seed)")
            XCTAssertLessThanOrEqual(ms, 60, "R=2 from the two fast replicas, seed \(seed)")
        }
    }

    /// Requests from n1 to n0 vanish; n0's own traffic to n1 flows. Writes and reads through
    /// n1 succeed, and so do writes through n0 (its forwards to n1 are answered).
    func testOneWayLossToThePrimary() throws {
        let c = try cluster(3)
        defer { c.shutdown() }
        warmUp(c)
        c.wire.drop(from: "n1", to: "n0")
        let ks = keys(firstPrimary: "n0", in: c, count: 20, prefix: "o")
        for (i, k) in ks.enumerated() {
            let t = timedWrite(c, "n1", k, "v\(i)")
            XCTAssertNil(t.error, "write \(k) via n1, seed \(seed)")
            XCTAssertLessThanOrEqual(t.ms, 600, "seed \(seed)")
            let (r, ms) = timedRead(c, "n1", k)
            XCTAssertEqual(siblingValues(r).map { $0.contains("v\(i)") }, true, "read \(k) via n1: \(r), seed \(seed)")
            XCTAssertLessThanOrEqual(ms, 300, "seed \(seed)")
        }
        let other = keys(firstPrimary: "n1", in: c, count: 10, prefix: "p")
        for k in other { XCTAssertNil(c.writeNow("n0", k, "x"), "write \(k) via n0, seed \(seed)") }
    }

    /// Five peers, N=3, W=all and R=all: a silent primary is replaced by a fallback after its
    /// deadline (a hinted copy for writes, a sloppy read for reads), without gossip.
    func testSilentReplicaIsReplacedByAFallbackWithAHint() throws {
        let c = try cluster(5)
        defer { c.shutdown() }
        warmUp(c)
        guard let ring = c.ring else { return XCTFail("no ring") }
        // Keys whose SECOND primary goes silent: the coordinator (first primary) is fine.
        var ks: [(key: String, first: String, silent: String)] = []
        var i = 0
        while ks.count < 10 && i < 10_000 {
            let k = "f\(i)"
            let p = PreferenceList(ring: ring, namespace: Array("default".utf8), key: Array(k.utf8), n: 3).primaries
            if p[1] == "n3" { ks.append((k, p[0], p[1])) }
            i += 1
        }
        XCTAssertEqual(ks.count, 10)
        c.wire.setSilent("n3")
        for (j, e) in ks.enumerated() {
            let t = timedWrite(c, e.first, e.key, "v\(j)", options: RequestOptions(w: .all))
            XCTAssertNil(t.error, "W=all with \(e.silent) silent: a fallback stands in, seed \(seed)")
            XCTAssertLessThanOrEqual(t.ms, 600, "seed \(seed)")
            let (r, ms) = timedRead(c, e.first, e.key, options: RequestOptions(r: .all))
            XCTAssertEqual(siblingValues(r), ["v\(j)"], "R=all with a sloppy read, seed \(seed)")
            XCTAssertLessThanOrEqual(ms, 600, "seed \(seed)")
        }
        let hints = c.ids.filter { $0 != "n3" }.reduce(0) { $0 + c.engines[$1]!.replica.hints.total }
        XCTAssertGreaterThanOrEqual(hints, ks.count, "every write left a hint for n3, seed \(seed)")
        // With STRICT no fallback may stand in: W=all cannot be met, and the request says so
        // within its TIMEOUT.
        let strict = timedWrite(c, ks[0].first, ks[0].key, "strict", options: RequestOptions(w: .all, strict: true, timeoutMs: 400))
        XCTAssertNotNil(strict.error, "seed \(seed)")
        XCTAssertLessThanOrEqual(strict.ms, 400, "seed \(seed)")
        // n3 returns: the hints reach it.
        c.wire.heal()
        XCTAssertTrue(c.clock.run(forMs: 30_000, checkEveryMs: 100) { c.ids.allSatisfy { c.engines[$0]!.replica.hints.total == 0 } },
                      "hints delivered, seed \(seed)")
        // (The failed STRICT write may be partially applied: it may supersede v0.)
        for (j, e) in ks.enumerated() {
            let want = j == 0 ? [["v0"], ["strict"]] : [["v\(j)"]]
            XCTAssertTrue(want.contains(liveValues(c.local("n3", e.key))), "n3 holds \(liveValues(c.local("n3", e.key))) of \(e.key), seed \(seed)")
        }
    }

    /// A TIMEOUT below the forward deadline still bounds the whole request.
    func testTimeoutSmallerThanForwardDeadlineBoundsTheRequest() throws {
        let c = try cluster(3)
        defer { c.shutdown() }
        warmUp(c)
        let ks = keys(firstPrimary: "n0", in: c, count: 5, prefix: "t")
        c.wire.setSilent("n0")
        for k in ks {
            let t = timedWrite(c, "n1", k, "x", options: RequestOptions(timeoutMs: 3))
            XCTAssertLessThanOrEqual(t.ms, 3, "answered within TIMEOUT 3 ms: \(t), seed \(seed)")
            if let e = t.error { XCTAssertTrue(e.line.hasPrefix("TIMEOUT"), e.line) }
        }
    }
}
