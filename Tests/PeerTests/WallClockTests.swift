import Foundation
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Wall-clock hybrid logical clocks (SPEC 3, 6 "Clocks"): epoch milliseconds on disk, no
/// adoption of timestamps from a clock far ahead, and the migration of since-boot data.
final class WallClockTests: XCTestCase {
    let n1: NodeID = "n1", n2: NodeID = "n2"
    static let epoch2026: Int64 = 1_780_000_000_000

    /// A settable virtual wall clock.
    final class VirtualWall: Sendable {
        let ms: Mutex<Int64>
        init(_ start: Int64) { ms = Mutex(start) }
        var now: Int64 { ms.withLock { $0 } }
        func advance(_ d: Int64) { ms.withLock { $0 += d } }
    }

    func replica(_ fs: MemoryFileSystem, wall: VirtualWall, maxAheadMs: UInt64 = 500) throws -> LocalReplica {
        var options = StorageOptions()
        options.fileSystem = fs
        return try LocalReplica(store: try Store.open(path: "/n1", options: options), nodeID: n1,
                                maxClockAheadMs: maxAheadMs, clock: { wall.now })
    }

    let address = KeyAddress(namespace: Array("default".utf8), partition: 3, key: Array("k".utf8))

    func lwwWrite(_ r: LocalReplica, _ value: SiblingValue) throws -> LWWKeyState {
        guard case .written(.lww(let s)) = try r.coordinateWrite(address, conflict: .lww, context: nil, value: value, siblingLimit: 64)
        else { XCTFail("not an lww write"); throw ClientError("no") }
        return s
    }

    func testWallClockReadsUnixEpochMilliseconds() {
        let expected = Int64(Date().timeIntervalSince1970 * 1000)
        XCTAssertLessThan(abs(WallClock.nowMs() - expected), 1_000)
        // A since-boot clock would be far below 2020-01-01 on any machine up for < 50 years.
        XCTAssertGreaterThan(WallClock.nowMs(), 1_577_836_800_000)
    }

    func testDefaultReplicaClockIsTheWallClock() throws {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        let r = try LocalReplica(store: try Store.open(path: "/d", options: options), nodeID: n1)
        let before = WallClock.nowMs()
        let s = try lwwWrite(r, .value([1]))
        XCTAssertGreaterThanOrEqual(Int64(s.timestamp.physicalMs), before)
        XCTAssertLessThanOrEqual(Int64(s.timestamp.physicalMs), WallClock.nowMs())
        _ = try lwwWrite(r, .tombstone)
        let t = try XCTUnwrap(r.tombstoneTime(address))
        XCTAssertLessThan(abs(Int64(t) - WallClock.nowMs()), 1_000, "tombstone time is wall-clock ms")
    }

    func testStampAfterFarAheadTimestampWinsWithoutAdoptingIt() {
        var c = HybridClock(node: n1)
        let ahead = HLCTimestamp(physicalMs: 10_000_000, logical: 4, node: n2)
        let t = c.stamp(after: ahead, wallMs: 1_000, maxAheadMs: 500)
        XCTAssertGreaterThan(t, ahead, "the write still wins over what its coordinator saw")
        XCTAssertEqual(t, HLCTimestamp(physicalMs: 10_000_000, logical: 5, node: n1))
        XCTAssertEqual(c.last.physicalMs, 1_000, "the clock itself stays on the wall clock")
        XCTAssertEqual(c.now(wallMs: 1_001).physicalMs, 1_001)
        // Within the bound it is adopted, as before.
        let near = HLCTimestamp(physicalMs: 1_400, logical: 0, node: n2)
        XCTAssertEqual(c.stamp(after: near, wallMs: 1_002, maxAheadMs: 500), HLCTimestamp(physicalMs: 1_400, logical: 1, node: n1))
        XCTAssertEqual(c.last.physicalMs, 1_400)
        XCTAssertFalse(c.observeIfPlausible(HLCTimestamp(physicalMs: 1_503, logical: 0, node: n2), wallMs: 1_002, maxAheadMs: 500))
        XCTAssertEqual(c.last.physicalMs, 1_400)
        XCTAssertTrue(c.observeIfPlausible(HLCTimestamp(physicalMs: 1_502, logical: 0, node: n2), wallMs: 1_002, maxAheadMs: 500))
        XCTAssertEqual(c.last.physicalMs, 1_502)
    }

