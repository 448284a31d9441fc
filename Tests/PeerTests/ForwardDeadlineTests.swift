import Gossip
import XCTest
@testable import Peer

/// The forward deadline's two halves (ForwardDeadline): the sender's conversion into the
/// receiver's clock, and the receiver's check; and the field on the wire.
final class ForwardDeadlineTests: XCTestCase {
    func offset(ms: Int64, errorMs: Int64) -> ClockOffset {
        ClockOffset(offsetUs: ms * 1_000, errorUs: errorMs * 1_000, rttUs: errorMs * 2_000, samples: 8, lastSampleNs: 0)
    }

    func testMeasuredOffsetMovesTheDeadlineIntoTheReceiversClockGrantingTheError() {
        let giveUp: Int64 = 1_700_000_000_100
        // Receiver 2 s ahead, measured to ±3 ms: the sender gives up at receiver time
        // giveUp + 2000 at the earliest giveUp + 1997.
        XCTAssertEqual(ForwardDeadline.applyBy(giveUpWallMs: giveUp, receiverOffset: offset(ms: 2_000, errorMs: 3), maxOffsetMs: 500),
                       giveUp + 1_997)
        XCTAssertEqual(ForwardDeadline.applyBy(giveUpWallMs: giveUp, receiverOffset: offset(ms: -2_000, errorMs: 3), maxOffsetMs: 500),
                       giveUp - 2_003)
        // -0.5 ms floors to -1 ms, never up to 0.
        let half = ClockOffset(offsetUs: -200, errorUs: 300, rttUs: 600, samples: 1, lastSampleNs: 0)
        XCTAssertEqual(ForwardDeadline.applyBy(giveUpWallMs: giveUp, receiverOffset: half, maxOffsetMs: 500), giveUp - 1)
    }

    func testUnmeasuredReceiverRefusesOnlyWhatIsLateWhateverTheClocks() {
        let giveUp: Int64 = 1_700_000_000_100
        let by = ForwardDeadline.applyBy(giveUpWallMs: giveUp, receiverOffset: nil, maxOffsetMs: 500)
        XCTAssertEqual(by, giveUp + 500)
        // A receiver whose clock is within 500 ms of the sender's, either way, never refuses a
        // forward that arrives before the sender gives up (less the versioning margin).
        let inTime = giveUp - ForwardDeadline.versioningMarginMs - 1
        XCTAssertFalse(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: inTime + 500))
        XCTAssertFalse(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: inTime - 500))
        // After a pause of seconds it refuses.
        XCTAssertTrue(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: giveUp + 10_000))
    }

    func testReceiverRefusesFromTheDeadlineLessTheVersioningMargin() {
        let by: Int64 = 1_700_000_000_000
        XCTAssertFalse(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: by - ForwardDeadline.versioningMarginMs - 1))
        XCTAssertTrue(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: by - ForwardDeadline.versioningMarginMs))
        XCTAssertTrue(ForwardDeadline.isLate(applyByWallMs: by, nowWallMs: by + 1))
        // No deadline (a sender from before the field): never late.
        XCTAssertFalse(ForwardDeadline.isLate(applyByWallMs: 0, nowWallMs: by))
    }

    func testDeadlineTravelsInTheForwardAndIsOptional() throws {
        let m = ForwardWriteMessage(namespace: Array("ns".utf8), key: [1], context: nil, value: [2], w: 2, strict: false, timeoutMs: 900,
                                    writeID: 7, applyByWallMs: 1_700_000_000_123)
        XCTAssertEqual(try ForwardWriteMessage(decoding: m.encode()), m)
        let without = ForwardWriteMessage(namespace: [], key: [1], context: nil, value: nil, w: 1, strict: false, timeoutMs: 1)
        var undated = m
        undated.applyByWallMs = 0
        XCTAssertEqual(undated.encode().count, m.encode().count - 8, "no deadline: no bytes for it")
        XCTAssertEqual(try ForwardWriteMessage(decoding: without.encode()).applyByWallMs, 0)
        var flaggedZero = without.encode()
        flaggedZero[3] |= 16
        flaggedZero += [0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertThrowsError(try ForwardWriteMessage(decoding: flaggedZero), "a zero deadline is not a deadline")
        var truncated = m.encode()
        truncated.removeLast()
        XCTAssertThrowsError(try ForwardWriteMessage(decoding: truncated))
    }
}
