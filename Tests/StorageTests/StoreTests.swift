import XCTest
import Synchronization
@testable import Storage

final class StoreTests: XCTestCase {
    func openMemory(_ fs: MemoryFileSystem = MemoryFileSystem(), options: ((inout StorageOptions) -> Void)? = nil) throws -> (Store, MemoryFileSystem) {
        var o = smallOptions(fs)
        options?(&o)
        return (try Store.open(path: "/db", options: o), fs)
    }

    func testPutGetDeleteAndReopen() throws {
        let (store, fs) = try openMemory()
        try store.put(.init("a"), .init("1"))
        try store.put(.init("b"), .init("2"))
        try store.delete(.init("a"))
        XCTAssertNil(try store.get(.init("a")))
        XCTAssertEqual(try store.get(.init("b")), .init("2"))
        try store.close()
        let reopened = try Store.open(path: "/db", options: smallOptions(fs))
        XCTAssertNil(try reopened.get(.init("a")))
        XCTAssertEqual(try reopened.get(.init("b")), .init("2"))
        XCTAssertThrowsError(try store.put(.init("c"), .init("3")))
        try reopened.close()
    }

    func testSecondOpenOfSameDirectoryIsRefused() throws {
        let (store, fs) = try openMemory()
        XCTAssertThrowsError(try Store.open(path: "/db", options: smallOptions(fs)))
        try store.close()
    }

    func testValuesSurviveFlushAndCompaction() throws {
        let (store, fs) = try openMemory()
        for i in 0..<3_000 { try store.put(.init("key\(i)"), .init("value\(i)-" + String(repeating: "x", count: i % 50))) }
        for i in stride(from: 0, to: 3_000, by: 3) { try store.delete(.init("key\(i)")) }
        try store.compactRange()
        let s = store.stats()
        XCTAssertGreaterThan(s.flushes, 0)
        XCTAssertGreaterThan(s.compactions + s.trivialMoves, 0)
        for i in 0..<3_000 {
            let v = try store.get(.init("key\(i)"))
            XCTAssertEqual(v, i % 3 == 0 ? nil : .init("value\(i)-" + String(repeating: "x", count: i % 50)), "key\(i)")
        }
        try store.close()
        let reopened = try Store.open(path: "/db", options: smallOptions(fs))
        XCTAssertEqual(try scanAll(reopened).count, 2_000)
        try reopened.close()
    }

    func testSnapshotSeesOldValuesAcrossCompaction() throws {
        let (store, _) = try openMemory()
        for i in 0..<500 { try store.put(.init("k\(i)"), .init("old\(i)")) }
        let snap = store.snapshot()
        for i in 0..<500 { try store.put(.init("k\(i)"), .init("new\(i)")) }
        for i in 0..<250 { try store.delete(.init("k\(i)")) }
        try store.compactRange()
        XCTAssertEqual(try store.get(.init("k7"), snapshot: snap), .init("old7"))
        XCTAssertNil(try store.get(.init("k7")))
        XCTAssertEqual(try store.get(.init("k300")), .init("new300"))
        let old = try scanAll(store, snapshot: snap)
        XCTAssertEqual(old.count, 500)
        XCTAssertTrue(old.allSatisfy { $0.1.text.hasPrefix("old") })
        snap.release()
        try store.close()
    }

    func testIteratorRangeAndPrefixBounds() throws {
        let (store, _) = try openMemory()
        for k in ["a", "ab", "abc", "abd", "ac", "b", "b\u{0}", "ba"] { try store.put(.init(k), .init("v" + k)) }
        try store.flush()
        try store.put(.init("abe"), .init("vabe"))
        XCTAssertEqual(try scanAll(store, range: .prefix(.init("ab"))).map { $0.0.text }, ["ab", "abc", "abd", "abe"])
        XCTAssertEqual(try scanAll(store, range: KeyRange(start: .init("abd"), end: .init("b"))).map { $0.0.text }, ["abd", "abe", "ac"])
        XCTAssertEqual(try scanAll(store, range: KeyRange(start: .init("b"))).map { $0.0.text }, ["b", "b\u{0}", "ba"])
        XCTAssertEqual(try scanAll(store, range: KeyRange(end: .init("a"))).count, 0)
        XCTAssertEqual(try scanAll(store, range: .prefix([0xff])).count, 0)
        // Seek inside a range: to a missing key, past the end, before the start.
        let it = try store.makeIterator(range: KeyRange(start: .init("ab"), end: .init("b")))
        try it.seek(.init("abcc"))
        XCTAssertEqual(it.key.text, "abd")
        try it.seek(.init("zzz"))
        XCTAssertFalse(it.isValid)
        try it.seek(.init("a"))
        XCTAssertEqual(it.key.text, "ab")
        try store.close()
    }

