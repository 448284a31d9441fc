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
