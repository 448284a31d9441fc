// One timer per request (RequestDeadlines): armed at the earliest pending deadline, kept when a
// later one is added, replaced by an earlier one, dropped when nothing is pending; a fire of a
// replaced timer changes nothing.
import XCTest
@testable import Peer

final class RequestDeadlinesTests: XCTestCase {
    func testArmsAtTheEarliestAndKeepsATimerThatFiresSoonEnough() {
        var d = RequestDeadlines()
        d.setTimeout(atMs: 5_000)
        d.addLate("n1", atMs: 120)
        d.addLate("n2", atMs: 80)
        let first = d.settle()
        XCTAssertNil(first.cancel)
        XCTAssertEqual(first.arm?.atMs, 80)
        XCTAssertTrue(d.armedID(7, generation: first.arm!.generation))
        d.addLate("n3", atMs: 300)
        let again = d.settle()
        XCTAssertNil(again.cancel, "a timer due before every pending deadline is kept")
        XCTAssertNil(again.arm)
    }

    func testAnEarlierDeadlineReplacesTheTimerAndTheOldFireIsStale() {
        var d = RequestDeadlines()
        d.setTimeout(atMs: 5_000)
        let first = d.settle()
        XCTAssertEqual(first.arm?.atMs, 5_000)
        XCTAssertTrue(d.armedID(11, generation: first.arm!.generation))
        d.addLate("n1", atMs: 60)
        let second = d.settle()
        XCTAssertEqual(second.cancel, 11, "the later timer is cancelled")
        XCTAssertEqual(second.arm?.atMs, 60)
        XCTAssertFalse(d.armedID(12, generation: first.arm!.generation), "an id for the replaced timer is refused")
        XCTAssertNil(d.fired(generation: first.arm!.generation, nowMs: 5_000), "the replaced timer's fire is stale")
        XCTAssertEqual(d.lates.count, 1)
    }

    func testFireTakesWhatIsDueAndTheNextSettleArmsTheRest() {
        var d = RequestDeadlines()
        d.setTimeout(atMs: 1_000)
        d.addLate("n1", atMs: 50)
        d.addLate("n2", atMs: 50)
        d.addLate("n3", atMs: 200)
        let arm = d.settle().arm!
        let due = d.fired(generation: arm.generation, nowMs: 55)
        XCTAssertEqual(due?.lates, ["n1", "n2"])
        XCTAssertEqual(due?.timeout, false)
        XCTAssertEqual(d.settle().arm?.atMs, 200)
        d.dropLates()
        let afterAnswer = d.settle()
        XCTAssertNil(afterAnswer.cancel, "armed at 200, before the TIMEOUT: kept, it re-arms when it fires")
        let late = d.fired(generation: d.armed!.generation, nowMs: 200)
        XCTAssertEqual(late?.lates, [])
        XCTAssertEqual(late?.timeout, false)
        XCTAssertEqual(d.settle().arm?.atMs, 1_000)
        let end = d.fired(generation: d.armed!.generation, nowMs: 1_000)
        XCTAssertEqual(end?.timeout, true)
        XCTAssertNil(d.next)
        XCTAssertNil(d.settle().arm)
    }

    func testARequestThatIsOverCancelsItsTimer() {
        var d = RequestDeadlines()
        d.setTimeout(atMs: 5_000)
        d.addLate("n1", atMs: 100)
        let arm = d.settle().arm!
        XCTAssertTrue(d.armedID(3, generation: arm.generation))
        d.dropAll()
        let over = d.settle()
        XCTAssertEqual(over.cancel, 3)
        XCTAssertNil(over.arm)
        XCTAssertNil(d.fired(generation: arm.generation, nowMs: 5_000))
    }
}
