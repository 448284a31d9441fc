import Gossip
import Ring
import Synchronization
import XCTest
@testable import Peer

/// This peer's clock among the members' (ClockSkew) and the lww refusal (ClockGuard),
/// from tables.
final class ClockSkewTests: XCTestCase {
    func o(_ ms: Int64, errorMs: Int64 = 0) -> ClockOffset {
        ClockOffset(offsetUs: ms * 1_000, errorUs: errorMs * 1_000, rttUs: errorMs * 2_000, samples: 1, lastSampleNs: 0)
    }

    func testOffsetsFromTheMedianOfEveryMemberSelfIncluded() throws {
        // (what this peer, "me", measured of the others, this peer's offset from the median, exceeds 500?)
        let table: [([String: ClockOffset], Int64, Bool, String)] = [
            // 3 peers, "b" 2 s ahead, seen from the good peer "a": the median is a's own clock.
            (["b": o(2_000), "c": o(0)], 0, false, "good peer beside one fast peer"),
            // ... and from "b": both others look 2 s behind, so b is 2 s off.
            (["a": o(-2_000), "c": o(-2_000)], 2_000, true, "the fast peer itself"),
            (["a": o(3_000), "c": o(3_000)], -3_000, true, "a slow peer"),
            (["b": o(400), "c": o(-400)], 0, false, "spread within the bound"),
            // 2 peers: cannot tell which one is wrong; both are half the gap off.
            (["b": o(2_000)], -1_000, true, "two peers"),
            // 5 peers, two fast ones: the median stays with the three good ones.
            (["b": o(2_000), "c": o(2_100), "d": o(0), "e": o(10)], -10, false, "two fast of five, seen from a good one"),
            // The error bound is granted: 600 ms +- 150 ms is not surely beyond 500.
            (["a": o(-600, errorMs: 150), "c": o(-600, errorMs: 150)], 600, false, "within the error bound"),
        ]
        for (offsets, selfMs, exceeds, name) in table {
            let live = Set(offsets.keys).union(["me"])
            let skew = try XCTUnwrap(ClockSkew.assess(selfID: "me", offsets: offsets, live: live), name)
            XCTAssertEqual(skew.selfOffsetMs, selfMs, name)
            XCTAssertEqual(skew.exceeds(maxOffsetMs: 500), exceeds, name)
            XCTAssertEqual(skew.memberOffsetsMs["me"], selfMs, name)
        }
    }

    func testEveryPeerReportsTheSameOffsetForTheFastOne() throws {
        let fromA = try XCTUnwrap(ClockSkew.assess(selfID: "a", offsets: ["b": o(2_000), "c": o(0)], live: ["a", "b", "c"]))
        let fromB = try XCTUnwrap(ClockSkew.assess(selfID: "b", offsets: ["a": o(-2_000), "c": o(-2_000)], live: ["a", "b", "c"]))
        XCTAssertEqual(fromA.memberOffsetsMs, ["a": 0, "b": 2_000, "c": 0])
        XCTAssertEqual(fromB.memberOffsetsMs, fromA.memberOffsetsMs)
    }

    func testMembersNotLiveAndNoSamplesDoNotCount() {
        XCTAssertNil(ClockSkew.assess(selfID: "a", offsets: [:], live: ["a", "b"]))
        XCTAssertNil(ClockSkew.assess(selfID: "a", offsets: ["b": o(5_000)], live: ["a"]), "a dead member does not vote")
    }

