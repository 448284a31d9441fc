// Read coordination from tables: N x R x STRICT x liveness x replies -> outcome and read
// repair. Notation in CoordinatorFixturesTests.swift; states are FakeState versions
// (highest wins). Every row runs start, the answers in order, then the timeout.
import XCTest
@testable import Peer

final class CoordinatorReadTableTests: XCTestCase {
    struct Row {
        var line: UInt
        var replicas: String
        var local: String? = "a"
        var r: QuorumLevel
        var strict = false
        var answers: String
        /// "value 2", "notfound", "unavailable 1/2", "timeout 1/2", "unreachable 1/2"
        var outcome: String
        /// nodes sent the read repair, "" for none
        var repair: String
        var reads: String? = nil
    }

    static let n3 = "a:P b:P c:P d:F e:F"
    static let n5 = "a:P b:P c:P d:P e:P f:F g:F h:F"

    let rows: [Row] = [
        // N = 1
        Row(line: #line, replicas: "a:P", r: .one, answers: "a=1", outcome: "value 1", repair: "", reads: "a"),
        Row(line: #line, replicas: "a:P", r: .one, answers: "a=nil", outcome: "notfound", repair: ""),
        Row(line: #line, replicas: "a:P", r: .all, answers: "a!", outcome: "unavailable 0/1", repair: ""),
        Row(line: #line, replicas: "a:P", r: .all, answers: "", outcome: "timeout 0/1", repair: ""),
        Row(line: #line, replicas: "p:P- a:F", r: .one, answers: "a=nil", outcome: "notfound", repair: "", reads: "a"),
        Row(line: #line, replicas: "p:P- a:F", r: .one, strict: true, answers: "", outcome: "unreachable 0/1", repair: ""),

        // N = 3, all up
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b=1 c=1", outcome: "value 1", repair: "", reads: "a b c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=2 b=1 c=2", outcome: "value 2", repair: "b"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b=1 c=nil", outcome: "value 1", repair: "c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=nil b=nil c=nil", outcome: "notfound", repair: ""),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=nil b=3 c=nil", outcome: "value 3", repair: "a c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=nil b=nil c=3", outcome: "notfound", repair: "a b"),
        Row(line: #line, replicas: n3, r: .one, answers: "b=1 a=2 c=2", outcome: "value 1", repair: "b"),
        Row(line: #line, replicas: n3, r: .all, answers: "b=1 a=2 c=2", outcome: "value 2", repair: "b"),
        // a failed target is replaced by the next spare fallback (sloppy, as writes do)
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b! c!", outcome: "timeout 1/2", repair: "", reads: "a b c d e"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b! d=1", outcome: "value 1", repair: "c", reads: "a b c d"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b! c! d! e!", outcome: "unavailable 1/2", repair: ""),
        Row(line: #line, replicas: n3, r: .quorum, strict: true, answers: "a=1 b! c!", outcome: "unavailable 1/2", repair: "", reads: "a b c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b! c=2", outcome: "value 2", repair: "a"),
        Row(line: #line, replicas: n3, r: .all, answers: "a=1 b=1 c!", outcome: "timeout 2/3", repair: "", reads: "a b c d"),
        Row(line: #line, replicas: n3, r: .all, answers: "a=1 b=1 c! d=nil", outcome: "value 1", repair: ""),
        Row(line: #line, replicas: n3, r: .all, answers: "a=1 b=2 c! d! e!", outcome: "unavailable 2/3", repair: "a"),
        Row(line: #line, replicas: n3, r: .all, strict: true, answers: "a=1 b=2 c!", outcome: "unavailable 2/3", repair: "a"),
        // silent replicas: timeout, and the silent primaries get the repair too
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1", outcome: "timeout 1/2", repair: "b c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 b=1", outcome: "value 1", repair: "c"),
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=nil", outcome: "timeout 1/2", repair: ""),
        Row(line: #line, replicas: n3, r: .quorum, answers: "", outcome: "timeout 0/2", repair: ""),
        // duplicate and unknown replies count nothing
        Row(line: #line, replicas: n3, r: .quorum, answers: "a=1 a=1 z=5 d=5", outcome: "timeout 1/2", repair: "b c"),
        Row(line: #line, replicas: n3, r: .all, answers: "a=1 b=1 b=2 c=1", outcome: "value 1", repair: ""),

        // one primary down: a fallback is read instead (sloppy) but never repaired
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", r: .quorum, answers: "a=1 b=1 d=nil", outcome: "value 1", repair: "", reads: "a b d"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", r: .all, answers: "a=1 b=nil d=nil", outcome: "value 1", repair: "b"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", r: .quorum, answers: "a=1 d=2", outcome: "value 2", repair: "a b"),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", r: .all, strict: true, answers: "", outcome: "unreachable 2/3", repair: ""),
        Row(line: #line, replicas: "a:P b:P c:P- d:F e:F", r: .quorum, strict: true, answers: "a=1 b=1", outcome: "value 1", repair: "", reads: "a b"),
        // two primaries down
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", r: .quorum, answers: "a=1 e=nil", outcome: "value 1", repair: "", reads: "a d e"),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F e:F", r: .quorum, strict: true, answers: "", outcome: "unreachable 1/2", repair: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:F-", r: .quorum, answers: "", outcome: "unreachable 1/2", repair: ""),
        // all primaries down; the coordinator need not be a replica (local nil)
        Row(line: #line, replicas: "p:P- q:P- s:P- d:F e:F f:F", local: nil, r: .quorum, answers: "d=nil e=nil", outcome: "notfound", repair: "", reads: "d e f"),
        Row(line: #line, replicas: "p:P- q:P- s:P- d:F e:F f:F", local: nil, r: .one, strict: true, answers: "", outcome: "unreachable 0/1", repair: ""),
        // pending owners are never read
        Row(line: #line, replicas: "a:P b:P c:P x:X", r: .all, answers: "x=9 a=1 b=1 c=1", outcome: "value 1", repair: "", reads: "a b c"),

        // N = 5
        Row(line: #line, replicas: n5, r: .quorum, answers: "a=1 b=1 c=1 d=1 e=1", outcome: "value 1", repair: "", reads: "a b c d e"),
        Row(line: #line, replicas: n5, r: .quorum, answers: "a=1 b=2 c=1 d=3 e=3", outcome: "value 2", repair: "a b c"),
        Row(line: #line, replicas: n5, r: .one, answers: "e=4", outcome: "value 4", repair: "a b c d"),
        Row(line: #line, replicas: n5, r: .all, answers: "a=1 b=1 c=1 d=1", outcome: "timeout 4/5", repair: "e"),
        Row(line: #line, replicas: n5, r: .quorum, answers: "a! b! c=1 d!", outcome: "timeout 1/3", repair: "e", reads: "a b c d e f g h"),
        Row(line: #line, replicas: n5, r: .quorum, answers: "a! b! c=1 d! f=nil g=1", outcome: "value 1", repair: "e"),
        Row(line: #line, replicas: n5, r: .quorum, strict: true, answers: "a! b! c=1 d!", outcome: "unavailable 1/3", repair: "e"),
        Row(line: #line, replicas: n5, r: .count(2), answers: "c=1 d=1 a! b! e!", outcome: "value 1", repair: ""),
        Row(line: #line, replicas: "a:P b:P c:P d:P- e:P- f:F g:F h:F", r: .quorum, answers: "a=1 f=nil g=nil b=1 c=1", outcome: "value 1", repair: "", reads: "a b c f g"),
        Row(line: #line, replicas: "a:P b:P c:P d:P- e:P- f:F g:F h:F", r: .quorum, strict: true, answers: "a=1 b=1 c=1", outcome: "value 1", repair: "", reads: "a b c"),
        Row(line: #line, replicas: "a:P b:P c:P- d:P- e:P- f:F g:F h:F", r: .quorum, strict: true, answers: "", outcome: "unreachable 2/3", repair: ""),
        Row(line: #line, replicas: "a:P b:P- c:P- d:P- e:P f:F g:F h:F-", r: .all, answers: "", outcome: "unreachable 4/5", repair: ""),
    ]

    func testReadOutcomesFromTable() throws {
        for row in rows {
            let n = replicas(row.replicas).filter { $0.role == .primary }.count
            let r = try QuorumSpec.resolve(row.r, option: .r, n: n)
            var coordinator = ReadCoordinator<FakeState>(replicas: replicas(row.replicas), localNode: row.local, r: r, strict: row.strict, timeoutMs: 500)
            let actions = runRead(&coordinator, answers: row.answers)
            let replies = actions.compactMap { if case .reply(let reply) = $0 { return reply } else { return nil } }
            XCTAssertEqual(replies.count, 1, "exactly one reply", line: row.line)
            XCTAssertEqual(replies.first.map(render), row.outcome, line: row.line)
            let repairs = actions.compactMap { if case .readRepair(let nodes, _) = $0 { return nodes } else { return nil } }
            XCTAssertLessThanOrEqual(repairs.count, 1, "at most one repair batch", line: row.line)
            XCTAssertEqual(repairs.first?.joined(separator: " ") ?? "", row.repair, line: row.line)
            XCTAssertEqual(coordinator.repairsSent, repairs.first?.count ?? 0, line: row.line)
            if let reads = row.reads {
                let sent = actions.compactMap { if case .read(let node) = $0 { return node } else { return nil } }
                XCTAssertEqual(sent.joined(separator: " "), reads, line: row.line)
            }
            if let replyIndex = actions.firstIndex(where: { if case .reply = $0 { return true } else { return false } }),
               let repairIndex = actions.firstIndex(where: { if case .readRepair = $0 { return true } else { return false } }) {
                XCTAssertLessThan(replyIndex, repairIndex, "reply first, repair after", line: row.line)
            }
            XCTAssertTrue(coordinator.isFinished, line: row.line)
        }
    }

    func testRepairCarriesTheMergeOfAllRepliesIncludingLateOnes() {
        var coordinator = ReadCoordinator<FakeState>(replicas: replicas(Self.n3), localNode: "a", r: 1, strict: false, timeoutMs: 100)
        _ = coordinator.start()
        XCTAssertEqual(coordinator.onReply(from: "a", state: FakeState(version: 1)), [.reply(.value(FakeState(version: 1)))])
        XCTAssertEqual(coordinator.onReply(from: "b", state: FakeState(version: 5)), [])
        XCTAssertEqual(coordinator.onReply(from: "c", state: nil), [.readRepair(to: ["a", "c"], state: FakeState(version: 5))])
        XCTAssertEqual(coordinator.onTimeout(), [], "the repair fired once already")
    }

    func testStartSchedulesTimeoutThenReadsEveryTarget() {
        var coordinator = ReadCoordinator<FakeState>(replicas: replicas("a:P b:P- c:P d:F"), localNode: "a", r: 2, strict: false, timeoutMs: 300)
        XCTAssertEqual(coordinator.start(), [.scheduleTimeout(ms: 300), .read(from: "a"), .read(from: "c"), .read(from: "d")])
    }

    func testFailFastNeitherSchedulesNorReads() {
        var coordinator = ReadCoordinator<FakeState>(replicas: replicas("a:P b:P- c:P-"), localNode: "a", r: 2, strict: true, timeoutMs: 300)
        let actions = coordinator.start()
        XCTAssertEqual(actions.count, 1)
        XCTAssertEqual(coordinator.onTimeout(), [], "a fail-fast read has no timer")
        XCTAssertEqual(coordinator.onReply(from: "a", state: FakeState(version: 1)), [])
    }

    func testRepliesAfterTheTimeoutAreIgnored() {
        var coordinator = ReadCoordinator<FakeState>(replicas: replicas(Self.n3), localNode: "a", r: 2, strict: false, timeoutMs: 100)
        _ = coordinator.start()
        _ = coordinator.onReply(from: "a", state: FakeState(version: 1))
        XCTAssertEqual(coordinator.onTimeout().count, 2, "timeout reply and the repair of the silent b and c")
        XCTAssertEqual(coordinator.onReply(from: "b", state: FakeState(version: 9)), [])
    }

    func render(_ reply: ReadReply<FakeState>) -> String {
        switch reply {
        case .value(let state?): return "value \(state.version)"
        case .value(nil): return "notfound"
        case .failed(let failure): return renderFailure(failure)
        }
    }
}

/// Runs a read: start, the answers in order ("a=2", "b=nil", "c!"), then the timeout.
func runRead(_ coordinator: inout ReadCoordinator<FakeState>, answers: String) -> [ReadCoordinatorAction<FakeState>] {
    var actions = coordinator.start()
    for item in answers.split(separator: " ") {
        if item.hasSuffix("!") {
            actions += coordinator.onFailure(from: String(item.dropLast()))
        } else {
            let parts = item.split(separator: "=")
            let state = Int(parts[1]).map { FakeState(version: $0) }
            actions += coordinator.onReply(from: String(parts[0]), state: state)
        }
    }
    actions += coordinator.onTimeout()
    return actions
}