    func testIteratorIsConsistentWhileWritesContinue() throws {
        let (store, _) = try openMemory()
        for i in 0..<1_000 { try store.put(.init(String(format: "k%04d", i)), .init("a")) }
        let it = try store.makeIterator()
        for i in 0..<1_000 { try store.put(.init(String(format: "k%04d", i)), .init("b")) }
        try store.put(.init("k0500x"), .init("new key"))
        try store.compactRange()
        var count = 0
        while it.isValid {
            XCTAssertEqual(Array(it.value), .init("a"))
            count += 1
            try it.next()
        }
        XCTAssertEqual(count, 1_000)
        try store.close()
    }

    func testTablesOfALiveIteratorAreKeptUntilItIsReleased() throws {
        let (store, fs) = try openMemory()
        for i in 0..<1_000 { try store.put(.init(String(format: "k%04d", i)), .init("a")) }
        try store.compactRange()
        let tables = { Set(try fs.children("/db").filter { $0.hasSuffix(".sst") }) }
        let before = try tables()
        var it: StoreIterator? = try store.makeIterator()
        for i in 0..<1_000 { try store.put(.init(String(format: "k%04d", i)), .init("b")) }
        try store.compactRange()
        XCTAssertTrue(before.isSubset(of: try tables()), "tables a live iterator reads were deleted")
        var count = 0
        while let i = it, i.isValid {
            XCTAssertEqual(Array(i.value), .init("a"))
            count += 1
            try i.next()
        }
        XCTAssertEqual(count, 1_000)
        it = nil
        // The next background step deletes what no live version names any more.
        try store.put(.init("z"), .init("z"))
        try store.compactRange()
        XCTAssertTrue(before.isDisjoint(with: try tables()), "obsolete tables outlived every reader")
        try store.close()
    }

    func testDeleteRangeHidesKeysAndSurvivesReopenAndCompaction() throws {
        let (store, fs) = try openMemory()
        for i in 0..<2_000 { try store.put(.init(String(format: "p%02d/%04d", i % 10, i)), .init("v\(i)")) }
        try store.flush()
        for i in 0..<100 { try store.put(.init(String(format: "p03/x%03d", i)), .init("mem")) }
        try store.deleteRange(start: .init("p03/"), end: .init("p04/"))
        try store.put(.init("p03/after"), .init("kept"))
        XCTAssertNil(try store.get(.init("p03/0003")))
        XCTAssertNil(try store.get(.init("p03/x001")))
        XCTAssertEqual(try store.get(.init("p04/0004")), .init("v4"))
        XCTAssertEqual(try scanAll(store, range: .prefix(.init("p03/"))).map { $0.0.text }, ["p03/after"])
        try store.close()
        let reopened = try Store.open(path: "/db", options: smallOptions(fs))
        XCTAssertEqual(try scanAll(reopened, range: .prefix(.init("p03/"))).map { $0.0.text }, ["p03/after"])
        XCTAssertEqual(reopened.stats().rangeTombstones, 1)
        try reopened.compactRange()
        // The manual compaction rewrote the range, so the tombstone could retire.
        XCTAssertEqual(reopened.stats().rangeTombstones, 0)
        XCTAssertEqual(try scanAll(reopened, range: .prefix(.init("p03/"))).map { $0.0.text }, ["p03/after"])
        XCTAssertEqual(try scanAll(reopened).count, 1_800 + 1)
        try reopened.close()
    }

    func testApproximateSizeTracksData() throws {
        let (store, _) = try openMemory()
        for i in 0..<4_000 { try store.put(.init(String(format: "a%05d", i)), [UInt8](repeating: UInt8(i & 0xff), count: 100)) }
        for i in 0..<400 { try store.put(.init(String(format: "b%05d", i)), [UInt8](repeating: 1, count: 100)) }
        try store.compactRange()
        let a = try store.approximateSize(.prefix(.init("a")))
        let b = try store.approximateSize(.prefix(.init("b")))
        XCTAssertGreaterThan(a, 300_000)
        XCTAssertLessThan(a, 600_000)
        XCTAssertGreaterThan(a, 5 * b)
        XCTAssertEqual(try store.approximateSize(.prefix(.init("c"))), 0)
        try store.close()
    }

