// Write coordination from tables: N x W x STRICT x liveness x answers -> outcome and sends.
// Notation in CoordinatorFixturesTests.swift. Every row runs start, the local apply, the
// answers in order, then the timeout; the outcome is the one reply emitted.
import XCTest
@testable import Peer

final class CoordinatorWriteTableTests: XCTestCase {
    struct Row {
        var line: UInt
        var replicas: String
        var local = "a"
        var w: QuorumLevel
        var strict = false
        var localOK = true
        var answers: String
        var outcome: String
        var sends: String
    }

    static let n3 = "a:P b:P c:P d:F e:F"
    static let n5 = "a:P b:P c:P d:P e:P f:F g:F h:F"

    let rows: [Row] = [
        // N = 1
        Row(line: #line, replicas: "a:P", w: .one, answers: "", outcome: "ok", sends: ""),
        Row(line: #line, replicas: "a:P b:F", w: .all, answers: "", outcome: "ok", sends: ""),
        Row(line: #line, replicas: "a:P b:F", w: .quorum, strict: true, answers: "", outcome: "ok", sends: ""),
        Row(line: #line, replicas: "a:P", w: .one, localOK: false, answers: "", outcome: "localfailed", sends: ""),
        // N = 1, local node is a fallback for the down primary (sloppy): stored as a hint.
        Row(line: #line, replicas: "p:P- a:F", w: .one, answers: "", outcome: "ok", sends: ""),
        Row(line: #line, replicas: "p:P- a:F", w: .one, strict: true, answers: "", outcome: "unreachable 0/1", sends: ""),

        // N = 3, all up
        Row(line: #line, replicas: n3, w: .quorum, answers: "b+", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: n3, w: .quorum, answers: "c+ b+", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: n3, w: .one, answers: "", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: n3, w: .quorum, answers: "", outcome: "timeout 1/2", sends: "b c"),
        Row(line: #line, replicas: n3, w: .all, answers: "b+ c+", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: n3, w: .all, answers: "b+", outcome: "timeout 2/3", sends: "b c"),
        Row(line: #line, replicas: n3, w: .quorum, localOK: false, answers: "b+ c+", outcome: "localfailed", sends: ""),
        // nacks: a spare fallback takes the failed primary's copy, hinted for it
        Row(line: #line, replicas: n3, w: .quorum, answers: "b- c+", outcome: "ok", sends: "b c d>b"),
        Row(line: #line, replicas: n3, w: .quorum, answers: "b- c- d+", outcome: "ok", sends: "b c d>b e>c"),
        Row(line: #line, replicas: n3, w: .quorum, answers: "b- c- d- e-", outcome: "unavailable 1/2", sends: "b c d>b e>c"),
        Row(line: #line, replicas: n3, w: .all, answers: "b+ c- d+", outcome: "ok", sends: "b c d>c"),
        Row(line: #line, replicas: n3, w: .all, answers: "b+ c-", outcome: "timeout 2/3", sends: "b c d>c"),
        Row(line: #line, replicas: "a:P b:P c:P", w: .all, answers: "b+ c-", outcome: "unavailable 2/3", sends: "b c"),
        Row(line: #line, replicas: "a:P b:P c:P", w: .quorum, answers: "b- c-", outcome: "unavailable 1/2", sends: "b c"),
        // STRICT: no replacement, no fallback
        Row(line: #line, replicas: n3, w: .quorum, strict: true, answers: "b- c-", outcome: "unavailable 1/2", sends: "b c"),
        Row(line: #line, replicas: n3, w: .all, strict: true, answers: "b+ c-", outcome: "unavailable 2/3", sends: "b c"),
        Row(line: #line, replicas: n3, w: .quorum, strict: true, answers: "c+", outcome: "ok", sends: "b c"),
        // duplicate and unknown answers count nothing
        Row(line: #line, replicas: n3, w: .all, answers: "b+ b+ z+ a+", outcome: "timeout 2/3", sends: "b c"),
        Row(line: #line, replicas: n3, w: .all, answers: "b+ b- c+", outcome: "ok", sends: "b c"),
        // late answers after the reply change nothing
        Row(line: #line, replicas: n3, w: .quorum, answers: "b+ c- c+", outcome: "ok", sends: "b c d>c"),

        // N = 3, one primary down: sloppy quorum sends its copy to the first up fallback
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .quorum, answers: "b+", outcome: "ok", sends: "b d>c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .quorum, answers: "d+", outcome: "ok", sends: "b d>c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .all, answers: "b+ d+", outcome: "ok", sends: "b d>c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F- e:F", w: .all, answers: "b+ e+", outcome: "ok", sends: "b e>c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .all, answers: "b+ d- e+", outcome: "ok", sends: "b d>c e>c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .all, strict: true, answers: "b+", outcome: "unreachable 2/3", sends: ""),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .quorum, strict: true, answers: "b+", outcome: "ok", sends: "b"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", w: .quorum, strict: true, answers: "b-", outcome: "unavailable 1/2", sends: "b"),
        Row(line: #line, replicas: "a:P b:P c:P-", w: .all, answers: "b+", outcome: "unreachable 2/3", sends: ""),
        // two primaries down
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", w: .quorum, answers: "e+", outcome: "ok", sends: "d>b e>c"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", w: .all, answers: "d+ e+", outcome: "ok", sends: "d>b e>c"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F-", w: .quorum, answers: "d+", outcome: "ok", sends: "d>b"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F-", w: .all, answers: "d+", outcome: "unreachable 2/3", sends: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", w: .quorum, strict: true, answers: "", outcome: "unreachable 1/2", sends: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", w: .one, strict: true, answers: "", outcome: "ok", sends: ""),
        Row(line: #line, replicas: "a:P b:P- c:P-", w: .quorum, answers: "", outcome: "unreachable 1/2", sends: ""),
        // all primaries down: a fallback coordinates (local d), storing its own copy as a hint
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F f:F", local: "d", w: .quorum, answers: "e+", outcome: "ok", sends: "e>b f>c"),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F e:F f:F", local: "d", w: .quorum, strict: true, answers: "", outcome: "unreachable 0/2", sends: ""),
        Row(line: #line, replicas: "a:P- b:P- c:P- d:F", local: "d", w: .quorum, answers: "", outcome: "unreachable 1/2", sends: ""),
        // the local node is a down primary in the list: it is up, whatever the list says
        Row(line: #line, replicas: "a:P- b:P c:P", w: .all, answers: "b+ c+", outcome: "ok", sends: "b c"),
        // the local node is not a target in its own view (forwarded): versions, does not count
        Row(line: #line, replicas: "p:P b:P c:P", local: "z", w: .quorum, answers: "p+", outcome: "timeout 1/2", sends: "p b c"),
        Row(line: #line, replicas: "p:P b:P c:P", local: "z", w: .quorum, answers: "p+ c+", outcome: "ok", sends: "p b c"),

        // ownership transfer: the pending owner gets the write and raises the count by one
        Row(line: #line, replicas: "a:P b:P c:P x:X", w: .quorum, answers: "b+", outcome: "timeout 2/3", sends: "b c x"),
        Row(line: #line, replicas: "a:P b:P c:P x:X", w: .quorum, answers: "b+ x+", outcome: "ok", sends: "b c x"),
        Row(line: #line, replicas: "a:P b:P c:P x:X d:F", w: .quorum, answers: "b+ x- c- d-", outcome: "unavailable 2/3", sends: "b c x d>c"),
        Row(line: #line, replicas: "a:P b:P c:P x:X d:F", w: .quorum, answers: "b+ x- c-", outcome: "timeout 2/3", sends: "b c x d>c"),
        Row(line: #line, replicas: "a:P b:P c:P x:X", w: .all, answers: "b+ c+ x+", outcome: "ok", sends: "b c x"),
        Row(line: #line, replicas: "a:P b:P c:P x:X-", w: .quorum, answers: "b+", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: "a:P b:P c:P x:X", w: .quorum, strict: true, answers: "b+ x+", outcome: "ok", sends: "b c x"),

        // N = 5
        Row(line: #line, replicas: n5, w: .quorum, answers: "b+ c+", outcome: "ok", sends: "b c d e"),
        Row(line: #line, replicas: n5, w: .quorum, answers: "e+ b-", outcome: "timeout 2/3", sends: "b c d e f>b"),
        Row(line: #line, replicas: n5, w: .one, answers: "", outcome: "ok", sends: "b c d e"),
        Row(line: #line, replicas: n5, w: .all, answers: "b+ c+ d+ e+", outcome: "ok", sends: "b c d e"),
        Row(line: #line, replicas: n5, w: .count(2), answers: "d+", outcome: "ok", sends: "b c d e"),
        Row(line: #line, replicas: n5, w: .count(4), answers: "b+ c- d- e-", outcome: "timeout 2/4", sends: "b c d e f>c g>d h>e"),
        Row(line: #line, replicas: n5, w: .quorum, answers: "b- c- d- e- f+ g+", outcome: "ok", sends: "b c d e f>b g>c h>d"),
        Row(line: #line, replicas: n5, w: .quorum, answers: "b- c- d- e- f- g- h-", outcome: "unavailable 1/3", sends: "b c d e f>b g>c h>d"),
        Row(line: #line, replicas: "a:P b:P c:P d:P- e:P- f:F g:F h:F", w: .quorum, answers: "f+ g+", outcome: "ok", sends: "b c f>d g>e"),
        Row(line: #line, replicas: "a:P b:P c:P d:P- e:P- f:F g:F h:F", w: .all, answers: "b+ c+ f+ g+", outcome: "ok", sends: "b c f>d g>e"),
        Row(line: #line, replicas: "a:P b:P c:P d:P e:P- f:F g:F h:F", w: .all, strict: true, answers: "", outcome: "unreachable 4/5", sends: ""),
        Row(line: #line, replicas: "a:P b:P c:P d:P- e:P- f:F g:F h:F", w: .quorum, strict: true, answers: "b+ c+", outcome: "ok", sends: "b c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:P- e:P- f:F g:F h:F", w: .quorum, strict: true, answers: "", outcome: "unreachable 2/3", sends: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:P- e:P f:F g:F h:F-", w: .all, answers: "e+ f+ g+", outcome: "unreachable 4/5", sends: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:P- e:P f:F g:F h:F-", w: .quorum, answers: "e+ g+", outcome: "ok", sends: "e f>b g>c"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:P- e:P- f:F g:F h:F", w: .quorum, answers: "g+ f+", outcome: "ok", sends: "f>b g>c h>d"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:P- e:P- f:F g:F h:F", w: .all, answers: "", outcome: "unreachable 4/5", sends: ""),
    ]

    func testWriteOutcomesFromTable() throws {
        for row in rows {
            let n = replicas(row.replicas).filter { $0.role == .primary }.count
            let w = try QuorumSpec.resolve(row.w, option: .w, n: n)
            var coordinator = WriteCoordinator(replicas: replicas(row.replicas), localNode: row.local, w: w, strict: row.strict, timeoutMs: 500)
            let actions = runWrite(&coordinator, localOK: row.localOK, answers: row.answers)
            let replies = writeReplies(actions)
            XCTAssertEqual(replies.count, 1, "exactly one reply", line: row.line)
            XCTAssertEqual(renderWriteReply(replies.first), row.outcome, line: row.line)
            XCTAssertEqual(renderSends(actions), row.sends, line: row.line)
            XCTAssertEqual(coordinator.reply, replies.first, line: row.line)
            XCTAssertTrue(coordinator.isFinished, line: row.line)
        }
    }

    func testStartSchedulesTimeoutThenAppliesLocallyBeforeAnyReplicate() {
        var coordinator = WriteCoordinator(replicas: replicas(Self.n3), localNode: "a", w: 2, strict: false, timeoutMs: 750)
        XCTAssertEqual(coordinator.start(), [.scheduleTimeout(ms: 750), .applyLocally(hintFor: nil, counted: true)])
        XCTAssertEqual(coordinator.onAck(from: "b"), [], "an ack before anything was sent is ignored")
        XCTAssertEqual(coordinator.onLocalApplied(ok: true), [.replicate(to: "b", hintFor: nil), .replicate(to: "c", hintFor: nil)])
        XCTAssertEqual(coordinator.onAck(from: "c"), [.reply(.ok)])
        XCTAssertEqual(coordinator.onAck(from: "b"), [])
        XCTAssertTrue(coordinator.isFinished)
    }

    func testLocalFallbackCoordinatorStoresItsCopyAsAHint() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P- b:P c:P d:F"), localNode: "d", w: 2, strict: false, timeoutMs: 100)
        XCTAssertEqual(coordinator.start(), [.scheduleTimeout(ms: 100), .applyLocally(hintFor: "a", counted: true)])
    }

    func testForwardedCoordinatorOutsideTheTargetsVersionsWithoutCounting() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P c:P"), localNode: "z", w: 1, strict: false, timeoutMs: 100)
        XCTAssertEqual(coordinator.start(), [.scheduleTimeout(ms: 100), .applyLocally(hintFor: nil, counted: false)])
        XCTAssertEqual(coordinator.onLocalApplied(ok: true).count, 3, "replicates to a, b and c, no reply yet")
    }

    func testHintsSentCountsFallbackSends() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P- c:P d:F e:F"), localNode: "a", w: 2, strict: false, timeoutMs: 100)
        _ = runWrite(&coordinator, answers: "c- d+ e+")
        XCTAssertEqual(coordinator.hintsSent, 2)
    }

    func testTimeoutBeforeLocalApplyRepliesTimeoutAndStillReplicatesAfter() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P c:P"), localNode: "a", w: 2, strict: false, timeoutMs: 100)
        _ = coordinator.start()
        XCTAssertEqual(coordinator.onTimeout().map(renderAction), ["reply timeout 0/2"])
        XCTAssertEqual(coordinator.onLocalApplied(ok: true), [.replicate(to: "b", hintFor: nil), .replicate(to: "c", hintFor: nil)])
        XCTAssertEqual(coordinator.onAck(from: "b"), [], "no second reply")
        XCTAssertEqual(coordinator.onTimeout(), [], "a second timeout is ignored")
    }

    func testTimeoutAfterReplyEmitsNothing() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P c:P"), localNode: "a", w: 1, strict: false, timeoutMs: 100)
        _ = coordinator.start()
        XCTAssertEqual(coordinator.onLocalApplied(ok: true).last, .reply(.ok))
        XCTAssertFalse(coordinator.isFinished, "b and c still owe answers")
        XCTAssertEqual(coordinator.onTimeout(), [])
        XCTAssertTrue(coordinator.isFinished)
    }

    func testNoReplacementAfterTheTimeout() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", w: 1, strict: false, timeoutMs: 100)
        _ = coordinator.start()
        _ = coordinator.onLocalApplied(ok: true)
        _ = coordinator.onTimeout()
        XCTAssertEqual(coordinator.onNack(from: "b"), [])
    }

    func renderAction(_ action: WriteCoordinatorAction) -> String {
        if case .reply(let reply) = action { return "reply " + renderWriteReply(reply) }
        return "\(action)"
    }
}
