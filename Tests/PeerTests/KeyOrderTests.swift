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

    /// A command alone on an idle connection is kept aside (no key maps); one that arrives
    /// while it is in flight moves it into the maps and still waits for it; once both are done
    /// the connection is idle again and the next command starts at once.
    func testALoneCommandThenAPipelinedOneThenIdleAgain() {
        let h = Harness()
        for i in 0..<3 {
            h.run("solo\(i)", .write([k]))
            XCTAssertEqual(h.started.last, "solo\(i)", "a lone command starts at once")
            h.done("solo\(i)")
        }
        h.run("a", .write([k]))
        h.run("b", .read([k]))
        XCTAssertEqual(h.started.suffix(1), ["a"], "b waits for the lone write it arrived behind")
        h.done("a")
        XCTAssertEqual(h.started.suffix(2), ["a", "b"])
        h.done("b")
        h.run("c", .write([k]))
        h.run("d", .write([j]))
        XCTAssertEqual(h.started.suffix(2), ["c", "d"], "idle again: c alone, d unrelated")
        h.run("e", .read([k]))
        XCTAssertEqual(h.started.last, "d", "e waits for c, which was moved into the maps")
        h.done("c")
        XCTAssertEqual(h.started.last, "e")
        h.done("d")
        h.done("e")
        XCTAssertEqual(h.order.waitingCount, 0)
    }
}
