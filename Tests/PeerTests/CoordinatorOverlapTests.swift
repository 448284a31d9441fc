import XCTest
@testable import Peer

/// The write path that overlaps the local fsync with replication: replicate on
/// `onLocalVersioned`, count the local copy on `onLocalDurable`.
final class CoordinatorOverlapTests: XCTestCase {
    func coordinator(w: Int) -> WriteCoordinator {
        WriteCoordinator(replicas: replicas("a:P b:P c:P d:F"), localNode: "a", w: w, strict: false, timeoutMs: 1_000)
    }

    func sends(_ actions: [WriteCoordinatorAction]) -> [String] {
        actions.compactMap { if case .replicate(let node, _) = $0 { return node } else { return nil } }
    }

    func testReplicasAreSentBeforeTheLocalCopyIsDurable() {
        var c = coordinator(w: 2)
        _ = c.start()
        XCTAssertEqual(sends(c.onLocalVersioned()), ["b", "c"])
        XCTAssertTrue(c.localPending)
        XCTAssertEqual(writeReplies(c.onAck(from: "b")), [], "one remote ack is not W=2 while the local copy is pending")
        XCTAssertEqual(writeReplies(c.onLocalDurable(ok: true)), [.ok])
        XCTAssertFalse(c.isFinished, "c has not answered yet")
        _ = c.onAck(from: "c")
        XCTAssertTrue(c.isFinished)
    }

    func testTwoRemoteAcksSatisfyQuorumBeforeTheLocalFsyncEnds() {
        var c = coordinator(w: 2)
        _ = c.start()
        _ = c.onLocalVersioned()
        _ = c.onAck(from: "b")
        XCTAssertEqual(writeReplies(c.onAck(from: "c")), [.ok])
        XCTAssertFalse(c.isFinished, "still waiting for the local store")
        XCTAssertEqual(writeReplies(c.onLocalDurable(ok: true)), [])
        XCTAssertTrue(c.isFinished)
    }

    func testALocalStoreFailureCountsAsANack() {
        var c = coordinator(w: 3)
        _ = c.start()
        _ = c.onLocalVersioned()
        _ = c.onAck(from: "b")
        _ = c.onAck(from: "c")
        let replies = writeReplies(c.onLocalDurable(ok: false))
        XCTAssertEqual(replies.count, 1)
        guard case .failed(let f)? = replies.first else { return XCTFail("expected a failure, got \(replies)") }
        XCTAssertEqual(f.reason, .failedReplies)
        XCTAssertEqual(c.nacked, ["a"])
    }
}