    func testAtomicBatchAppliesAllOrNothingAcrossCrash() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: smallOptions(fs, sync: .always))
        var batch = WriteBatch()
        for i in 0..<50 { batch.put(Array("b\(i)".utf8), Array("v".utf8)) }
        batch.delete(Array("b0".utf8))
        try store.write(batch)
        fs.crash()
        let reopened = try Store.open(path: "/db", options: smallOptions(fs))
        XCTAssertNil(try reopened.get(.init("b0")))
        XCTAssertEqual(try scanAll(reopened).count, 49)
        try reopened.close()
    }

    func testConcurrentWritersShareFsyncs() throws {
        let dir = NSTemporaryDirectory() + "chorus-groupcommit-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = StorageOptions()
        o.sync = .always
        let store = try Store.open(path: dir, options: o)
        let threads = 8, perThread = 100
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread { try? store.put(.init("t\(t)-\(i)"), .init("v")) }
        }
        let s = store.stats()
        XCTAssertEqual(s.writes, UInt64(threads * perThread))
        // Every write was acknowledged after an fsync, and groups shared them.
        XCTAssertEqual(s.walSyncs, s.writeGroups)
        XCTAssertLessThan(s.writeGroups, s.writes)
        for t in 0..<threads { XCTAssertEqual(try store.get(.init("t\(t)-\(perThread - 1)")), .init("v")) }
        try store.close()
    }

    func testWritersStallWhenFlushFallsBehindAndStallIsCounted() throws {
        let (store, _) = try openMemory { o in
            o.l0CompactionTrigger = 1
            o.l0SlowdownTrigger = 1
            o.l0StopTrigger = 2
        }
        for i in 0..<20_000 { try store.put(.init("k\(i % 5000)"), [UInt8](repeating: 7, count: 64)) }
        let s = store.stats()
        XCTAssertGreaterThan(s.slowdowns + s.stalls, 0)
        XCTAssertEqual(try store.get(.init("k4999")), [UInt8](repeating: 7, count: 64))
        try store.close()
    }

    final class DropPrefix: CompactionFilter, @unchecked Sendable {
        let seen = Mutex(0)
        func filter(userKey: ArraySlice<UInt8>, value: ArraySlice<UInt8>?, isBottomLevel: Bool) -> CompactionDecision {
            seen.withLock { $0 += 1 }
            return userKey.first == UInt8(ascii: "x") && value?.first == UInt8(ascii: "T") ? .drop : .keep
        }
    }

    func testCompactionFilterDecidesWhatIsDropped() throws {
        let filter = DropPrefix()
        let (store, _) = try openMemory { $0.compactionFilter = filter }
        for i in 0..<500 {
            try store.put(.init("x\(i)"), .init(i % 2 == 0 ? "Tombstone" : "Live"))
            try store.put(.init("y\(i)"), .init("Tombstone"))
        }
        try store.compactRange()
        XCTAssertGreaterThan(filter.seen.withLock { $0 }, 0)
        XCTAssertNil(try store.get(.init("x0")))
        XCTAssertEqual(try store.get(.init("x1")), .init("Live"))
        XCTAssertEqual(try store.get(.init("y0")), .init("Tombstone"))
        XCTAssertEqual(try scanAll(store).count, 750)
        try store.close()
    }

    func testTombstonesAreDroppedOnlyAtTheBottom() throws {
        let (store, _) = try openMemory()
        for i in 0..<2_000 { try store.put(.init(String(format: "k%05d", i)), [UInt8](repeating: 1, count: 50)) }
        try store.compactRange()
        for i in 0..<2_000 { try store.delete(.init(String(format: "k%05d", i))) }
        try store.compactRange()
        XCTAssertEqual(try scanAll(store).count, 0)
        // Values and tombstones are all gone: nothing left on disk but empty levels.
        XCTAssertEqual(store.stats().filesPerLevel.reduce(0, +), 0)
        try store.close()
    }

    func testOptionsAreValidated() {
        var o = smallOptions(MemoryFileSystem())
        o.l0StopTrigger = 1
        o.l0SlowdownTrigger = 4
        XCTAssertThrowsError(try Store.open(path: "/db", options: o))
        XCTAssertThrowsError(try SyncPolicy(parsing: "periodic:0"))
        XCTAssertThrowsError(try SyncPolicy(parsing: "sometimes"))
        XCTAssertEqual(try SyncPolicy(parsing: "periodic:100"), .periodic(milliseconds: 100))
    }
}
