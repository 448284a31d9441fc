#if canImport(Glibc)
import Glibc
#endif
import Storage
import Synchronization
import XCTest
@testable import Peer

/// What INFO, /status and the log say about a store that stopped writes (DiskHealth).
final class DiskHealthTests: XCTestCase {
    func testLogsEachChangeOnceAndShowsTheCause() {
        let lines = Mutex<[String]>([])
        let health = DiskHealth(log: { l in lines.withLock { $0.append(l) } })
        let full = StorageError.io(operation: "write", path: "/d/\"n3\"/000002.log", errno: ENOSPC)
        health.observe(nil, nowMs: 0)
        XCTAssertEqual(health.statusJSON, "{\"ok\":true}")
        health.observe(full, nowMs: 1_000)
        health.observe(full, nowMs: 1_200)
        health.observe(full, nowMs: 1_400)
        XCTAssertEqual(lines.withLock { $0.count }, 1, "the cause is logged once")
        XCTAssertTrue(lines.withLock { $0[0] }.contains("No space left on device"))
        var stats = StorageStats()
        stats.writeErrors = 1
        let fields = Dictionary(uniqueKeysWithValues: health.infoFields(stats))
        XCTAssertEqual(fields["write_status"], "err")
        XCTAssertEqual(fields["write_error"], "\(full)")
        XCTAssertEqual(fields["write_errors"], "1")
        XCTAssertEqual(health.statusJSON, "{\"ok\":false,\"error\":\"I/O error: write /d/\\\"n3\\\"/000002.log: No space left on device (errno 28)\"}")
        health.observe(nil, nowMs: 3_500)
        XCTAssertEqual(lines.withLock { $0.last }, "chorus: writes accepted again after 2500 ms")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: health.infoFields(stats))["write_status"], "ok")
    }
}
