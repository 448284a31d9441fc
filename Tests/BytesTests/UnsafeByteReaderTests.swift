import XCTest
import Bytes

final class UnsafeByteReaderTests: XCTestCase {
    private func encoded(_ v: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.appendVarint(v)
        return out
    }

    private func decode(_ bytes: [UInt8]) -> (value: UInt64, next: Int)? {
        bytes.withUnsafeBytes { buf in
            var p = 0
            guard let v = UnsafeByteReader.varint(buf, at: &p) else { return nil }
            return (v, p)
        }
    }

    func testVarintZeroIsOneByte() {
        XCTAssertEqual(encoded(0), [0x00])
        XCTAssertEqual(decode([0x00])?.value, 0)
    }

    func testVarint127IsLastOneByteValue() {
        XCTAssertEqual(encoded(127), [0x7f])
        XCTAssertEqual(decode([0x7f])?.value, 127)
    }

    func testVarint128TakesTwoBytes() {
        XCTAssertEqual(encoded(128), [0x80, 0x01])
        XCTAssertEqual(decode([0x80, 0x01])?.value, 128)
        XCTAssertEqual(decode([0x80, 0x01])?.next, 2)
    }

    func testVarintUInt64MaxTakesTenBytes() {
        let bytes = encoded(.max)
        XCTAssertEqual(bytes.count, 10)
        XCTAssertEqual(bytes.last, 0x01)
        XCTAssertEqual(decode(bytes)?.value, .max)
        XCTAssertEqual(decode(bytes)?.next, 10)
    }

    func testVarintRoundTripsAroundEverySevenBitBoundary() {
        for shift in 0..<64 {
            let base = UInt64(1) << UInt64(shift)
            for v in [base &- 1, base, base &+ 1] {
                XCTAssertEqual(decode(encoded(v))?.value, v, "value \(v)")
            }
        }
    }

    func testTruncatedVarintIsNil() {
        XCTAssertNil(decode([]))
        XCTAssertNil(decode([0x80]))
        XCTAssertNil(decode([0xff, 0xff]))
        XCTAssertNil(decode(Array(encoded(.max).dropLast())))
    }

    func testOverlongVarintIsNil() {
        // Eleven bytes: ten continuation bytes and a terminator.
        XCTAssertNil(decode([UInt8](repeating: 0x80, count: 10) + [0x00]))
        XCTAssertNil(decode([UInt8](repeating: 0xff, count: 11)))
    }

    func testFailedDecodeDoesNotAdvanceOffset() {
        ([0x05, 0x80] as [UInt8]).withUnsafeBytes { buf in
            var p = 1
            XCTAssertNil(UnsafeByteReader.varint(buf, at: &p))
            XCTAssertEqual(p, 1)
        }
    }

    func testVarintIntRejectsValuesAboveLimit() {
        encoded(1 << 40).withUnsafeBytes { buf in
            var p = 0
            XCTAssertNil(UnsafeByteReader.varintInt(buf, at: &p))
        }
        encoded(300).withUnsafeBytes { buf in
            var p = 0
            XCTAssertNil(UnsafeByteReader.varintInt(buf, at: &p, limit: 299))
            p = 0
            XCTAssertEqual(UnsafeByteReader.varintInt(buf, at: &p, limit: 300), 300)
        }
    }

    func testFixedWidthIsLittleEndianAndShortBufferIsNil() {
        var out = [UInt8]()
        out.appendU32LE(0x0403_0201)
        out.appendU64LE(0x0c0b_0a09_0807_0605)
        XCTAssertEqual(out, Array(1...12))
        out.withUnsafeBytes { buf in
            XCTAssertEqual(UnsafeByteReader.u32LE(buf, at: 0), 0x0403_0201)
            XCTAssertEqual(UnsafeByteReader.u64LE(buf, at: 4), 0x0c0b_0a09_0807_0605)
            XCTAssertNil(UnsafeByteReader.u32LE(buf, at: 9))
            XCTAssertNil(UnsafeByteReader.u64LE(buf, at: 5))
            XCTAssertNil(UnsafeByteReader.u32LE(buf, at: -1))
        }
    }

    func testLengthPrefixedPastEndIsNil() {
        var out = [UInt8]()
        out.appendLengthPrefixed([1, 2, 3] as [UInt8])
        out.withUnsafeBytes { buf in
            var p = 0
            XCTAssertEqual(UnsafeByteReader.lengthPrefixed(buf, at: &p), [1, 2, 3])
            XCTAssertEqual(p, 4)
        }
        out.dropLast().withUnsafeBytes { buf in
            var p = 0
            XCTAssertNil(UnsafeByteReader.lengthPrefixed(buf, at: &p))
            XCTAssertEqual(p, 0)
        }
    }

    func testStoreFixed32OverwritesInPlace() {
        var out = [UInt8](repeating: 0xee, count: 6)
        out.storeU32LE(0xdead_beef, at: 1)
        XCTAssertEqual(out, [0xee, 0xef, 0xbe, 0xad, 0xde, 0xee])
    }
}
