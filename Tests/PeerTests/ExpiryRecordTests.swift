import Ring
import Storage
import XCTest
@testable import Peer

/// Expiry in the versioned value (RECORDS.md tags 4 and 5, docs/VERSIONS.md "Expiry"): round
/// trips, old records unchanged, merge with a stale unexpired copy, and the tombstone clock
/// that reaping uses.
final class ExpiryRecordTests: XCTestCase {
    let n1: NodeID = "n1", n2: NodeID = "n2"
    let t0: UInt64 = 1_700_000_000_000

    func testExpiringSiblingWorkedExampleFromRecordsMd() throws {
        let state = try KeyState(context: VersionVector([n1: 5]), siblings: [
            Sibling(dot: Dot(actor: n1, counter: 5), value: .value(Array("hi".utf8)), expiresAtMs: t0),
        ])
        let body: [UInt8] = [0x73, 0x01, 0x02, 0x6e, 0x31, 0x05, 0x01,
                             0x00, 0x05, 0x04, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x02, 0x68, 0x69]
        let bytes = KeyRecord.siblings(state).encode()
        XCTAssertEqual(Array(bytes[5...]), body)
        XCTAssertEqual(Array(bytes[0..<5]), [0x01, 0xda, 0xd2, 0x6b, 0x43], "the header RECORDS.md shows: \(bytes[0..<5].map { String($0, radix: 16) })")
        XCTAssertEqual(try KeyRecord(decoding: bytes), .siblings(state))
    }