    func testGuardRefusesOnlyLWWWithTheSpecTextAndLogsOnce() throws {
        let lines = Mutex<[String]>([])
        let guardian = ClockGuard(nodeID: "n2", maxOffsetMs: 500, log: { l in lines.withLock { $0.append(l) } })
        let lww = try Namespace(name: "l", conflict: .lww)
        let siblings = try Namespace(name: "s")
        XCTAssertNil(guardian.refusal(for: lww), "no measurement yet: nothing refused")
        let bad = ClockSkew.assess(selfID: "n2", offsets: ["n1": o(-2_003), "n3": o(-2_001)], live: ["n1", "n2", "n3"])
        guardian.update(bad)
        guardian.update(bad)
        XCTAssertEqual(guardian.refusal(for: lww), ClientError("ERR clock offset 2001 ms exceeds max-clock-offset; check NTP on n2"))
        XCTAssertNil(guardian.refusal(for: siblings), "siblings namespaces do not depend on clocks")
        XCTAssertTrue(guardian.isRefusing)
        XCTAssertTrue(guardian.isOutlier("n2"))
        XCTAssertFalse(guardian.isOutlier("n1"))
        XCTAssertFalse(guardian.isOutlier("unknown"))
        XCTAssertEqual(lines.withLock { $0.count }, 1, "logged once")
        XCTAssertTrue(lines.withLock { $0[0] }.contains("refusing to coordinate lww writes"))
        guardian.update(ClockSkew.assess(selfID: "n2", offsets: ["n1": o(-3), "n3": o(1)], live: ["n1", "n2", "n3"]))
        XCTAssertNil(guardian.refusal(for: lww))
        XCTAssertEqual(lines.withLock { $0.count }, 2, "and once when it is back")
        XCTAssertEqual(guardian.memberOffsetsMs.map(\.node), ["n1", "n2", "n3"])
    }
}

/// The lww refusal in the write path, on the deterministic cluster: a peer whose clock is
/// off refuses its clients' lww writes with SPEC 6's text and still takes siblings writes;
/// the other peers' lww writes they coordinate themselves go on.
final class ClockRefusalClusterTests: XCTestCase {
    func testPeerWithClockOffRefusesLWWWritesButNotSiblingsWrites() throws {
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.antiEntropyIntervalMs = 0
        let table = try NamespaceTable(version: 2, namespaces: [try Namespace(name: "default"), try Namespace(name: "clocked", conflict: .lww)])
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: 3, limits: limits, namespaces: table)
        defer { c.shutdown() }
        func o(_ ms: Int64) -> ClockOffset { ClockOffset(offsetUs: ms * 1_000, errorUs: 100, rttUs: 200, samples: 8, lastSampleNs: 0) }
        // What gossip would have measured: n2 runs 2 s ahead of n1 and n3.
        let skew = [
            "n1": ClockSkew.assess(selfID: "n1", offsets: ["n2": o(2_000), "n3": o(0)], live: ["n1", "n2", "n3"]),
            "n2": ClockSkew.assess(selfID: "n2", offsets: ["n1": o(-2_000), "n3": o(-2_000)], live: ["n1", "n2", "n3"]),
            "n3": ClockSkew.assess(selfID: "n3", offsets: ["n1": o(0), "n2": o(2_000)], live: ["n1", "n2", "n3"]),
        ]
        for (id, s) in skew { c.engines[id]?.clockGuard.update(s) }
        XCTAssertEqual(c.engines["n2"]?.clockGuard.isRefusing, true)
        XCTAssertEqual(c.engines["n1"]?.clockGuard.isRefusing, false)

        for i in 0..<20 {
            let e = c.writeNow("n2", "l\(i)", "v", namespace: "clocked")
            XCTAssertEqual(e, ClientError("ERR clock offset 2000 ms exceeds max-clock-offset; check NTP on n2"), "l\(i)")
            XCTAssertNil(c.writeNow("n2", "s\(i)", "v"), "siblings write s\(i) through the peer whose clock is off")
        }
        var acknowledged = 0
        for i in 0..<30 {
            let key = "m\(i)"
            let e = c.writeNow("n1", key, "v", namespace: "clocked")
            if e == nil {
                acknowledged += 1
            } else {
                XCTAssertTrue(e?.line.hasPrefix("ERR clock offset") ?? false, "\(key): \(String(describing: e))")
            }
        }
        XCTAssertGreaterThan(acknowledged, 0, "no lww write through a good peer succeeded")
    }
}
