// The coordinators' shared timer: never early, late by about its granularity at most, in
// deadline order, and it wakes from idle when work arrives.
import Foundation
import Synchronization
import XCTest
@testable import Peer

final class CoarseTimerTests: XCTestCase {
    func testRunsInDeadlineOrderNeverEarly() {
        let timer = CoarseTimer(granularityMs: 5)
        defer { timer.stop() }
        let fired = Mutex<[(Int, Int64)]>([])
        let done = DispatchSemaphore(value: 0)
        let start = EventLoop.nowMs()
        for (i, ms) in [60, 20, 40, 0].enumerated() {
            timer.after(ms: ms) {
                let n = fired.withLock { f -> Int in
                    f.append((i, EventLoop.nowMs() - start))
                    return f.count
                }
                if n == 4 { done.signal() }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        let f = fired.withLock { $0 }
        XCTAssertEqual(f.map(\.0), [3, 1, 2, 0], "deadline order")
        for (i, at) in f {
            let want = Int64([60, 20, 40, 0][i])
            XCTAssertGreaterThanOrEqual(at, want, "never early")
            XCTAssertLessThan(at, want + 200, "late by far less than a request deadline (loaded machine)")
        }
    }

    func testWakesFromIdle() {
        let timer = CoarseTimer(granularityMs: 5)
        defer { timer.stop() }
        let first = DispatchSemaphore(value: 0)
        timer.after(ms: 1) { first.signal() }
        XCTAssertEqual(first.wait(timeout: .now() + 5), .success)
        usleep(50_000)  // the heap is empty: the thread sleeps until the next `after`
        let second = DispatchSemaphore(value: 0)
        let t0 = EventLoop.nowMs()
        timer.after(ms: 10) { second.signal() }
        XCTAssertEqual(second.wait(timeout: .now() + 5), .success)
        XCTAssertGreaterThanOrEqual(EventLoop.nowMs() - t0, 10)
    }
}
