#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import Storage

/// `Store.write(_:durable:)` (WALSyncer.swift): writes return before their fsync, the
/// syncer's fsyncs cover many writes each, `durable` comes only after an fsync covered the
/// write, and a failed fsync fails exactly the writes it covered, which never come back.
final class StoreDeferredSyncTests: XCTestCase {
    private func options(_ fs: MemoryFileSystem) -> StorageOptions {
        var o = smallOptions(fs, sync: .always)
        o.errorRecoveryIntervalMs = 20
        return o
    }

    /// Waits (bounded) until `count` callbacks arrived; returns their errors by key index.
    private final class Outcomes: @unchecked Sendable {
        let state = Mutex<[Int: StorageError?]>([:])
        func record(_ i: Int, _ e: StorageError?) { state.withLock { $0[i] = e } }
        func wait(for count: Int, seconds: Double = 10) -> [Int: StorageError?] {
            for _ in 0..<Int(seconds * 200) {
                let now = state.withLock { $0 }
                if now.count >= count { return now }
                usleep(5_000)
            }
            return state.withLock { $0 }
        }
    }

    func testDeferredWritesAreReadableAtOnceAndDurableWhenAcknowledgedWithFewerFsyncs() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        let outcomes = Outcomes()
        let threads = 4, perThread = 250
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for j in 0..<perThread {
                let i = t * perThread + j
                var batch = WriteBatch()
                batch.put(Array("k\(i)".utf8), Array("v\(i)".utf8))
                do {
                    try store.write(batch) { error in outcomes.record(i, error) }
                    // Readable before (or whether or not) it is durable.
                    XCTAssertEqual(try store.get(Array("k\(i)".utf8)), Array("v\(i)".utf8))
                } catch {
                    XCTFail("deferred write \(i) threw \(error)")
                }
            }
        }
        let total = threads * perThread
        let done = outcomes.wait(for: total)
        XCTAssertEqual(done.count, total, "every write gets exactly one durable callback")
        XCTAssertTrue(done.values.allSatisfy { $0 == nil }, "no write failed")
        let syncs = store.stats().walSyncs
        XCTAssertLessThan(syncs, UInt64(total), "one fsync covers several deferred writes")
        // A crash keeps every acknowledged write (they were fsynced before `durable`).
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        for i in 0..<total { XCTAssertEqual(try reopened.get(Array("k\(i)".utf8)), Array("v\(i)".utf8), "acknowledged k\(i) lost") }
        try reopened.close()
    }

    func testDurableComesOnlyAfterTheFsync() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        // Fsyncs of the log fail until cleared: nothing may be acknowledged meanwhile.
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.sync], pathContains: ".log"))
        let outcomes = Outcomes()
        var batch = WriteBatch()
        batch.put(Array("x".utf8), Array("1".utf8))
        try store.write(batch) { error in outcomes.record(0, error) }
        let done = outcomes.wait(for: 1)
        let error = try XCTUnwrap(done[0] ?? nil, "a write whose fsync failed was acknowledged")
        XCTAssertTrue(error.isDeviceError, "\(error)")
        XCTAssertNotNil(store.writeError, "the store refuses writes after a failed fsync")
        var next = WriteBatch()
        next.put(Array("y".utf8), Array("2".utf8))
        XCTAssertThrowsError(try store.write(next) { _ in }, "writes are refused until recovery")
        try? store.close()
    }

    func testWritesRefusedByAFailedFsyncNeverComeBackAfterRecoveryOrACrash() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        let outcomes = Outcomes()
        for i in 0..<20 {
            var b = WriteBatch()
            b.put(Array("a\(i)".utf8), Array("v\(i)".utf8))
            try store.write(b) { e in outcomes.record(i, e) }
        }
        XCTAssertTrue(outcomes.wait(for: 20).values.allSatisfy { $0 == nil })
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.sync], pathContains: ".log", remaining: 1))
        var refused = WriteBatch()
        refused.put(Array("refused".utf8), Array("x".utf8))
        try store.write(refused) { e in outcomes.record(100, e) }
        XCTAssertNotNil(outcomes.wait(for: 21)[100] ?? nil, "the write the failed fsync covered is refused")
        // The store recovers by itself; the refused write is not in what it kept.
        for _ in 0..<500 where store.writeError != nil { usleep(10_000) }
        XCTAssertNil(store.writeError, "no recovery")
        XCTAssertNil(try store.get(Array("refused".utf8)), "a refused write is readable after recovery")
        for i in 0..<20 { XCTAssertEqual(try store.get(Array("a\(i)".utf8)), Array("v\(i)".utf8)) }
        var after = WriteBatch()
        after.put(Array("after".utf8), Array("y".utf8))
        try store.write(after) { e in outcomes.record(200, e) }
        XCTAssertEqual(outcomes.wait(for: 22)[200] ?? StorageError.closed("missing"), nil)
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        XCTAssertNil(try reopened.get(Array("refused".utf8)), "a refused write came back after a crash")
        XCTAssertEqual(try reopened.get(Array("after".utf8)), Array("y".utf8))
        for i in 0..<20 { XCTAssertEqual(try reopened.get(Array("a\(i)".utf8)), Array("v\(i)".utf8), "acknowledged a\(i) lost") }
        try reopened.close()
    }

    func testWithoutSyncAlwaysDurableIsCalledAtOnce() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: smallOptions(fs, sync: .never))
        let called = Mutex(false)
        var b = WriteBatch()
        b.put([1], [2])
        try store.write(b) { e in
            XCTAssertNil(e)
            called.withLock { $0 = true }
        }
        XCTAssertTrue(called.withLock { $0 }, "no syncer under .never: the callback runs before write returns")
        try store.close()
    }

    /// Writers that each wait for their write to be durable before the next one (as loops'
    /// clients do): `writers` threads, `rounds` writes each; returns the fsyncs they took.
    private func closedLoopSyncs(gatherMaxUs: Int, writers: Int, rounds: Int) throws -> (syncs: UInt64, seconds: Double) {
        let fs = MemoryFileSystem()
        var o = options(fs)
        o.syncGatherMaxUs = gatherMaxUs
        let store = try Store.open(path: "/db", options: o)
        let start = DispatchTime.now().uptimeNanoseconds
        // Threads of their own: concurrentPerform runs only as many at once as there are cores.
        let finished = DispatchGroup()
        for t in 0..<writers {
            finished.enter()
            Thread {
                defer { finished.leave() }
                for j in 0..<rounds {
                var batch = WriteBatch()
                batch.put(Array("k\(t).\(j)".utf8), Array("v".utf8))
                let done = DispatchSemaphore(value: 0)
                do {
                    try store.write(batch) { error in
                        XCTAssertNil(error)
                        done.signal()
                    }
                } catch {
                    XCTFail("write threw \(error)")
                    return
                }
                XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
                }
            }.start()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let syncs = store.stats().walSyncs
        try store.close()
        return (syncs, seconds)
    }

    /// Several writers waiting on their fsyncs: a round lets their next writes gather, so one
    /// fsync covers several of them. Measured here: 103-134 fsyncs for the 800 writes with
    /// gathering, 266-336 with it off (the writes that came in while the syncer woke).
    func testConcurrentWritersShareFsyncs() throws {
        let writers = 8, rounds = 100
        let gathered = try closedLoopSyncs(gatherMaxUs: 1_000, writers: writers, rounds: rounds)
        XCTAssertLessThanOrEqual(gathered.syncs, UInt64(writers * rounds / 5),
                                 "fsyncs for \(writers * rounds) closed-loop writes from \(writers) writers")
    }

    /// A lone writer is never held back by the gathering: its round covers one write, and
    /// the next round does not wait for company that is not coming.
    func testALoneWriterIsNotHeldBack() throws {
        let rounds = 200
        let alone = try closedLoopSyncs(gatherMaxUs: 1_000, writers: 1, rounds: rounds)
        XCTAssertEqual(alone.syncs, UInt64(rounds), "one fsync per write when there is only one writer")
        // Held back, 200 writes would take at least 200 windows of 100 µs (20 ms) or more.
        XCTAssertLessThan(alone.seconds, Double(rounds) * 100e-6 * 5, "a lone writer waited for gathering")
    }
}
