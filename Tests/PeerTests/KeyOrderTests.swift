import Synchronization
import XCTest
@testable import Peer

/// KeyOrder: which of a connection's commands wait for which (table-like cases), FIFO among
/// conflicting commands, and deferred starts going through `later`.
final class KeyOrderTests: XCTestCase {
    /// Records starts; `done(name)` finishes a started command.
    final class Harness: @unchecked Sendable {
        let order = KeyOrder()
        let log = Mutex<[String]>([])
        let dones = Mutex<[String: @Sendable () -> Void]>([:])
        let deferred = Mutex(0)

        func run(_ name: String, _ access: KeyOrder.Access) {
            order.run(access, later: { [self] start in deferred.withLock { $0 += 1 }; start() }) { [self] done in
                log.withLock { $0.append(name) }
                dones.withLock { $0[name] = done }
            }
        }
        func done(_ name: String) { dones.withLock { $0.removeValue(forKey: name) }?() }
        var started: [String] { log.withLock { $0 } }
    }

    private let k = Array("k".utf8), j = Array("j".utf8)

    func testConflictsFromATable() {
        // (first in flight, second, second starts at once?)
        let cases: [(KeyOrder.Access, KeyOrder.Access, Bool)] = [
            (.write([k]), .write([k]), false),
            (.write([k]), .read([k]), false),
            (.read([k]), .write([k]), false),
            (.read([k]), .read([k]), true),
            (.write([k]), .write([j]), true),
            (.write([k]), .read([j, k]), false),
            (.write([k]), .readAll, false),
            (.readAll, .write([j]), false),
            (.readAll, .read([k]), true),
            (.read([k]), .readAll, true),
        ]
        for (index, (first, second, immediate)) in cases.enumerated() {
            let h = Harness()
            h.run("a", first)
            h.run("b", second)
            XCTAssertEqual(h.started, immediate ? ["a", "b"] : ["a"], "case \(index)")
            h.done("a")
            XCTAssertEqual(h.started, ["a", "b"], "case \(index): b starts once a is done")
            XCTAssertEqual(h.deferred.withLock { $0 }, immediate ? 0 : 1, "case \(index): a deferred start goes through later")
            h.done("b")
            XCTAssertEqual(h.order.waitingCount, 0)
        }
    }

    func testConflictingCommandsStartInArrivalOrder() {
        let h = Harness()
        h.run("w1", .write([k]))
        h.run("r", .read([k]))       // waits for w1
        h.run("w2", .write([k]))     // waits for r (and w1)
        h.run("other", .write([j]))  // unrelated: starts now
        XCTAssertEqual(h.started, ["w1", "other"])
        h.done("w1")
        XCTAssertEqual(h.started, ["w1", "other", "r"])
        h.done("r")
        XCTAssertEqual(h.started, ["w1", "other", "r", "w2"])
        h.done("w2")
        h.done("other")
        XCTAssertEqual(h.order.waitingCount, 0)
    }

    func testAWaitingReadHoldsBackALaterWriteButNotALaterRead() {
        let h = Harness()
        h.run("w", .write([k]))
        h.run("r1", .read([k]))
        h.run("r2", .read([k]))
        h.run("w2", .write([k]))
        h.done("w")
        XCTAssertEqual(h.started, ["w", "r1", "r2"], "both reads start together once the write is done")
        h.done("r1")
        XCTAssertEqual(h.started, ["w", "r1", "r2"], "w2 waits for every earlier read")
        h.done("r2")
        XCTAssertEqual(h.started, ["w", "r1", "r2", "w2"])
    }
}
