#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Storage

/// A full disk and a failing device (Store+Recovery.swift): writes that could not be made
/// durable are refused, reads go on, the store resumes by itself once writes succeed
/// again, and nothing acknowledged is lost or refused comes back, also across a crash.
final class StoreDiskFaultTests: XCTestCase {
    func options(_ fs: MemoryFileSystem, sync: SyncPolicy = .always) -> StorageOptions {
        var o = smallOptions(fs, sync: sync)
        o.errorRecoveryIntervalMs = 20
        return o
    }

    /// Polls every 10 ms for at most `seconds` (a bound, not a speed assertion).
    func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Writes `k<i>` until one is refused; returns the acknowledged ones and the error.
    func fillUntilRefused(_ store: Store, from start: Int, limit: Int = 200_000) -> (acked: [Int], error: StorageError?) {
        var acked: [Int] = []
        for i in start..<(start + limit) {
            do {
                try store.put(Array("k\(i)".utf8), Array(repeating: UInt8(i & 0xff), count: 100))
                acked.append(i)
            } catch {
                return (acked, error)
            }
        }
        return (acked, nil)
    }

    func testFullDiskRefusesWritesServesReadsAndResumesByItselfWithNothingLost() throws {
        let fs = MemoryFileSystem()
        fs.setCapacity(256 << 10)
        let store = try Store.open(path: "/db", options: options(fs))
        let first = fillUntilRefused(store, from: 0)
        let error = try XCTUnwrap(first.error, "the disk never filled")
        XCTAssertTrue(error.isNoSpace, "\(error)")
        XCTAssertGreaterThan(first.acked.count, 100)
        let refused = first.acked.count
        // Refused while full, reads go on.
        XCTAssertThrowsError(try store.put(Array("while-full".utf8), [1]))
        XCTAssertNotNil(store.writeError)
        for i in first.acked.suffix(50) { XCTAssertNotNil(try store.get(Array("k\(i)".utf8)), "k\(i) unreadable while full") }
        // Still full: the probes keep failing and change nothing.
        usleep(100_000)
        XCTAssertNotNil(store.writeError)
        // Space freed: the store resumes by itself.
        fs.setCapacity(nil)
        XCTAssertTrue(eventually(5) { store.writeError == nil }, "did not resume: \(String(describing: store.writeError))")
        let second = fillUntilRefused(store, from: refused + 1, limit: 500)
        XCTAssertNil(second.error)
        let stats = store.stats()
        XCTAssertGreaterThanOrEqual(stats.writeErrors, 1)
        XCTAssertGreaterThanOrEqual(stats.errorRecoveries, 1)
        // A crash after all that: every acknowledged write is there, the refused ones not.
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        for i in first.acked + second.acked {
            XCTAssertEqual(try reopened.get(Array("k\(i)".utf8)), Array(repeating: UInt8(i & 0xff), count: 100), "acknowledged k\(i) lost")
        }
        XCTAssertNil(try reopened.get(Array("k\(refused)".utf8)), "the refused write came back")
        XCTAssertNil(try reopened.get(Array("while-full".utf8)), "a refused write came back")
        try reopened.close()
    }

    func testFailedFsyncIsNeverRetriedAsIfTheDataWereSafe() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        for i in 0..<50 { try store.put(Array("a\(i)".utf8), Array("v\(i)".utf8)) }
        // The next fsync of the log fails with EIO (the kernel drops those pages).
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.sync], pathContains: ".log", remaining: 1))
        XCTAssertThrowsError(try store.put(Array("refused".utf8), Array("x".utf8))) { error in
            XCTAssertTrue((error as? StorageError)?.isDeviceError ?? false, "\(error)")
        }
        XCTAssertThrowsError(try store.put(Array("refused2".utf8), Array("x".utf8)), "writes stay refused until recovery")
        XCTAssertEqual(try store.get(Array("a7".utf8)), Array("v7".utf8), "reads go on")
        XCTAssertTrue(eventually(5) { store.writeError == nil })
        for i in 0..<50 { try store.put(Array("b\(i)".utf8), Array("w\(i)".utf8)) }
        // Had the old log been synced again and kept, the crash would zero its lost bytes
        // in the middle of the log: damage at open, or lost writes.
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        for i in 0..<50 {
            XCTAssertEqual(try reopened.get(Array("a\(i)".utf8)), Array("v\(i)".utf8))
            XCTAssertEqual(try reopened.get(Array("b\(i)".utf8)), Array("w\(i)".utf8))
        }
        XCTAssertNil(try reopened.get(Array("refused".utf8)))
        XCTAssertNil(try reopened.get(Array("refused2".utf8)))
        try reopened.close()
    }

    func testFailingFlushStopsWritesUntilTheDeviceRecovers() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        // Every table creation fails for the next 5 tries: the background flush fails,
        // then the first recovery probes fail too.
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.create], pathContains: ".sst", remaining: 5))
        var acked: [Int] = []
        var refusedAt: Int?
        for i in 0..<5_000 {
            do { try store.put(Array("k\(i)".utf8), Array(repeating: 7, count: 100)); acked.append(i) } catch {
                refusedAt = i
                break
            }
            if store.writeError != nil { break }
        }
        XCTAssertTrue(eventually(5) { store.writeError == nil && fs.faultsHit == 5 }, "no recovery after the fault cleared")
        try store.put(Array("after".utf8), [1])
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        for i in acked { XCTAssertNotNil(try reopened.get(Array("k\(i)".utf8)), "acknowledged k\(i) lost") }
        if let refusedAt { XCTAssertNil(try reopened.get(Array("k\(refusedAt)".utf8))) }
        XCTAssertEqual(try reopened.get(Array("after".utf8)), [1])
        try reopened.close()
    }

    func testWithoutAutoRecoveryWritesStayRefused() throws {
        let fs = MemoryFileSystem()
        var o = options(fs)
        o.errorRecoveryIntervalMs = 0
        let store = try Store.open(path: "/db", options: o)
        fs.inject(MemoryFileSystem.Fault(errno: ENOSPC, operations: [.append], pathContains: ".log", remaining: 1))
        XCTAssertThrowsError(try store.put([1], [1]))
        usleep(100_000)
        XCTAssertThrowsError(try store.put([2], [2]))
        XCTAssertTrue(store.writeError?.isNoSpace ?? false)
        try? store.close()
    }
}
