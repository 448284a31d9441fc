import Foundation
import Gossip
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Expiry and read-modify-write through the whole node on the deterministic simulation
/// (virtual wall clock): an expired key stays absent through every peer after a replica that
/// missed the write comes back (read repair, anti-entropy, hints, a crash and restart), and
/// is reaped everywhere after the grace; RMWs through every peer make no siblings.
final class ExpirySimulationTests: XCTestCase {
    let seed: UInt64 = ProcessInfo.processInfo.environment["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0013

    func limits() -> NodeEngine.Limits {
        var l = NodeEngine.Limits()
        l.defaultTimeoutMs = 2_000
        l.hintIntervalMs = 100
        l.antiEntropyIntervalMs = 0
        return l
    }

    func cluster(graceMs: Int64 = 60_000) throws -> DeterministicCluster {
        let ns = try Namespace(name: "default", tombstoneGraceMs: graceMs)
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: seed, limits: limits(),
                                               namespaces: try NamespaceTable(version: 2, namespaces: [ns]))
        c.clock.run(forMs: 1_000)  // the virtual wall clock starts near 0: expiries need room
        return c
    }

    func live(_ c: DeterministicCluster, _ node: String, _ key: String) -> [String] {
        (c.local(node, key)?.live(atMs: UInt64(c.clock.wallMs)) ?? []).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    func read(_ c: DeterministicCluster, _ node: String, _ key: String) -> [String]? {
        guard case .success(let r) = c.readNow(node, key) else { return nil }
        return (r?.live(atMs: UInt64(c.clock.wallMs)) ?? []).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    func testExpiredKeyNeverComesBackFromAStaleReplicaAndIsReapedEverywhere() throws {
        let c = try cluster()
        defer { c.shutdown() }
        XCTAssertNil(c.writeNow("n1", "doomed", "old"))
        XCTAssertNil(c.writeNow("n1", "kept", "alive"))
        // n3 misses the expiring write (it gets a hint, which is delivered when it is back).
        c.setDown("n3", true)
        let at = UInt64(c.clock.wallMs) + 5_000
        XCTAssertEqual(try c.transformNow("n2", "doomed", .set(value: Array("old".utf8), condition: .always, reply: .ok, expiry: .at(at))), .ok)
        XCTAssertEqual(live(c, "n3", "doomed"), ["old"], "n3 holds the older version without an expiry")
        c.clock.run(forMs: 6_000)
        for id in ["n1", "n2"] { XCTAssertEqual(live(c, id, "doomed"), [], "\(id) still reads the expired value") }
        c.setDown("n3", false)
        // Every peer answers absent; read repair and anti-entropy take the expired version to n3.
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(read(c, id, "doomed"), [], "read through \(id)") }
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            XCTAssertNotNil(c.local(id, "doomed"), "\(id) reaped before the grace period")
            XCTAssertEqual(live(c, id, "doomed"), [])
            XCTAssertEqual(live(c, id, "kept"), ["alive"])
        }
        // Past the grace (counted from the expiry) and a confirming exchange: gone everywhere.
        c.clock.run(forMs: 61_000)
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(id).failures, []) }
        for id in ["n1", "n2", "n3"] {
            try c.engines[id]!.replica.store.compactRange()
            XCTAssertNil(c.local(id, "doomed"), "\(id) still holds the expired record")
            XCTAssertEqual(live(c, id, "kept"), ["alive"], "a key without expiry was touched")
        }
        try c.crashAndRestart("n3")
        for id in ["n1", "n2", "n3"] { _ = c.repairNow(id) }
        for id in ["n1", "n2", "n3"] {
            XCTAssertEqual(read(c, id, "doomed"), [], "\(id) resurrected the key")
            XCTAssertEqual(read(c, id, "kept"), ["alive"])
        }
    }

    func testReadModifyWritesThroughEveryPeerMakeNoSiblings() throws {
        let c = try cluster()
        defer { c.shutdown() }
        var expected = ""
        for i in 0..<9 {
            let node = ["n1", "n2", "n3"][i % 3]
            let piece = String(UnicodeScalar(UInt8(97 + i)))
            expected += piece
            XCTAssertEqual(try c.transformNow(node, "log", .append(Array(piece.utf8))), .integer(Int64(expected.count)), "APPEND via \(node)")
        }
        for id in ["n1", "n2", "n3"] {
            guard case .siblings(let s)? = c.local(id, "log") else { return XCTFail("no record on \(id)") }
            XCTAssertEqual(s.siblings.count, 1, "siblings on \(id)")
            XCTAssertEqual(live(c, id, "log"), [expected])
        }
        XCTAssertEqual(try c.transformNow("n3", "log", .set(value: [1], condition: .ifAbsent, reply: .flag, expiry: .clear)), .integer(0))
        XCTAssertEqual(try c.transformNow("n2", "log", .expire(atMs: UInt64(c.clock.wallMs) + 100_000, conditions: .nx)), .integer(1))
        XCTAssertEqual(try c.transformNow("n1", "log", .expire(atMs: UInt64(c.clock.wallMs) + 100_000, conditions: .nx)), .integer(0))
        XCTAssertEqual(try c.transformNow("n3", "log", .getDel), .bulk(Array(expected.utf8)))
        for id in ["n1", "n2", "n3"] { XCTAssertEqual(read(c, id, "log"), []) }
    }

    /// APPEND on a key with two siblings (concurrent SETs on both sides of a cut) is refused
    /// with CONFLICT and writes nothing; after PUTV resolves it, APPEND works again.
    func testAppendOnSiblingsIsRefusedUntilResolved() throws {
        let c = try cluster()
        defer { c.shutdown() }
        XCTAssertNil(c.writeNow("n1", "k", "base"))
        c.partition(["n1"], ["n2", "n3"])
        let one = RequestOptions(w: .count(1))
        XCTAssertNil(c.writeNow("n1", "k", "left", options: one))
        XCTAssertNil(c.writeNow("n2", "k", "right", options: one))
        c.heal()
        for id in ["n1", "n2", "n3"] { _ = c.repairNow(id) }
        XCTAssertEqual(live(c, "n1", "k").sorted(), ["left", "right"])
        XCTAssertThrowsError(try c.transformNow("n2", "k", .append(Array("!".utf8)))) {
            XCTAssertEqual(($0 as? ClientError)?.line, "CONFLICT 2 siblings, read them with GETV")
        }
        XCTAssertEqual(live(c, "n1", "k").sorted(), ["left", "right"], "the refused APPEND wrote something")
        guard case .success(let r) = c.readNow("n1", "k"), case .siblings(let s)? = r else { return XCTFail("no read") }
        XCTAssertNil(c.writeNow("n1", "k", "merged", context: s.context.encodeContext()))
        XCTAssertEqual(try c.transformNow("n3", "k", .append(Array("!".utf8))), .integer(7))
    }

    /// n3's wall clock runs 30 s ahead. Once ClockGuard has measured it, n3 judges expiry by
    /// the members' median: a key with 10 s to live still reads through n3 (uncorrected, its
    /// clock would say it expired 20 s ago), its TTL through n3 agrees with n1's, and an
    /// EX counted from n3 lasts 10 s on every peer instead of 40.
    func testAPeerWhoseClockRunsAheadDoesNotExpireEarly() throws {
        let c = try cluster()
        defer { c.shutdown() }
        c.skews["n3"] = 30_000
        let peers = ["n1", "n2", "n3"]
        func measure() {
            for id in peers {
                var offsets: [String: ClockOffset] = [:]
                for other in peers where other != id {
                    offsets[other] = ClockOffset(offsetUs: (c.skews[other] - c.skews[id]) * 1_000, errorUs: 5_000, rttUs: 10_000,
                                                 samples: 8, lastSampleNs: UInt64(max(0, c.clock.nowMs)) * 1_000_000)
                }
                c.engines[id]?.clockGuard.update(ClockSkew.assess(selfID: id, offsets: offsets, live: Set(peers)))
            }
        }
        let all = RequestOptions(r: .all, w: .all)
        func reads(_ node: String, _ key: String) -> [String]? {
            measure()
            guard case .success(let r) = c.readNow(node, key, options: all), let now = c.engines[node]?.expiryNowMs else { return nil }
            return (r?.live(atMs: now) ?? []).map { String(decoding: $0.bytes, as: UTF8.self) }
        }
        measure()
        let wall1 = try XCTUnwrap(c.engines["n1"]?.expiryNowMs), wall3 = try XCTUnwrap(c.engines["n3"]?.expiryNowMs)
        XCTAssertLessThanOrEqual(abs(Int64(wall3) - Int64(wall1)), 10, "n3's expiry clock is the median's, within the error")

        XCTAssertEqual(try c.transformNow("n1", "ten", .set(value: Array("v".utf8), condition: .always, reply: .ok, expiry: .at(wall1 + 10_000)),
                                          options: all), .ok)
        XCTAssertEqual(try c.transformNow("n3", "from-n3", .set(value: Array("w".utf8), condition: .always, reply: .ok,
                                                                 expiry: .at((c.engines["n3"]?.expiryNowMs ?? 0) + 10_000)), options: all), .ok)
        c.clock.run(forMs: 5_000)
        for id in peers {
            XCTAssertEqual(reads(id, "ten"), ["v"], "expired early through \(id)")
            XCTAssertEqual(reads(id, "from-n3"), ["w"], "expired early through \(id)")
        }
        guard case .success(let r) = c.readNow("n3", "ten", options: all), let live = r?.live(atMs: c.engines["n3"]?.expiryNowMs ?? 0).first,
              let now3 = c.engines["n3"]?.expiryNowMs, let now1 = c.engines["n1"]?.expiryNowMs else { return XCTFail("no read through n3") }
        XCTAssertEqual(Double(Int64(live.expiresAtMs) - Int64(now3)), Double(Int64(live.expiresAtMs) - Int64(now1)), accuracy: 10,
                       "TTL through n3 and n1 agree")
        c.clock.run(forMs: 5_100)
        for id in peers {
            XCTAssertEqual(reads(id, "ten"), [], "\(id) still reads an expired key")
            XCTAssertEqual(reads(id, "from-n3"), [], "an EX counted from n3 lasted longer than asked on \(id)")
        }
    }
}

extension DeterministicCluster {
    /// A read-modify-write through `node`, run to its end in virtual time; throws the client error.
    func transformNow(_ node: String, _ key: String, _ t: WriteTransform, options: RequestOptions = RequestOptions()) throws -> TransformReply {
        let box = Mutex<Result<TransformReply, ClientError>?>(nil)
        engines[node]?.transform(namespace: "default", key: Array(key.utf8), t, options: options) { r in box.withLock { $0 = r } }
        clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
        guard let r = box.withLock({ $0 }) else { throw ClientError("transform did not complete") }
        return try r.get()
    }
}
