import Ring
import XCTest
@testable import Peer

/// The handoff core on its own: time and liveness are inputs, requests are outputs.
final class HandoffCoreTests: XCTestCase {
    let namespaces = NamespaceTable()

    /// n1..n3 own a 16-partition ring; n4 joins (not settled).
    func joiningRing() throws -> Ring {
        let base = try Claim.initial(partitionCount: 16, members: ["n1", "n2", "n3"], targetN: 3)
        return Claim.next(current: base, members: ["n1", "n2", "n3", "n4"])
    }

    func requests(_ actions: [HandoffCore.Action]) -> [(TreeID, String, HandoffRequest, Int64)] {
        actions.compactMap { if case let .request(id, source, r, at) = $0 { return (id, source, r, at) } else { return nil } }
    }

    func testStartsAtMostTheConcurrencyBoundAndFromALiveSource() throws {
        var config = HandoffCore.Config()
        config.concurrency = 2
        var core = HandoffCore(nodeID: "n4", config: config)
        let ring = try joiningRing()
        _ = core.onRing(ring, namespaces: namespaces) { _ in .start }
        let planned = HandoffPlan.pulls(ring: ring, namespaces: namespaces.namespaces, node: "n4")
        XCTAssertGreaterThan(planned.count, 2)
        XCTAssertEqual(core.report, HandoffReport(ringVersion: ring.version, pending: planned.count, total: planned.count))
        let started = requests(core.onTick(nowMs: 0) { $0 != "n1" })
        XCTAssertEqual(started.count, 2)
        for r in started {
            XCTAssertNotEqual(r.1, "n1", "a down node was chosen as source")
            XCTAssertNil(r.2.afterKey)
        }
        XCTAssertTrue(requests(core.onTick(nowMs: 10) { _ in true }).isEmpty, "more than the bound running")
    }

    func testChunksResumeAfterTheLastKeyAndAreBookedAtTheRate() throws {
        var config = HandoffCore.Config()
        config.concurrency = 1
        config.bytesPerSecond = 1_000
        var core = HandoffCore(nodeID: "n4", config: config)
        _ = core.onRing(try joiningRing(), namespaces: namespaces) { _ in .start }
        let first = try XCTUnwrap(requests(core.onTick(nowMs: 0) { _ in true }).first)
        let next = requests(core.onChunk(first.0, keys: 10, bytes: 500, lastKey: Array("k9".utf8), done: false,
                                         remainingBytes: 2_000, nowMs: 100) { _ in true })
        XCTAssertEqual(next.count, 1)
        XCTAssertEqual(next[0].2.afterKey, Array("k9".utf8))
        XCTAssertEqual(next[0].3, 600, "500 bytes at 1,000 B/s book 500 ms after now")
        let t = try XCTUnwrap(core.transfers[first.0])
        XCTAssertEqual(t.keys, 10)
        XCTAssertEqual(t.bytes, 500)
        XCTAssertEqual(t.state, .running)
        // The last chunk finishes it and starts the next transfer, after the booked time.
        let after = requests(core.onChunk(first.0, keys: 1, bytes: 100, lastKey: Array("kz".utf8), done: true,
                                          remainingBytes: 0, nowMs: 700) { _ in true })
        XCTAssertEqual(core.transfers[first.0]?.state, .done)
        XCTAssertEqual(after.count, 1)
        XCTAssertNotEqual(after[0].0, first.0)
        XCTAssertGreaterThanOrEqual(after[0].3, 700)
    }

    func testFailureBacksOffAndAQuietTransferIsStalled() throws {
        var config = HandoffCore.Config()
        config.concurrency = 1
        config.stallMs = 1_000
        var core = HandoffCore(nodeID: "n4", config: config)
        _ = core.onRing(try joiningRing(), namespaces: namespaces) { _ in .start }
        let first = try XCTUnwrap(requests(core.onTick(nowMs: 0) { _ in true }).first)
        XCTAssertTrue(requests(core.onTick(nowMs: 1_500) { _ in true }).isEmpty)
        XCTAssertEqual(core.transfers[first.0]?.state, .stalled)
        core.onFailure(first.0, error: "connection lost", nowMs: 2_000)
        let t = try XCTUnwrap(core.transfers[first.0])
        XCTAssertEqual(t.state, .waiting)
        XCTAssertEqual(t.lastError, "connection lost")
        XCTAssertEqual(t.retryAtMs, 2_500)
        // Another transfer may start at once; this one only after its backoff.
        let meanwhile = requests(core.onTick(nowMs: 2_100) { _ in true })
        XCTAssertEqual(meanwhile.count, 1)
        XCTAssertNotEqual(meanwhile[0].0, first.0)
    }

    func testACheckpointResumesAndADoneOneIsNotPulledAgain() throws {
        var core = HandoffCore(nodeID: "n4")
        let ring = try joiningRing()
        let planned = HandoffPlan.pulls(ring: ring, namespaces: namespaces.namespaces, node: "n4").map(\.id)
        _ = core.onRing(ring, namespaces: namespaces) { id in
            id == planned[0] ? .init(after: nil, done: true) : .init(after: Array("m".utf8), done: false)
        }
        XCTAssertEqual(core.transfers[planned[0]]?.state, .done)
        XCTAssertEqual(core.report.pending, planned.count - 1)
        let started = requests(core.onTick(nowMs: 0) { _ in true })
        XCTAssertFalse(started.contains { $0.0 == planned[0] })
        XCTAssertTrue(started.allSatisfy { $0.2.afterKey == Array("m".utf8) })
    }

    func testCalledOffPlanClearsItsTransfersAndCheckpoints() throws {
        var core = HandoffCore(nodeID: "n4")
        let ring = try joiningRing()
        _ = core.onRing(ring, namespaces: namespaces) { _ in .start }
        XCTAssertGreaterThan(core.report.total, 0)
        // n4 is no longer wanted before it finished: the claim goes back to rest.
        let back = Claim.next(current: ring, members: ["n1", "n2", "n3"])
        XCTAssertFalse(back.isTransferring)
        let actions = core.onRing(back, namespaces: namespaces) { _ in .start }
        XCTAssertEqual(actions, [.clearCheckpoints], "at rest every checkpoint goes, so none can skip a later pull")
        XCTAssertEqual(core.report, HandoffReport(ringVersion: back.version, pending: 0, total: 0))
        XCTAssertTrue(requests(core.onTick(nowMs: 0) { _ in true }).isEmpty)
    }
}

extension HandoffCoreTests {
    func testReceiversAreExactlyTheNodesWithPulls() throws {
        let ring = try joiningRing()
        let ns = [Namespace.standard, try Namespace(name: "two", n: 2)]
        let expected = Set(ring.nodes.filter { !HandoffPlan.pulls(ring: ring, namespaces: ns, node: $0).isEmpty })
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(HandoffPlan.receivers(ring: ring, namespaces: ns), expected)
        XCTAssertEqual(HandoffPlan.receivers(ring: ring.settled(), namespaces: ns), [])
    }
}