    func testMergedTimestampFarAheadIsStoredButNeverAdopted() throws {
        let wall = VirtualWall(WallClockTests.epoch2026)
        let r = try replica(MemoryFileSystem(), wall: wall)
        let other = KeyAddress(namespace: address.namespace, partition: 3, key: Array("other".utf8))
        let future = HLCTimestamp(physicalMs: UInt64(WallClockTests.epoch2026 + 300_000), logical: 0, node: n2)
        try r.merge(other, record: .lww(LWWKeyState(timestamp: future, value: .value([9]))))
        XCTAssertEqual(try r.read(other), .lww(LWWKeyState(timestamp: future, value: .value([9]))), "stored: replicas converge")
        XCTAssertEqual(r.implausibleTimestamps.load(ordering: .relaxed), 1)
        // A write to another key is stamped from the wall clock, not 300 s ahead.
        let s = try lwwWrite(r, .value([1]))
        XCTAssertEqual(Int64(s.timestamp.physicalMs), WallClockTests.epoch2026)
        // A write over the far-ahead key still wins over it.
        guard case .written(.lww(let over)) = try r.coordinateWrite(other, conflict: .lww, context: nil, value: .value([2]), siblingLimit: 64)
        else { return XCTFail("not written") }
        XCTAssertGreaterThan(over.timestamp, future)
        XCTAssertEqual(try r.read(other)?.lwwValue, [2])
        XCTAssertEqual(Int64(try lwwWrite(r, .value([3])).timestamp.physicalMs), WallClockTests.epoch2026, "clock not dragged ahead")
        // Within the bound, a merge moves the clock (causality across nodes).
        let near = HLCTimestamp(physicalMs: UInt64(WallClockTests.epoch2026 + 400), logical: 0, node: n2)
        try r.merge(KeyAddress(namespace: address.namespace, partition: 3, key: [7]), record: .lww(LWWKeyState(timestamp: near, value: .value([4]))))
        XCTAssertGreaterThan(try lwwWrite(r, .value([5])).timestamp, near)
    }

    func testSinceBootTombstoneTimesAreMigratedOnOpenAndMarked() throws {
        let fs = MemoryFileSystem()
        var options = StorageOptions()
        options.fileSystem = fs
        // A store as the previous format left it: a tombstone timed 42 s after boot, no marker.
        do {
            let store = try Store.open(path: "/n1", options: options)
            var batch = WriteBatch()
            batch.put(address.storageKey, KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: 41_000, logical: 0, node: n1), value: .tombstone)).encode())
            batch.put(LocalReplica.tombstoneKey(address), LocalReplica.encodeTime(42_000))
            try store.write(batch, sync: true)
            try store.close()
        }
        let wall = VirtualWall(WallClockTests.epoch2026)
        let r = try replica(fs, wall: wall)
        XCTAssertEqual(try r.tombstoneTime(address), UInt64(WallClockTests.epoch2026), "grace restarts from now, never shortened")
        XCTAssertEqual(try r.meta(LocalReplica.clockFormatName), [VersionFormat.clockFormatWallMs])
        // The old LWW record loses to any write made after the upgrade.
        XCTAssertEqual(Int64(try lwwWrite(r, .value([1])).timestamp.physicalMs), WallClockTests.epoch2026)
        try r.store.close()
        // Reopened later: already format 1, nothing rewritten.
        wall.advance(60_000)
        let again = try replica(fs, wall: wall)
        _ = try lwwWrite(again, .tombstone)
        XCTAssertEqual(try again.tombstoneTime(address), UInt64(WallClockTests.epoch2026 + 60_000))
        XCTAssertEqual(try LocalReplica.migrateClockFormat(store: again.store, wallMs: 1), 0)
    }

    func testStoreFromANewerClockFormatIsRefused() throws {
        let fs = MemoryFileSystem()
        var options = StorageOptions()
        options.fileSystem = fs
        let store = try Store.open(path: "/n1", options: options)
        try store.put(StorageKey.meta(name: Array(LocalReplica.clockFormatName.utf8)).encode(), [9], sync: true)
        XCTAssertThrowsError(try LocalReplica(store: store, nodeID: n1)) { error in
            XCTAssertTrue("\(error)".contains("clock format 9"), "\(error)")
        }
    }
}

extension KeyRecord {
    /// The value of an lww record, nil for a tombstone or a siblings record.
    var lwwValue: [UInt8]? {
        if case .lww(let l) = self { return l.read() }
        return nil
    }
}
