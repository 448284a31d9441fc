#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Storage

/// Issue 14: a failed manifest write is sticky, like a failed WAL write (fsyncgate). Before,
/// a range deletion whose manifest fsync failed left the store taking writes and appending
/// later edits after the bytes the kernel had dropped: after a crash, the manifest was
/// damaged mid-file or a later acknowledged range deletion was lost.
final class ManifestFailureTests: XCTestCase {
    func options(_ fs: MemoryFileSystem, recoveryMs: Int = 20) -> StorageOptions {
        var o = smallOptions(fs, sync: .always)
        o.errorRecoveryIntervalMs = recoveryMs
        return o
    }

    func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func key(_ prefix: String, _ i: Int) -> [UInt8] { Array("\(prefix)\(String(format: "%04d", i))".utf8) }

    func testFailedManifestSyncInADeleteRangeStopsWritesUntilRecovered() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs, recoveryMs: 0))
        for i in 0..<100 { try store.put(key("a", i), [1]); try store.put(key("b", i), [2]) }
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.sync], pathContains: "MANIFEST", remaining: 1))
        XCTAssertThrowsError(try store.deleteRange(start: Array("a".utf8), end: Array("b".utf8)))
        XCTAssertNotNil(store.writeError, "the failed manifest write was forgotten")
        XCTAssertThrowsError(try store.put(Array("after".utf8), [3]), "writes go on after a failed manifest write")
        XCTAssertThrowsError(try store.deleteRange(start: Array("b".utf8), end: Array("c".utf8)), "the manifest was appended to again")
        XCTAssertEqual(try store.get(key("b", 5)), [2], "reads go on")
        try? store.close()
    }

    func testAfterRecoveryEveryAcknowledgedDeletionSurvivesACrash() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options(fs))
        for i in 0..<100 { try store.put(key("a", i), [1]); try store.put(key("b", i), [2]); try store.put(key("c", i), [3]) }
        try store.flush()
        fs.inject(MemoryFileSystem.Fault(errno: EIO, operations: [.sync], pathContains: "MANIFEST", remaining: 1))
        XCTAssertThrowsError(try store.deleteRange(start: Array("a".utf8), end: Array("b".utf8)))
        // Retry the next deletion until the store takes it again (after its recovery).
        var deleted = false
        for _ in 0..<500 where !deleted {
            do {
                try store.deleteRange(start: Array("b".utf8), end: Array("c".utf8))
                deleted = true
            } catch {
                usleep(10_000)
            }
        }
        XCTAssertTrue(deleted, "never resumed: \(String(describing: store.writeError))")
        try store.put(Array("after".utf8), [4])
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: options(fs))
        for i in 0..<100 {
            XCTAssertNil(try reopened.get(key("b", i)), "acknowledged deletion of b\(i) lost")
            XCTAssertEqual(try reopened.get(key("c", i)), [3])
        }
        XCTAssertEqual(try reopened.get(Array("after".utf8)), [4])
        try reopened.close()
    }
}
