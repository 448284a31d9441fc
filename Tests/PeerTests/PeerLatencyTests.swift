// Deadlines from measured round trips: SRTT/RTTVAR as TCP keeps them, a p99 over a window,
// clamped between a floor and a ceiling; misses in a row de-prioritise a peer until it answers.
import XCTest
@testable import Peer

final class PeerLatencyTests: XCTestCase {
    func testNoSampleUsesTheInitialDeadline() {
        let l = PeerLatency()
        XCTAssertEqual(l.deadlineMs("b", .forward), 250)
        XCTAssertEqual(l.deadlineMs("b", .replica), 250)
    }

    func testSteadyRoundTripsGiveTwiceTheirTime() {
        var l = PeerLatency()
        for _ in 0..<200 { l.observe("b", .replica, rttMs: 40) }
        // SRTT 40, RTTVAR decayed to ~0, p99 40: factor 2.
        XCTAssertEqual(l.deadlineMs("b", .replica), 80)
        // The other kind keeps its own estimate.
        XCTAssertEqual(l.deadlineMs("b", .forward), 250)
        XCTAssertEqual(l.peers["b"]?.estimate(.replica).samples, 200)
    }

    func testFloorAndCeiling() {
        var l = PeerLatency()
        for _ in 0..<50 { l.observe("fast", .replica, rttMs: 0.2) }
        for _ in 0..<50 { l.observe("slow", .replica, rttMs: 900) }
        XCTAssertEqual(l.deadlineMs("fast", .replica), 50)
        XCTAssertEqual(l.deadlineMs("slow", .replica), 250)
    }

    func testRareSlowRoundTripsRaiseTheP99() {
        var l = PeerLatency()
        for _ in 0..<2 { l.observe("b", .forward, rttMs: 100) }
        for _ in 0..<126 { l.observe("b", .forward, rttMs: 10) }
        // 128 samples, the two 100 ms ones at ranks 126 and 127: p99 = 100, while SRTT and
        // RTTVAR have long settled near 10 and 0.
        XCTAssertEqual(l.peers["b"]?.estimate(.forward).p99Ms, 100)
        XCTAssertEqual(l.deadlineMs("b", .forward), 200)
        // A fresh spike moves RTTVAR at once (as TCP's RTO): 2 x (SRTT + 4 RTTVAR) > ceiling.
        l.observe("b", .forward, rttMs: 200)
        XCTAssertEqual(l.deadlineMs("b", .forward), 250)
    }

    func testTheWindowForgetsOldSamples() {
        var l = PeerLatency()
        for _ in 0..<128 { l.observe("b", .forward, rttMs: 120) }
        for _ in 0..<128 { l.observe("b", .forward, rttMs: 40) }
        XCTAssertEqual(l.peers["b"]?.estimate(.forward).p99Ms, 40)
        // SRTT is 40; RTTVAR has not quite decayed from the 80 ms step: just above 80.
        XCTAssertTrue((80...82).contains(l.deadlineMs("b", .forward)), "\(l.deadlineMs("b", .forward))")
    }

    func testMissesInARowDeprioritiseUntilTheNextAnswer() {
        var l = PeerLatency()
        l.missed("b")
        XCTAssertFalse(l.isDeprioritized("b"))
        l.missed("b")
        XCTAssertTrue(l.isDeprioritized("b"))
        XCTAssertFalse(l.isDeprioritized("c"))
        l.observe("b", .replica, rttMs: 1)
        XCTAssertFalse(l.isDeprioritized("b"))
        l.missed("b")
        l.missed("b")
        l.heard("b")
        XCTAssertFalse(l.isDeprioritized("b"), "any answer counts, also one that is no sample")
        XCTAssertEqual(l.peers["b"]?.totalMisses, 4)
        // An answer between misses breaks the streak.
        l.missed("b")
        l.observe("b", .forward, rttMs: 5)
        l.missed("b")
        XCTAssertFalse(l.isDeprioritized("b"))
    }

    func testMeasuredTransportFeedsTheTracker() {
        final class Fake: PeerTransport, @unchecked Sendable {
            var results: [Result<[UInt8], RPCError>] = []
            func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
                      completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
                completion(results.removeFirst())
            }
        }
        final class Clock: @unchecked Sendable { var us: Int64 = 0 }
        let clock = Clock()
        let tracker = LatencyTracker(nowUs: { clock.us += 7_000; return clock.us })
        let fake = Fake()
        let t = MeasuredTransport(fake, tracker: tracker)
        fake.results = [.success([]), .failure(.timeout), .failure(.connectionLost), .failure(.remote(code: 1, message: "x")), .failure(.unreachable("no"))]
        for _ in 0..<5 { t.send(to: "b", type: .replicaWrite, payload: [], timeoutMs: 10) { _ in } }
        let b = tracker.snapshot.peers["b"]
        XCTAssertEqual(b?.estimate(.replica).samples, 2, "an answer and a remote error are round trips")
        XCTAssertEqual(b?.estimate(.replica).srttMs, 7)
        XCTAssertEqual(b?.totalMisses, 3)
        XCTAssertEqual(b?.consecutiveMisses, 1)
        // Requests whose time means nothing (a repair batch) say only that the peer answered.
        fake.results = [.success([])]
        t.send(to: "b", type: .repair, payload: [], timeoutMs: 10) { _ in }
        XCTAssertEqual(tracker.snapshot.peers["b"]?.estimate(.replica).samples, 2)
        XCTAssertEqual(tracker.snapshot.peers["b"]?.consecutiveMisses, 0)
    }
}
