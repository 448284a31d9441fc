// The coordinators' shared timer: never early, late by about its granularity at most, in
// deadline order, and it wakes from idle when work arrives.
import Net
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

    /// A cancelled timer never runs, and what its closure captured is freed at the cancel,
    /// not at its deadline (the RSS growth a 5 s TIMEOUT per request caused).
    func testCancelledWorkNeverRunsAndIsReleasedAtOnce() {
        final class Payload: @unchecked Sendable {}
        let timer = CoarseTimer(granularityMs: 5)
        defer { timer.stop() }
        let ran = Mutex(0)
        weak var watched: Payload?
        var ids: [UInt64] = []
        do {
            let payload = Payload()
            watched = payload
            for _ in 0..<100 {
                ids.append(timer.after(ms: 60_000) { [payload] in _ = payload; ran.withLock { $0 += 1 } })
            }
        }
        XCTAssertNotNil(watched, "held by the pending timers")
        XCTAssertEqual(timer.pendingCount, 100)
        for id in ids { timer.cancel(id) }
        XCTAssertNil(watched, "released by the cancels, long before the deadline")
        XCTAssertEqual(timer.pendingCount, 0)
        let done = DispatchSemaphore(value: 0)
        let kept = timer.after(ms: 20) { done.signal() }
        timer.cancel(kept &+ 1)  // an id never issued: nothing happens
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "uncancelled work still runs")
        XCTAssertEqual(ran.withLock { $0 }, 0)
    }

    /// A slot freed by a cancel is reused; the old id names the old generation and cancels
    /// nothing, so a late duplicate cancel cannot drop the new timer.
    func testStaleIdDoesNotCancelTheTimerThatReusedItsSlot() {
        let timer = CoarseTimer(granularityMs: 5)
        defer { timer.stop() }
        let old = timer.after(ms: 60_000) {}
        timer.cancel(old)
        let done = DispatchSemaphore(value: 0)
        let reused = timer.after(ms: 10) { done.signal() }
        XCTAssertNotEqual(old, reused)
        timer.cancel(old)
        XCTAssertEqual(timer.pendingCount, 1)
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "the new timer still runs")
    }

    /// Timers armed on event loops live in those loops' shards; a cancel from any other thread
    /// finds them, and the ones left run.
    func testTimersArmedOnLoopsAreCancelledFromAnotherThread() throws {
        let timer = CoarseTimer(granularityMs: 5)
        defer { timer.stop() }
        let loops = try (0..<3).map { try EventLoop(name: "timer-test-\($0)") }
        for loop in loops { try loop.start() }
        defer { for loop in loops { loop.stop(); loop.join() } }
        let ids = Mutex<[UInt64]>([])
        let ran = Mutex<[Int]>([])
        let armed = DispatchSemaphore(value: 0)
        let fired = DispatchSemaphore(value: 0)
        for (i, loop) in loops.enumerated() {
            loop.execute {
                let cancelled = timer.after(ms: 30) { ran.withLock { $0.append(-1) } }
                ids.withLock { $0.append(cancelled) }
                timer.after(ms: 30) { ran.withLock { $0.append(i) }; fired.signal() }
                armed.signal()
            }
        }
        for _ in loops { XCTAssertEqual(armed.wait(timeout: .now() + 5), .success) }
        XCTAssertEqual(Set(ids.withLock { $0.map { $0 >> 56 } }).count, 3, "one shard per loop")
        for id in ids.withLock({ $0 }) { timer.cancel(id) }
        for _ in loops { XCTAssertEqual(fired.wait(timeout: .now() + 5), .success) }
        usleep(50_000)
        XCTAssertEqual(ran.withLock { $0.sorted() }, [0, 1, 2], "only the uncancelled timers ran")
        XCTAssertEqual(timer.pendingCount, 0)
    }
}
