import XCTest
import Bytes

/// The varint rules every format depends on: minimal LEB128 out, and on the way in the
/// canonical rule (ByteReader, Ring and Peer formats) or LevelDB's (Storage's files).
final class VarintTests: XCTestCase {
    private func encoded(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.appendVarint(v)
        return out
    }

    private func canonical(_ bytes: [UInt8]) -> UInt64? {
        var r = ByteReader(bytes)
        return r.varint()
    }

    private func leveldb(_ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBytes { buf in
            var at = 0
            return UnsafeByteReader.varint(buf, at: &at)
        }
    }

    func testEncodingIsMinimalAtEverySevenBitBoundary() {
        XCTAssertEqual(encoded(0), [0x00])
        XCTAssertEqual(encoded(0x7f), [0x7f])
        XCTAssertEqual(encoded(0x80), [0x80, 0x01])
        XCTAssertEqual(encoded(300), [0xac, 0x02])
        XCTAssertEqual(encoded(.max), Array(repeating: 0xff, count: 9) + [0x01])
        for groups in 1...10 {
            let smallest: UInt64 = groups == 1 ? 0 : 1 << UInt64(7 * (groups - 1))
            XCTAssertEqual(encoded(smallest).count, groups, "smallest \(groups)-byte value")
            if groups < 10 { XCTAssertEqual(encoded((1 << UInt64(7 * groups)) - 1).count, groups) }
            XCTAssertEqual(canonical(encoded(smallest)), smallest)
        }
    }

    func testOverlongSpellingIsRejectedByTheCanonicalReaderOnly() {
        for bytes: [UInt8] in [[0x80, 0x00], [0xff, 0x00], [0x81, 0x80, 0x00], Array(repeating: 0x80, count: 9) + [0x00]] {
            XCTAssertNil(canonical(bytes), "\(bytes)")
            bytes.withUnsafeBytes { buf in
                var at = 0
                XCTAssertNil(UnsafeByteReader.canonicalVarint(buf, at: &at), "\(bytes)")
                XCTAssertEqual(at, 0, "a failed read leaves the offset")
            }
            XCTAssertNotNil(leveldb(bytes), "Storage has always accepted \(bytes)")
        }
        XCTAssertEqual(leveldb([0x80, 0x00]), 0)
        XCTAssertEqual(leveldb([0xff, 0x00]), 0x7f)
    }

    func testTenthByteAboveOneOverflowsUnderBothRules() {
        let top = Array(repeating: UInt8(0xff), count: 9)
        XCTAssertEqual(canonical(top + [0x01]), .max)
        XCTAssertEqual(leveldb(top + [0x01]), .max)
        for last: UInt8 in [0x02, 0x7f, 0x81, 0xff] {
            XCTAssertNil(canonical(top + [last]), "tenth byte \(last)")
            XCTAssertNil(leveldb(top + [last]), "tenth byte \(last)")
        }
        // Eleven bytes never decode, whatever follows.
        XCTAssertNil(canonical(Array(repeating: 0x80, count: 10) + [0x00]))
        XCTAssertNil(leveldb(Array(repeating: 0x80, count: 10) + [0x00]))
        XCTAssertNil(leveldb(Array(repeating: 0xff, count: 11)))
    }

    func testTruncatedVarintIsNil() {
        for bytes: [UInt8] in [[], [0x80], [0xff, 0xff], Array(encoded(.max).dropLast())] {
            XCTAssertNil(canonical(bytes))
            XCTAssertNil(leveldb(bytes))
        }
    }

    func testFailedVarintConsumesWhatItLookedAt() {
        // Decoders report error offsets from here (Peer's and Ring's tests pin them).
        var r = ByteReader([0x05, 0x81, 0x00, 0x07])
        XCTAssertEqual(r.u8(), 5)
        XCTAssertNil(r.varint())
        XCTAssertEqual(r.offset, 3, "just past the overlong zero")
        var t = ByteReader([0x80, 0x80])
        XCTAssertNil(t.varint())
        XCTAssertEqual(t.offset, 2, "at the end when truncated")
        var big = ByteReader(encoded(1000) + [0x01])
        XCTAssertNil(big.varintInt(limit: 999))
        XCTAssertEqual(big.offset, 2, "an out-of-range value is consumed")
        XCTAssertEqual(big.u8(), 1)
    }

    func testVarintIntLimitIsInclusive() {
        var r = ByteReader(encoded(300) + encoded(300))
        XCTAssertEqual(r.varintInt(limit: 300), 300)
        XCTAssertNil(r.varintInt(limit: 299))
        encoded(1 << 40).withUnsafeBytes { buf in
            var at = 0
            XCTAssertNil(UnsafeByteReader.varintInt(buf, at: &at), "above Int32.max by default")
        }
    }
}
