import XCTest
import Storage
@testable import Peer

final class KeyRecordTests: XCTestCase {
    let n1: NodeID = "n1", n2: NodeID = "n2"

    func exampleState() throws -> KeyState {
        try KeyState(context: VersionVector([n1: 5, n2: 3]), siblings: [
            Sibling(dot: Dot(actor: n2, counter: 3), value: .tombstone),
            Sibling(dot: Dot(actor: n1, counter: 5), value: .value(Array("hi".utf8))),
        ])
    }

    static let exampleBody: [UInt8] = [
        0x73,                          // kind 's'
        0x02,                          // 2 vector entries
        0x02, 0x6e, 0x31, 0x05,        // "n1" -> 5
        0x02, 0x6e, 0x32, 0x03,        // "n2" -> 3
        0x02,                          // 2 siblings
        0x00, 0x05, 0x00, 0x02, 0x68, 0x69,  // entry #0 (n1), counter 5, value "hi"
        0x01, 0x03, 0x01,              // entry #1 (n2), counter 3, tombstone
    ]

    func testSiblingsRecordWorkedExampleFromRecordsMd() throws {
        let bytes = KeyRecord.siblings(try exampleState()).encode()
        XCTAssertEqual(bytes[0], 0x01)
        XCTAssertEqual(Array(bytes[5...]), Self.exampleBody)
        let crc = CRC32C.mask(CRC32C.checksum(Self.exampleBody))
        XCTAssertEqual(Array(bytes[1..<5]), [UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)])
        XCTAssertEqual(bytes, [0x01, 0xb4, 0xef, 0x3a, 0xb9] + Self.exampleBody, "the bytes RECORDS.md shows")
        XCTAssertEqual(try KeyRecord(decoding: bytes), .siblings(try exampleState()))
    }

    func testLWWRecordWorkedExampleFromRecordsMd() throws {
        let l = LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1_700_000_000_000, logical: 2, node: n1), value: .value(Array("hi".utf8)))
        let bytes = KeyRecord.lww(l).encode()
        let body: [UInt8] = [0x6c, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x02, 0x02, 0x6e, 0x31, 0x00, 0x02, 0x68, 0x69]
        XCTAssertEqual(Array(bytes[5...]), body)
        XCTAssertEqual(bytes, [0x01, 0xdb, 0xdd, 0x70, 0x93] + body, "the bytes RECORDS.md shows")
        XCTAssertEqual(try KeyRecord(decoding: bytes), .lww(l))
        let tomb = LWWKeyState(timestamp: l.timestamp, value: .tombstone)
        XCTAssertEqual(try KeyRecord(decoding: KeyRecord.lww(tomb).encode()), .lww(tomb))
    }

    func testDecodesFromASliceInsideALargerBuffer() throws {
        let record = KeyRecord.siblings(try exampleState())
        let buffer: [UInt8] = [0xaa, 0xbb, 0xcc] + record.encode() + [0xdd]
        XCTAssertEqual(try KeyRecord(decoding: buffer[3..<(buffer.count - 1)]), record)
        XCTAssertThrowsError(try KeyRecord(decoding: buffer[3...])) { XCTAssertEqual($0 as? KeyRecordError, .checksumMismatch) }
        let ctx = VersionVector([n1: 5]).encodeContext()
        let wrapped: [UInt8] = [0x01] + ctx + [0x02]
        XCTAssertEqual(try VersionVector(decodingContext: wrapped[1..<(wrapped.count - 1)]), VersionVector([n1: 5]))
        let key = StorageKey.dataKey(partition: 7, namespace: [0x61], key: [0x62])
        let kb: [UInt8] = [0x00] + key
        XCTAssertEqual(try StorageKey(decoding: kb[1...]), .data(partition: 7, namespace: [0x61], key: [0x62]))
    }

    func testEmptyStateRoundTrips() throws {
        let bytes = KeyRecord.siblings(KeyState()).encode()
        XCTAssertEqual(Array(bytes[5...]), [0x73, 0x00, 0x00])
        XCTAssertEqual(try KeyRecord(decoding: bytes), .siblings(KeyState()))
    }

    func testRandomStatesRoundTripAndReencodeIdentically() throws {
        var rng = SeededRandom(seed: 4242)
        for _ in 0..<300 {
            for state in Self.randomStates(&rng) {
                let bytes = KeyRecord.siblings(state).encode()
                let back = try KeyRecord(decoding: bytes)
                XCTAssertEqual(back, .siblings(state))
                XCTAssertEqual(back.encode(), bytes)
                XCTAssertEqual(back.digest, state.digest)
            }
        }
    }

    func testCorruptionsGiveTypedErrors() throws {
        let good = KeyRecord.siblings(try exampleState()).encode()
        // Offsets count from the start of the record (the 5-byte header included).
        func expect(_ bytes: [UInt8], _ error: KeyRecordError, _ name: String, line: UInt = #line) {
            XCTAssertThrowsError(try KeyRecord(decoding: bytes), name, line: line) {
                XCTAssertEqual($0 as? KeyRecordError, error, name, line: line)
            }
        }
        /// The body with a correct checksum, to reach the structural checks.
        func sealed(_ body: [UInt8]) -> [UInt8] {
            let crc = CRC32C.mask(CRC32C.checksum(body))
            return [0x01, UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)] + body
        }
        expect([], .empty, "empty")
        expect([0x02] + good.dropFirst(), .unknownVersion(2), "version")
        expect(Array(good.prefix(3)), .truncated(offset: 1), "short header")
        expect(Array(good.prefix(5)), .truncated(offset: 5), "header only")
        var flipped = good; flipped[12] ^= 0x10
        expect(flipped, .checksumMismatch, "bit flip")
        expect(Array(good.dropLast()), .checksumMismatch, "truncated body")
        expect(sealed([0x7a]), .unknownKind(0x7a), "kind")
        expect(sealed(Self.exampleBody + [0x00]), .trailingBytes(offset: 25), "trailing")
        var badIndex = Self.exampleBody; badIndex[17] = 0x02
        expect(sealed(badIndex), .badActorIndex(offset: 22), "actor index")
        var badTag = Self.exampleBody; badTag[13] = 0x07
        expect(sealed(badTag), .badPayloadTag(offset: 18), "payload tag")
        var uncovered = Self.exampleBody; uncovered[12] = 0x06
        expect(sealed(uncovered), .invalidState(.siblingNotCovered(Dot(actor: n1, counter: 6))), "uncovered dot")
        var unsorted = Self.exampleBody; unsorted.replaceSubrange(11..<20, with: [0x01, 0x03, 0x01, 0x00, 0x05, 0x00, 0x02, 0x68, 0x69])
        expect(sealed(unsorted), .invalidState(.siblingsNotSorted(Dot(actor: n1, counter: 5))), "unsorted siblings")
        var unsortedVector = Self.exampleBody; unsortedVector[7] = 0x30
        expect(sealed(unsortedVector), .badVector(.notSorted(offset: 11)), "unsorted vector")
        var longValue = Self.exampleBody; longValue[14] = 0x40
        expect(sealed(longValue), .truncated(offset: 20), "value longer than the record")
        expect(sealed([0x73, 0x00, 0xff, 0xff, 0x03]), .truncated(offset: 7), "huge sibling count")
        expect(sealed([0x6c, 0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x02, 0x6e, 0x31, 0x01]), .valueOutOfRange(offset: 6), "logical > UInt32")
    }

    func testAbsorbingReportsWhetherTheStoredRecordChanges() throws {
        let stored = KeyRecord.siblings(try exampleState())
        XCTAssertNil(try stored.absorbing(stored))
        XCTAssertNil(try stored.absorbing(.siblings(KeyState())), "an empty state adds nothing")
        var newer = try exampleState()
        _ = newer.write(at: n2, context: nil, value: .value([9])) { 10 }
        XCTAssertEqual(try stored.absorbing(.siblings(newer)), .siblings(newer))
        XCTAssertNil(try KeyRecord.siblings(newer).absorbing(stored), "a stale replica's state adds nothing")
    }

    func testMergeOfDifferentKindsIsRefused() throws {
        let l = KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1, logical: 0, node: n1), value: .tombstone))
        XCTAssertThrowsError(try KeyRecord.siblings(KeyState()).merged(with: l)) {
            XCTAssertEqual($0 as? KeyRecordError, .kindMismatch)
        }
    }

    func testXXH64MatchesReferenceVectors() {
        XCTAssertEqual(XXH64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCE_A83C_8A37_8BF1)
        XCTAssertEqual(XXH64.hash((0..<100).map { UInt8($0) }), 0x6AC1_E580_3216_6597)
    }

    func testDigestIsStableAndTellsStatesApart() throws {
        let s = try exampleState()
        XCTAssertEqual(s.digest, XXH64.hash(Self.exampleBody))
        XCTAssertEqual(s.digest, 0x1484_67A9_4172_C359, "pinned: the digest must not change across runs or releases")
        var t = s
        _ = t.write(at: n1, context: nil, value: .value([1])) { 6 }
        XCTAssertNotEqual(t.digest, s.digest)
        XCTAssertNotEqual(KeyState().digest, s.digest)
        // The write path takes digests from the encoded record, without re-encoding it.
        for state in [s, t] {
            XCTAssertEqual(KeyRecord.digest(encoded: KeyRecord.siblings(state).encode()), state.digest)
        }
    }

    /// Random states of one key's history (merged replicas).
    static func randomStates(_ rng: inout SeededRandom) -> [KeyState] {
        let ids: [NodeID] = ["alpha", "b", "node-3:7946", "\u{E9}t\u{E9}"]
        var replicas = Array(repeating: KeyState(), count: 3)
        var counter: UInt64 = 0
        var out: [KeyState] = []
        for step in 0..<rng.int(1..<20) {
            let r = rng.int(0..<3)
            if rng.chance(60) {
                counter += UInt64(rng.int(1..<100_000))
                let value: SiblingValue = rng.chance(25) ? .tombstone
                    : .value((0..<rng.int(0..<40)).map { _ in UInt8(truncatingIfNeeded: step &* 31 &+ r) })
                let ctx: VersionVector? = rng.chance(50) ? nil : (rng.chance(50) ? VersionVector() : replicas[rng.int(0..<3)].context)
                let c = counter
                _ = replicas[r].write(at: ids[r + (rng.chance(10) ? 1 : 0)], context: ctx, value: value, siblingLimit: .max) { c }
            } else {
                replicas[r].merge(replicas[rng.int(0..<3)])
            }
            out.append(replicas[r])
        }
        return out
    }
}