    /// RECORDS.md's second and third worked examples: the sibling with write id 0x0102
    /// (tag 5), and the lww value with an expiry, byte for byte with their checksums.
    func testWriteIDAndLWWWorkedExamplesFromRecordsMd() throws {
        let state = try KeyState(context: VersionVector([n1: 5]), siblings: [
            Sibling(dot: Dot(actor: n1, counter: 5), value: .value(Array("hi".utf8)), writeID: 0x0102, expiresAtMs: t0),
        ])
        let tagged: [UInt8] = [0x01, 0x94, 0x4e, 0x09, 0x42, 0x73, 0x01, 0x02, 0x6e, 0x31, 0x05, 0x01, 0x00, 0x05,
                               0x05, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                               0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x02, 0x68, 0x69]
        XCTAssertEqual(KeyRecord.siblings(state).encode(), tagged)
        XCTAssertEqual(try KeyRecord(decoding: tagged), .siblings(state))

        let lww = KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: t0, logical: 2, node: n1),
                                            value: .value(Array("hi".utf8)), expiresAtMs: t0 + 60_000))
        let lwwBytes: [UInt8] = [0x01, 0xca, 0x73, 0xcd, 0x1e, 0x6c, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x02, 0x02, 0x6e, 0x31,
                                 0x04, 0xe0, 0xa4, 0x99, 0xff, 0xbc, 0x31, 0x02, 0x68, 0x69]
        XCTAssertEqual(lww.encode(), lwwBytes)
        XCTAssertEqual(try KeyRecord(decoding: lwwBytes), lww)
    }

    func testEveryPayloadTagRoundTrips() throws {
        let siblings = [
            Sibling(dot: Dot(actor: n1, counter: 1), value: .value([1]), writeID: 0, expiresAtMs: 0),        // tag 0
            Sibling(dot: Dot(actor: n1, counter: 2), value: .tombstone),                                      // tag 1
            Sibling(dot: Dot(actor: n1, counter: 3), value: .value([3]), writeID: 77),                        // tag 2
            Sibling(dot: Dot(actor: n1, counter: 4), value: .tombstone, writeID: 78),                         // tag 3
            Sibling(dot: Dot(actor: n2, counter: 1), value: .value([5]), expiresAtMs: t0),                    // tag 4
            Sibling(dot: Dot(actor: n2, counter: 2), value: .value([]), writeID: 79, expiresAtMs: t0 + 1),    // tag 5
        ]
        let state = try KeyState(context: VersionVector([n1: 4, n2: 2]), siblings: siblings)
        let record = KeyRecord.siblings(state)
        XCTAssertEqual(try KeyRecord(decoding: record.encode()), record)
        for (value, expiry) in [(SiblingValue.value([9, 9]), t0), (.value([9]), 0), (.tombstone, 0)] {
            let l = KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: t0, logical: 1, node: n1), value: value, expiresAtMs: expiry))
            XCTAssertEqual(try KeyRecord(decoding: l.encode()), l)
        }
        // A tombstone never carries an expiry: one state, one encoding.
        XCTAssertEqual(Sibling(dot: Dot(actor: n1, counter: 1), value: .tombstone, expiresAtMs: t0).expiresAtMs, 0)
    }

    func testRecordsWithoutExpiryAreByteIdenticalToTheOldFormat() throws {
        // The worked examples of RECORDS.md (pinned in KeyRecordTests) still come out the same:
        // a value without an expiry keeps tag 0 or 2.
        let plain = try KeyState(context: VersionVector([n1: 5]), siblings: [Sibling(dot: Dot(actor: n1, counter: 5), value: .value(Array("hi".utf8)))])
        XCTAssertEqual(Array(KeyRecord.siblings(plain).encode()[5...]), [0x73, 0x01, 0x02, 0x6e, 0x31, 0x05, 0x01, 0x00, 0x05, 0x00, 0x02, 0x68, 0x69])
        let withID = try KeyState(context: VersionVector([n1: 5]), siblings: [Sibling(dot: Dot(actor: n1, counter: 5), value: .value([7]), writeID: 1)])
        XCTAssertEqual(KeyRecord.siblings(withID).encode()[14], VersionFormat.valueTagValueWithWriteID)
    }

    /// Re-checksums a hand-made body so only the structure is under test.
    func record(_ body: [UInt8]) -> [UInt8] {
        let crc = CRC32C.mask(CRC32C.checksum(body))
        return [0x01, UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)] + body
    }

    func testNonCanonicalOrMisplacedExpiryTagsAreRefused() {
        let head: [UInt8] = [0x73, 0x01, 0x02, 0x6e, 0x31, 0x05, 0x01, 0x00, 0x05]
        // tag 4 with expiry 0 (that is tag 0's meaning)
        XCTAssertThrowsError(try KeyRecord(decoding: record(head + [0x04, 0x00, 0x01, 0x61]))) {
            XCTAssertEqual($0 as? KeyRecordError, .badPayloadTag(offset: 14))
        }
        // tag 5 with expiry 0, and with write id 0
        XCTAssertThrowsError(try KeyRecord(decoding: record(head + [0x05, 1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x61])))
        XCTAssertThrowsError(try KeyRecord(decoding: record(head + [0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x61])))
        // tag 4 truncated
        XCTAssertThrowsError(try KeyRecord(decoding: record(head + [0x04, 0x80])))
        // lww: tag 5 (write ids are siblings-only) is refused; tag 4 with expiry 0 too
        let lwwHead: [UInt8] = [0x6c, 0x01, 0x00, 0x02, 0x6e, 0x31]
        XCTAssertThrowsError(try KeyRecord(decoding: record(lwwHead + [0x05, 1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x61])))
        XCTAssertThrowsError(try KeyRecord(decoding: record(lwwHead + [0x04, 0x00, 0x01, 0x61])))
        XCTAssertNoThrow(try KeyRecord(decoding: record(lwwHead + [0x04, 0x01, 0x01, 0x61])))
    }

    func testExpiredValueReadsAbsentAndLiveOneDoesNot() throws {
        let state = try KeyState(context: VersionVector([n1: 2]), siblings: [
            Sibling(dot: Dot(actor: n1, counter: 2), value: .value([1]), expiresAtMs: t0),
        ])
        let r = KeyRecord.siblings(state)
        XCTAssertFalse(r.isAbsent(atMs: t0 - 1))
        XCTAssertEqual(r.live(atMs: t0 - 1), [LiveValue(bytes: [1], expiresAtMs: t0)])
        XCTAssertTrue(r.isAbsent(atMs: t0), "the expiry instant itself is expired, as in Redis")
        XCTAssertEqual(state.read(atMs: t0).values, [])
        XCTAssertEqual(state.read(atMs: t0).context, state.context, "the context stays: it is what stops older values")
        XCTAssertEqual(ClientCommands.getReply(r, atMs: t0), .nullBulk)
        XCTAssertEqual(ClientCommands.getReply(r, atMs: t0 - 1), .bulk([1]))
        XCTAssertEqual(r.absentFromMs, t0)
        XCTAssertFalse(r.isAbsent, "storage-level: not a tombstone")
    }

    /// The heart of "never comes back": a replica that missed the EXPIRE still holds the old
    /// unexpired value; merging either way keeps only the newer (expired) version.
    func testStaleUnexpiredCopyLosesToTheExpiredVersionOnMerge() throws {
        var fresh = KeyState()
        var counter: UInt64 = 0
        let next = { () -> UInt64 in counter += 1; return counter }
        _ = fresh.write(at: n1, context: nil, value: .value(Array("old".utf8)), nextCounter: next)
        let stale = fresh
        _ = fresh.write(at: n1, context: nil, value: .value(Array("old".utf8)), expiresAtMs: t0, nextCounter: next)
        for merged in [fresh.merged(with: stale), stale.merged(with: fresh)] {
            XCTAssertEqual(merged, fresh)
            XCTAssertEqual(merged.read(atMs: t0 + 1).values, [], "the stale value came back")
        }
        // lww: the expiring write has the later timestamp and wins on every merge.
        var clock = HybridClock(node: n1)
        let old = LWWKeyState.written(.value([1]), over: nil, clock: &clock, wallMs: t0 - 10)
        let ts = clock.stamp(after: old.timestamp, wallMs: t0 - 5, maxAheadMs: 500)
        let expiring = LWWKeyState(timestamp: ts, value: .value([1]), expiresAtMs: t0)
        XCTAssertEqual(old.merged(with: expiring), expiring)
        XCTAssertEqual(expiring.merged(with: old), expiring)
        XCTAssertNil(expiring.merged(with: old).read(atMs: t0))
    }

    /// An expiry set on one side of a partition and a SET on the other are concurrent: both
    /// stay as siblings, and once the expiry passes only the SET's value is read.
    func testConcurrentExpireAndSetLeaveTheLiveValue() throws {
        var base = KeyState()
        var c1: UInt64 = 0, c2: UInt64 = 0
        _ = base.write(at: n1, context: nil, value: .value([0]), nextCounter: { c1 += 1; return c1 })
        var a = base, b = base
        _ = a.write(at: n1, context: nil, value: .value([0]), expiresAtMs: t0, nextCounter: { c1 += 1; return c1 })
        _ = b.write(at: n2, context: nil, value: .value([2]), nextCounter: { c2 += 1; return c2 })
        let m = a.merged(with: b)
        XCTAssertEqual(m.siblings.count, 2)
        XCTAssertEqual(m.read(atMs: t0 - 1).values.count, 2, "before the expiry: a conflict")
        XCTAssertEqual(m.read(atMs: t0).values, [[2]])
        XCTAssertNil(m.absentFromMs, "a value without expiry keeps the key alive")
    }

    func testStrippedRecordsKeepExpiryForScan() throws {
        let s = try KeyState(context: VersionVector([n1: 1]), siblings: [Sibling(dot: Dot(actor: n1, counter: 1), value: .value([1, 2]), expiresAtMs: t0)])
        let stripped = KeyRecord.siblings(s).strippedOfValues()
        XCTAssertTrue(stripped.isAbsent(atMs: t0))
        XCTAssertFalse(stripped.isAbsent(atMs: t0 - 1))
        let l = KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1, logical: 0, node: n1), value: .value([1]), expiresAtMs: t0))
        XCTAssertTrue(l.strippedOfValues().isAbsent(atMs: t0))
    }

    // MARK: The tombstone clock and reaping, on a real replica

    final class Wall: @unchecked Sendable {
        var ms: Int64
        init(_ ms: Int64) { self.ms = ms }
    }

    func replica(_ wall: Wall) throws -> LocalReplica {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        return try LocalReplica(store: try Store.open(path: "/r", options: options), nodeID: n1, clock: { wall.ms })
    }

    let address = KeyAddress(namespace: Array("default".utf8), partition: 1, key: Array("k".utf8))
    var tree: TreeID { TreeID(partition: address.partition, namespace: address.namespace) }

    func write(_ r: LocalReplica, _ transform: WriteTransform, now: UInt64, conflict: ConflictMode = .siblings) throws -> (LocalReplica.WriteResult, TransformReply) {
        var reply = TransformReply.null
        let result = try r.coordinateWrite(address, conflict: conflict, context: nil, value: .tombstone, siblingLimit: 64, decide: { record in
            let (d, rep) = transform.decide(record, nowMs: now, maxValueBytes: 1 << 24)
            reply = rep
            return d
        })
        return (result, reply)
    }

    func testExpiringRecordIsTimedOnlyOnceExpiredAndReapedOnlyThen() throws {
        for conflict in [ConflictMode.siblings, .lww] {
            let wall = Wall(Int64(t0))
            let r = try replica(wall)
            _ = try write(r, .set(value: [1], condition: .always, reply: .ok, expiry: .clear), now: t0, conflict: conflict)
            XCTAssertEqual(try r.tombstones(tree).count, 0, "a value without expiry has no tombstone clock")
            _ = try write(r, .expire(atMs: t0 + 5_000, conditions: []), now: t0, conflict: conflict)
            XCTAssertEqual(try r.tombstones(tree).count, 0, "an expiry in the future is not timed when written")
            XCTAssertEqual(try r.indexExpired(tree), 0, "the first sweep finds nothing expired yet")
            XCTAssertFalse(try r.reap(address, since: t0), "a clock that is not the record's own reaps nothing")
            _ = try write(r, .persist, now: t0 + 1, conflict: conflict)
            XCTAssertEqual(try r.tombstones(tree).count, 0, "PERSIST makes the key immortal again")
            _ = try write(r, .expire(atMs: t0 + 5_000, conditions: []), now: t0 + 2, conflict: conflict)
            wall.ms = Int64(t0) + 4_000
            XCTAssertEqual(try r.indexExpired(tree), 0, "not due before the expiry")
            wall.ms = Int64(t0) + 6_000
            XCTAssertTrue(try r.read(address)?.isAbsent(atMs: t0 + 6_000) ?? false)
            XCTAssertFalse(try r.reap(address, since: t0 + 5_000), "no clock yet: nothing to reap")
            XCTAssertEqual(try r.indexExpired(tree), 1, "due once the expiry has passed")
            XCTAssertEqual(try r.tombstones(tree).map(\.since), [t0 + 5_000], "timed from its expiry, by the sweep that found it expired")
            XCTAssertEqual(try r.indexExpired(tree), 0, "swept: not due again")
            XCTAssertFalse(try r.reap(address, since: t0 + 6_000), "a clock that is not the record's own reaps nothing")
            XCTAssertTrue(try r.reap(address, since: t0 + 5_000))
            XCTAssertNil(try r.read(address))
            XCTAssertEqual(try r.tombstones(tree).count, 0)
        }
    }

    func testWriteOverAnExpiredRecordDropsItsClock() throws {
        let wall = Wall(Int64(t0))
        let r = try replica(wall)
        _ = try write(r, .set(value: [1], condition: .always, reply: .ok, expiry: .at(t0 + 1_000)), now: t0)
        wall.ms = Int64(t0) + 2_000
        XCTAssertEqual(try r.indexExpired(tree), 1)
        XCTAssertEqual(try r.tombstones(tree).map(\.since), [t0 + 1_000])
        // A new expiring value replaces the expired one: the old clock goes, the new expiry waits.
        _ = try write(r, .set(value: [2], condition: .always, reply: .ok, expiry: .at(t0 + 5_000)), now: t0 + 2_000)
        XCTAssertEqual(try r.tombstones(tree).count, 0)
        XCTAssertEqual(try r.indexExpired(tree), 0)
        wall.ms = Int64(t0) + 5_000
        XCTAssertEqual(try r.indexExpired(tree), 1, "the new expiry made the tree due")
        XCTAssertEqual(try r.tombstones(tree).map(\.since), [t0 + 5_000])
    }

    func testReaperDropsAClockLeftOnALiveRecord() throws {
        // A wall clock that steps back can leave a clock beside a record that is not absent
        // (the write over it judged the old record not yet expired): the reaper deletes it.
        let wall = Wall(Int64(t0))
        let r = try replica(wall)
        _ = try write(r, .set(value: [1], condition: .always, reply: .ok, expiry: .at(t0 + 1_000)), now: t0)
        wall.ms = Int64(t0) + 2_000
        XCTAssertEqual(try r.indexExpired(tree), 1)
        wall.ms = Int64(t0) + 500  // stepped back: the old record looks unexpired
        _ = try write(r, .set(value: [2], condition: .always, reply: .ok, expiry: .clear), now: t0 + 500)
        XCTAssertEqual(try r.tombstones(tree).map(\.since), [t0 + 1_000], "left behind")
        wall.ms = Int64(t0) + 3_000
        XCTAssertFalse(try r.reap(address, since: t0 + 1_000))
        XCTAssertEqual(try r.tombstones(tree).count, 0)
        XCTAssertEqual(try r.read(address)?.isAbsent(atMs: t0 + 3_000), false, "the live value stays")
    }

    func testExpireInThePastWritesATombstone() throws {
        let wall = Wall(Int64(t0))
        let r = try replica(wall)
        _ = try write(r, .set(value: [1], condition: .always, reply: .ok, expiry: .clear), now: t0)
        let (result, reply) = try write(r, .expire(atMs: t0 - 1, conditions: []), now: t0)
        XCTAssertEqual(reply, .integer(1))
        guard case .written(let rec) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(rec.isAbsent, "a tombstone, reaped like any delete")
        XCTAssertEqual(try r.tombstones(tree).map(\.since), [t0])
    }
}
