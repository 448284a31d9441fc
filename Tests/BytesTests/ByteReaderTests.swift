import XCTest
import Bytes

/// ByteReader's bounds: nil (never a trap) wherever the bytes run out, at every offset.
final class ByteReaderTests: XCTestCase {
    /// One of every field, and the decoder that reads them back; nil if any read fails.
    private func sample() -> [UInt8] {
        var w = ByteWriter()
        w.u8(7); w.u16LE(0x1234); w.u16BE(0x5678); w.u32LE(0xdead_beef); w.u32BE(0x0bad_f00d)
        w.u64LE(.max - 5); w.u64BE(0x0102_0304_0506_0708); w.varint(UInt64(1) << 62); w.varint(3)
        w.lengthPrefixed([1, 2, 3] as [UInt8])
        w.append([0xaa, 0xbb] as [UInt8])
        return w.bytes
    }

    private func decode(_ bytes: ArraySlice<UInt8>) -> Bool {
        var r = ByteReader(bytes)
        guard r.u8() == 7, r.u16LE() == 0x1234, r.u16BE() == 0x5678, r.u32LE() == 0xdead_beef,
              r.u32BE() == 0x0bad_f00d, r.u64LE() == .max - 5, r.u64BE() == 0x0102_0304_0506_0708,
              r.varint() == UInt64(1) << 62, r.varintInt(limit: 3) == 3, r.lengthPrefixed() == [1, 2, 3],
              r.take(2) == [0xaa, 0xbb], r.isAtEnd else { return false }
        return true
    }

    func testTruncationAtEveryOffsetIsNilNotATrap() {
        let bytes = sample()
        XCTAssertTrue(decode(bytes[...]))
        for cut in 0..<bytes.count {
            XCTAssertFalse(decode(bytes[0..<cut]), "cut at \(cut)")
        }
    }

    func testEveryReadAtTheEndIsNil() {
        var r = ByteReader([])
        XCTAssertNil(r.u8()); XCTAssertNil(r.peek())
        XCTAssertNil(r.u16LE()); XCTAssertNil(r.u16BE()); XCTAssertNil(r.u32LE()); XCTAssertNil(r.u32BE())
        XCTAssertNil(r.u64LE()); XCTAssertNil(r.u64BE()); XCTAssertNil(r.varint()); XCTAssertNil(r.varintInt(limit: 10))
        XCTAssertNil(r.lengthPrefixed()); XCTAssertNil(r.take(1))
        XCTAssertFalse(r.skip(1))
        XCTAssertEqual(r.take(0), [])
        XCTAssertEqual(r.rest(), [])
        XCTAssertTrue(r.isAtEnd)
    }

    func testShortFixedReadConsumesNothing() {
        var r = ByteReader([1, 2, 3])
        XCTAssertNil(r.u32LE())
        XCTAssertNil(r.u64BE())
        XCTAssertEqual(r.offset, 0)
        XCTAssertEqual(r.u16BE(), 0x0102)
        XCTAssertEqual(r.remaining, 1)
    }

    func testNegativeCountsAreRefused() {
        var r = ByteReader([1, 2, 3])
        XCTAssertNil(r.take(-1))
        XCTAssertFalse(r.skip(-1))
        XCTAssertEqual(r.offset, 0)
    }

    func testHostileLengthPrefixCannotReachPastTheInput() {
        var w = ByteWriter()
        w.varint(UInt64.max / 2)
        w.append([1, 2, 3] as [UInt8])
        var r = ByteReader(w.bytes)
        XCTAssertNil(r.lengthPrefixed())
        var short = ByteReader([0x04, 1, 2, 3])
        XCTAssertNil(short.lengthPrefixed(), "four announced, three there")
    }

    func testSliceOffsetsCountFromTheSliceStart() {
        let whole: [UInt8] = [0xff, 0xff, 0x00, 0x2a, 0x09]
        var r = ByteReader(whole[2...])
        XCTAssertEqual(r.offset, 0)
        XCTAssertEqual(r.position, 2)
        XCTAssertEqual(r.peek(), 0x00)
        XCTAssertEqual(r.u16BE(), 0x2a)
        XCTAssertEqual(r.offset, 2)
        XCTAssertEqual(r.rest(), [0x09])
        XCTAssertTrue(r.isAtEnd)
    }

    func testUnsafeReadsRefuseOutOfRangeOffsets() {
        ([1, 2, 3, 4, 5, 6, 7, 8] as [UInt8]).withUnsafeBytes { buf in
            for at in [-1, Int.min, 5, 8, Int.max] {
                XCTAssertNil(UnsafeByteReader.u32LE(buf, at: at), "u32 at \(at)")
                XCTAssertNil(UnsafeByteReader.u64BE(buf, at: at), "u64 at \(at)")
            }
            for at in [-1, Int.min, 8, Int.max] {
                var o = at
                XCTAssertNil(UnsafeByteReader.varint(buf, at: &o), "varint at \(at)")
                XCTAssertNil(UnsafeByteReader.lengthPrefixed(buf, at: &o), "length-prefixed at \(at)")
                XCTAssertEqual(o, at)
            }
            XCTAssertEqual(UnsafeByteReader.u32BE(buf, at: 4), 0x0506_0708)
            XCTAssertEqual(UnsafeByteReader.u16LE(buf, at: 6), 0x0807)
        }
    }

    /// Random bytes read by random calls: nothing traps and the cursor stays in bounds.
    func testSeededFuzzOfRandomBytesNeverTraps() {
        let seed: UInt64 = 0xF022_B17E
        var rng = SplitMix64(seed: seed)
        for iteration in 0..<5_000 {
            let count = Int(rng.next() % 40)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Bias some inputs towards long varints and prefixes.
            if rng.next() % 4 == 0 { bytes = Array(repeating: 0xff, count: Int(rng.next() % 12)) + bytes }
            let start = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
            var r = ByteReader(bytes[start...])
            for _ in 0..<20 {
                switch rng.next() % 14 {
                case 0: _ = r.u8()
                case 1: _ = r.u16LE()
                case 2: _ = r.u16BE()
                case 3: _ = r.u32LE()
                case 4: _ = r.u32BE()
                case 5: _ = r.u64LE()
                case 6: _ = r.u64BE()
                case 7: _ = r.varint()
                case 8: _ = r.varintInt(limit: Int(rng.next() % 1000))
                case 9: _ = r.lengthPrefixed()
                case 10: _ = r.take(Int(rng.next() % 12) - 2)
                case 11: _ = r.skip(Int(rng.next() % 12) - 2)
                case 12: _ = r.peek()
                default:
                    bytes.withUnsafeBytes { buf in
                        var at = Int(rng.next() % 48) - 4
                        _ = UnsafeByteReader.varint(buf, at: &at)
                        _ = UnsafeByteReader.lengthPrefixed(buf, at: &at)
                        _ = UnsafeByteReader.u64LE(buf, at: at)
                    }
                }
                XCTAssertGreaterThanOrEqual(r.remaining, 0, "iteration \(iteration) (seed \(seed))")
                XCTAssertLessThanOrEqual(r.offset, bytes.count - start, "iteration \(iteration) (seed \(seed))")
            }
        }
    }
}
