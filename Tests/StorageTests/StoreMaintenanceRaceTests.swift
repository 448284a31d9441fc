import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import Storage

/// Flushes and range deletions while writers commit in groups: a maintenance call queues an
/// empty writer and waits to reach the head of the writer queue. A group leader once
/// absorbed it, marked it done and removed it, and the call waited forever (a peer hung
/// holding every key lock). Every call here must return.
final class StoreMaintenanceRaceTests: XCTestCase {
    func testFlushAndDeleteRangeReturnWhileGroupCommitsRun() throws {
        // Real files: a real fsync keeps each group commit open long enough for the
        // maintenance call to queue behind its leader.
        let dir = NSTemporaryDirectory() + "chorus-race-\(UInt64.random(in: 0..<UInt64.max))"
        var options = StorageOptions()
        options.sync = .always
        let store = try Store.open(path: dir, options: options)
        defer {
            try? store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let writers = 4, perWriter = 1_500
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for w in 0..<writers {
            DispatchQueue.global().async(group: group) {
                for i in 0..<perWriter {
                    do { try store.put(Array("w\(w)-\(i)".utf8), Array(repeating: UInt8(i & 0xff), count: 100)) } catch {
                        failures.withLock { $0.append("put: \(error)") }
                        return
                    }
                }
            }
        }
        DispatchQueue.global().async(group: group) {
            for round in 0..<60 {
                do {
                    if round % 2 == 0 {
                        try store.flush()
                    } else {
                        try store.deleteRange(start: Array("w0-\(round)".utf8), end: Array("w0-\(round)~".utf8))
                    }
                } catch {
                    failures.withLock { $0.append("maintenance: \(error)") }
                    return
                }
            }
        }
        // A liveness bound, not a speed target: without the fix this never returns.
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success, "a maintenance call or a writer never returned")
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertNotNil(try store.get(Array("w1-\(perWriter - 1)".utf8)))
    }
}
