import XCTest
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
@testable import Storage

final class StoreCheckpointTests: XCTestCase {
    private func readAll(_ reader: CheckpointReader) throws -> [String: String] {
        let it = try reader.makeIterator()
        var out: [String: String] = [:]
        var steps = 0
        while it.isValid, steps < 1_000_000 {
            out[it.key.text] = Array(it.value).text
            try it.next()
            steps += 1
        }
        return out
    }

    private func storeContents(_ store: Store) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try scanAll(store).map { ($0.0.text, $0.1.text) })
    }

    /// Tables, memtable entries, deletions and a range deletion are all in the checkpoint as
    /// they were; writes after it are not; the store goes on unchanged.
    func testCheckpointHoldsExactlyTheStateAtItsSequence() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: smallOptions(fs))
        var model: [String: String] = [:]
        for i in 0..<2_000 {
            try store.put(.init("k\(i)"), .init("v\(i)"))
            model["k\(i)"] = "v\(i)"
        }
        for i in stride(from: 0, to: 2_000, by: 7) {
            try store.delete(.init("k\(i)"))
            model["k\(i)"] = nil
        }
        try store.deleteRange(start: .init("k15"), end: .init("k16"))
        for k in model.keys where k >= "k15" && k < "k16" { model[k] = nil }
        // A few writes that stay in the memtable (no flush after them).
        for i in 0..<5 {
            try store.put(.init("m\(i)"), .init("fresh\(i)"))
            model["m\(i)"] = "fresh\(i)"
        }
        XCTAssertGreaterThan(store.stats().filesPerLevel.reduce(0, +), 0, "the test needs tables as well as a memtable")

        let info = try store.checkpoint(to: "/backup")
        XCTAssertGreaterThan(info.memtableEntries, 0)
        XCTAssertGreaterThan(info.copiedTables, 0, "the memory file system has no links: tables are copied")
        XCTAssertEqual(info.linkedTables, 0)

        // Writes after the checkpoint change the store, not the checkpoint.
        try store.put(.init("k1"), .init("after"))
        try store.delete(.init("k2"))
        try store.put(.init("z"), .init("after"))
        try store.compactRange()

        let reader = try CheckpointReader(path: "/backup", fileSystem: fs)
        XCTAssertEqual(reader.sequence, info.sequence)
        XCTAssertEqual(try readAll(reader), model)
        XCTAssertEqual(try reader.get(.init("k1")), .init("v1"))
        XCTAssertNil(try reader.get(.init("k7")))
        XCTAssertNil(try reader.get(.init("k150")))
        XCTAssertNil(try reader.get(.init("z")))

        var now = model
        now["k1"] = "after"
        now["k2"] = nil
        now["z"] = "after"
        XCTAssertEqual(try storeContents(store), now)
        try store.close()

        // The checkpoint is a store: it opens (and recovers nothing from a log).
        let restored = try Store.open(path: "/backup", options: smallOptions(fs))
        XCTAssertEqual(try storeContents(restored), model)
        try restored.close()
    }

    func testEmptyStoreAndNonEmptyDirectory() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: smallOptions(fs))
        let info = try store.checkpoint(to: "/empty")
        XCTAssertEqual(info.memtableEntries, 0)
        XCTAssertEqual(try readAll(try CheckpointReader(path: "/empty", fileSystem: fs)), [:])
        XCTAssertThrowsError(try store.checkpoint(to: "/empty")) { error in
            XCTAssertTrue("\(error)".contains("exists and is not empty"), "\(error)")
        }
        // A live store's directory has a log to replay: not a checkpoint.
        XCTAssertThrowsError(try CheckpointReader(path: "/db", fileSystem: fs)) { error in
            XCTAssertTrue("\(error)".contains("write-ahead log"), "\(error)")
        }
        XCTAssertThrowsError(try CheckpointReader(path: "/nothing", fileSystem: fs))
        try store.close()
        XCTAssertThrowsError(try store.checkpoint(to: "/after-close"))
    }

    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/chorus-checkpoint-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw XCTSkip("mkdtemp failed") }
        return String(cString: p)
    }

    private func removeTree(_ dir: String) {
        let fs = PosixFileSystem()
        for sub in [dir + "/db", dir + "/backup", dir] {
            for name in (try? fs.children(sub)) ?? [] { try? fs.removeFile(sub + "/" + name) }
            rmdir(sub)
        }
    }

    /// On a real file system tables are hard links, which outlive the store's compaction of
    /// the originals; and a checkpoint taken while a writer runs holds a prefix of its
    /// writes (each key written once, in order): never a later write without an earlier one.
    func testHardLinksAndConsistencyUnderConcurrentWrites() throws {
        let dir = try temporaryDirectory()
        defer { removeTree(dir) }
        var options = smallOptions(PosixFileSystem())
        options.memtableSizeBytes = 64 << 10
        let store = try Store.open(path: dir + "/db", options: options)
        let preload = 5_000
        for i in 0..<preload { try store.put(.init(String(format: "a%06d", i)), .init("x\(i)")) }
        try store.flush()

        let written = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        let writer = Thread {
            var i = 0
            while !stop.load(ordering: .relaxed), i < 2_000_000 {
                do {
                    try store.put(.init(String(format: "w%07d", i)), .init("y\(i)"))
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
                i += 1
                written.store(i, ordering: .relaxed)
            }
        }
        writer.start()
        var spins = 0
        while written.load(ordering: .relaxed) < 3_000, spins < 10_000 {
            usleep(1000)
            spins += 1
        }
        let info = try store.checkpoint(to: dir + "/backup")
        let atCheckpoint = written.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        var joins = 0
        while !writer.isFinished, joins < 10_000 {
            usleep(1000)
            joins += 1
        }
        XCTAssertNil(failure.withLock { $0 })
        XCTAssertGreaterThan(info.linkedTables, 0)
        XCTAssertEqual(info.copiedTables, 0)
        XCTAssertLessThan(info.lockedMicros, 10_000, "the lock is held only to pick the files")

        // The originals go; the checkpoint's names keep the bytes.
        try store.compactRange()
        try store.close()
        let reader = try CheckpointReader(path: dir + "/backup")
        let contents = try readAll(reader)
        let ws = contents.keys.filter { $0.hasPrefix("w") }.sorted()
        XCTAssertEqual(contents.keys.filter { $0.hasPrefix("a") }.count, preload)
        XCTAssertGreaterThanOrEqual(ws.count, 1)
        XCTAssertLessThanOrEqual(ws.count, atCheckpoint + 1)
        // A prefix: w0000000 ... w(n-1), with no gap.
        XCTAssertEqual(ws, (0..<ws.count).map { String(format: "w%07d", $0) })
        XCTAssertEqual(contents[String(format: "w%07d", ws.count - 1)], "y\(ws.count - 1)")
    }
}
