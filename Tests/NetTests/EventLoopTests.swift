import XCTest
import Foundation
import Synchronization
import Net

/// The epoll loop: tasks from other threads run on its own thread, in order.
final class EventLoopTests: XCTestCase {
    func testEventLoopRunsTasksFromOtherThreadsOnItsThreadInOrder() throws {
        let loop = try EventLoop(name: "test")
        try loop.start()
        defer { loop.stop(); loop.join() }
        XCTAssertFalse(loop.inLoop)
        let seen = Mutex<[Int]>([])
        let onLoop = Atomic<Int>(0)
        for i in 0..<1000 {
            loop.execute {
                if loop.inLoop { onLoop.add(1, ordering: .relaxed) }
                seen.withLock { $0.append(i) }
            }
        }
        XCTAssertTrue(waitUntil { seen.withLock { $0.count } == 1000 })
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<1000))
        XCTAssertEqual(onLoop.load(ordering: .relaxed), 1000)
    }

    private func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(1_000)
        }
        return condition()
    }
}
