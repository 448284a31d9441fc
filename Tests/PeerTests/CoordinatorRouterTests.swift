// Where a write is coordinated: the first up primary, one forward hop at most, the next
// candidate when a hop fails, fallbacks only without STRICT.
import XCTest
@testable import Peer

final class CoordinatorRouterTests: XCTestCase {
    struct Row {
        var line: UInt
        var replicas: String
        var local: String
        var strict = false
        var forwarded = false
        /// forward hops that fail, in order
        var failing: [String] = []
        /// "local", "forward b", "fail" after the failing hops
        var decision: String
    }

    let rows: [Row] = [
        Row(line: #line, replicas: "a:P b:P c:P", local: "a", decision: "local"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "b", decision: "forward a"),
        Row(line: #line, replicas: "a:P b:P c:P d:F", local: "d", decision: "forward a"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "z", decision: "forward a"),
        Row(line: #line, replicas: "a:P- b:P c:P", local: "c", decision: "forward b"),
        Row(line: #line, replicas: "a:P- b:P c:P", local: "b", decision: "local"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "c", forwarded: true, decision: "local"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "z", forwarded: true, decision: "local"),
        // failing hops move down the candidates; the local node takes over when its turn comes
        Row(line: #line, replicas: "a:P b:P c:P", local: "c", failing: ["a"], decision: "forward b"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "c", failing: ["a", "b"], decision: "local"),
        Row(line: #line, replicas: "a:P b:P c:P", local: "z", failing: ["a", "b", "c"], decision: "fail"),
        Row(line: #line, replicas: "a:P b:P c:P d:F", local: "z", failing: ["a", "b", "c"], decision: "fail"),
        // a stale failure report (not the current hop) changes nothing
        Row(line: #line, replicas: "a:P b:P c:P", local: "z", failing: ["b"], decision: "forward a"),
        // all primaries down: the fallback chosen for the first down primary coordinates
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F", local: "z", decision: "forward d"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F", local: "e", decision: "forward d"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F", local: "e", failing: ["d"], decision: "local"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F- e:F", local: "z", decision: "forward e"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F", local: "d", strict: true, decision: "fail"),
        Row(line: #line, replicas: "a:P- b:P c:P d:F", local: "d", strict: true, decision: "forward b"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F- e:F-", local: "z", decision: "fail"),
        // a pending owner never coordinates
        Row(line: #line, replicas: "x:X a:P- b:P", local: "x", decision: "forward b"),
        Row(line: #line, replicas: "a:P b:P c:P x:X", local: "z", failing: ["a", "b", "c"], decision: "fail"),
    ]

    func testRoutingFromTable() {
        for row in rows {
            var router = CoordinatorRouter(replicas: replicas(row.replicas), localNode: row.local, strict: row.strict, forwarded: row.forwarded)
            var decision = router.start()
            for node in row.failing { decision = router.onForwardFailed(to: node) }
            XCTAssertEqual(render(decision), row.decision, line: row.line)
            XCTAssertEqual(router.decision, decision, line: row.line)
        }
    }

    func testNoCoordinatorErrorTexts() {
        var router = CoordinatorRouter(replicas: replicas("a:P-"), localNode: "z", strict: true, forwarded: false)
        guard case .fail(let failure) = router.start() else { return XCTFail("expected a failure") }
        XCTAssertEqual(failure.message, "UNAVAILABLE no primary replica can coordinate the write (STRICT; nothing written)")
        var sloppy = CoordinatorRouter(replicas: replicas("a:P-"), localNode: "z", strict: false, forwarded: false)
        guard case .fail(let other) = sloppy.start() else { return XCTFail("expected a failure") }
        XCTAssertEqual(other.message, "UNAVAILABLE no replica can coordinate the write (nothing written)")
    }

    func render(_ decision: RouterDecision) -> String {
        switch decision {
        case .coordinateLocally: return "local"
        case .forward(let node): return "forward \(node)"
        case .fail: return "fail"
        }
    }
}

/// Forwards that were sent and not answered in time: the next candidate coordinates the same
/// write; with none left the local node stands in (not with STRICT).
final class CoordinatorRouterTimeoutTests: XCTestCase {
    func testTimedOutHopsMoveOnAndTheLocalNodeStandsIn() {
        var r = CoordinatorRouter(replicas: replicas("a:P b:P c:P"), localNode: "z", strict: false, forwarded: false)
        XCTAssertEqual(r.start(), .forward(to: "a"))
        XCTAssertEqual(r.onForwardTimedOut(to: "b"), .forward(to: "a"), "a report about another node changes nothing")
        XCTAssertEqual(r.onForwardTimedOut(to: "a"), .forward(to: "b"))
        XCTAssertEqual(r.onForwardFailed(to: "b"), .forward(to: "c"))
        XCTAssertEqual(r.onForwardTimedOut(to: "c"), .coordinateLocally)
        XCTAssertEqual(r.passedOver, ["a", "c"], "b was never sent the write")
    }

    func testLocalPrimaryTakesOverAfterATimedOutHop() {
        var r = CoordinatorRouter(replicas: replicas("a:P b:P c:P"), localNode: "b", strict: true, forwarded: false)
        XCTAssertEqual(r.start(), .forward(to: "a"))
        XCTAssertEqual(r.onForwardTimedOut(to: "a"), .coordinateLocally)
    }

    func testStrictWithEveryPrimarySilentFailsSayingItMayBePartiallyApplied() {
        var r = CoordinatorRouter(replicas: replicas("a:P b:P c:P d:F"), localNode: "d", strict: true, forwarded: false)
        XCTAssertEqual(r.start(), .forward(to: "a"))
        _ = r.onForwardTimedOut(to: "a")
        _ = r.onForwardTimedOut(to: "b")
        guard case .fail(let f) = r.onForwardTimedOut(to: "c") else { return XCTFail("expected a failure") }
        XCTAssertEqual(f.message, "UNAVAILABLE no primary replica answered the forwarded write in time (STRICT; write may be partially applied)")
        // Only refused hops: nothing was sent, nothing written.
        var refused = CoordinatorRouter(replicas: replicas("a:P"), localNode: "z", strict: false, forwarded: false)
        _ = refused.start()
        guard case .fail(let g) = refused.onForwardFailed(to: "a") else { return XCTFail("expected a failure") }
        XCTAssertEqual(g.reason, .noCoordinator)
    }
}

/// A target that misses its deadline: a spare stands in (hinted), the late target still counts.
final class CoordinatorLateTargetTests: XCTestCase {
    func testLateTargetGetsASpareAndItsLateAckStillCounts() {
        var w = WriteCoordinator(replicas: replicas("a:P b:P c:P d:F e:F"), localNode: "a", w: 3, strict: false, timeoutMs: 1_000)
        _ = w.start()
        XCTAssertEqual(renderSends(w.onLocalApplied(ok: true)), "b c")
        XCTAssertEqual(w.onAck(from: "b"), [])
        XCTAssertEqual(renderSends(w.onLate("c")), "d>c")
        XCTAssertEqual(w.onLate("c"), [], "once per target")
        XCTAssertEqual(w.onLate("b"), [], "b answered already")
        XCTAssertEqual(w.onAck(from: "c"), [.reply(.ok)], "the late target's ack counts")
        XCTAssertEqual(w.onAck(from: "d"), [])
        XCTAssertEqual(w.late, ["c"])
    }

    func testNoSpareWithStrictOrAfterTheReply() {
        var strict = WriteCoordinator(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", w: 2, strict: true, timeoutMs: 1_000)
        _ = strict.start()
        _ = strict.onLocalApplied(ok: true)
        XCTAssertEqual(strict.onLate("b"), [])
        XCTAssertEqual(strict.onAck(from: "c"), [.reply(.ok)])
        var done = WriteCoordinator(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", w: 2, strict: false, timeoutMs: 1_000)
        _ = done.start()
        _ = done.onLocalApplied(ok: true)
        XCTAssertEqual(done.onAck(from: "c"), [.reply(.ok)])
        XCTAssertEqual(done.onLate("b"), [], "W was met: nothing more to send")
    }

    func testLateReadTargetIsReplacedBySpare() {
        var r = ReadCoordinator<FakeState>(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", r: 3, strict: false, timeoutMs: 1_000)
        _ = r.start()
        _ = r.onReply(from: "a", state: FakeState(version: 1))
        _ = r.onReply(from: "b", state: FakeState(version: 2))
        XCTAssertEqual(r.onLate("c"), [.read(from: "d")])
        XCTAssertEqual(r.onReply(from: "d", state: nil), [.reply(.value(FakeState(version: 2)))])
        var s = ReadCoordinator<FakeState>(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", r: 3, strict: true, timeoutMs: 1_000)
        _ = s.start()
        XCTAssertEqual(s.onLate("c"), [], "STRICT never reads a fallback")
    }
}
