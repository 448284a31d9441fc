import XCTest
import Bytes

/// Every width and byte order: the exact bytes written, and that both readers read them back.
final class ByteWriterTests: XCTestCase {
    func testFixedWidthBytesAreInTheNamedOrder() {
        var w = ByteWriter()
        w.u8(0x01)
        w.u16LE(0x0302); w.u16BE(0x0405)
        w.u32LE(0x0908_0706); w.u32BE(0x0a0b_0c0d)
        w.u64LE(0x1514_1312_1110_0f0e); w.u64BE(0x1617_1819_1a1b_1c1d)
        XCTAssertEqual(w.bytes, Array(1...0x1d))
        XCTAssertEqual(w.count, 0x1d)
    }

    func testArrayAppendsWriteTheSameBytesAsTheWriter() {
        var w = ByteWriter()
        var a: [UInt8] = []
        for v in [UInt64(0), 1, 0x7f, 0x80, 0xdead_beef, .max] {
            w.u16LE(UInt16(truncatingIfNeeded: v)); a.appendU16LE(UInt16(truncatingIfNeeded: v))
            w.u16BE(UInt16(truncatingIfNeeded: v)); a.appendU16BE(UInt16(truncatingIfNeeded: v))
            w.u32LE(UInt32(truncatingIfNeeded: v)); a.appendU32LE(UInt32(truncatingIfNeeded: v))
            w.u32BE(UInt32(truncatingIfNeeded: v)); a.appendU32BE(UInt32(truncatingIfNeeded: v))
            w.u64LE(v); a.appendU64LE(v)
            w.u64BE(v); a.appendU64BE(v)
            w.varint(v); a.appendVarint(v)
            w.lengthPrefixed([UInt8(truncatingIfNeeded: v)]); a.appendLengthPrefixed([UInt8(truncatingIfNeeded: v)])
        }
        XCTAssertEqual(w.bytes, a)
    }

    func testEveryWidthRoundTripsThroughBothReaders() {
        var rng = SplitMix64(seed: 0xB17E5)
        let values: [UInt64] = [0, 1, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, .max, .max - 1]
            + (0..<200).map { _ in rng.next() }
        for v in values {
            let v16 = UInt16(truncatingIfNeeded: v), v32 = UInt32(truncatingIfNeeded: v)
            var w = ByteWriter(capacity: 64)
            w.u16LE(v16); w.u16BE(v16); w.u32LE(v32); w.u32BE(v32); w.u64LE(v); w.u64BE(v); w.varint(v)
            var r = ByteReader(w.bytes)
            XCTAssertEqual(r.u16LE(), v16); XCTAssertEqual(r.u16BE(), v16)
            XCTAssertEqual(r.u32LE(), v32); XCTAssertEqual(r.u32BE(), v32)
            XCTAssertEqual(r.u64LE(), v); XCTAssertEqual(r.u64BE(), v)
            XCTAssertEqual(r.varint(), v)
            XCTAssertTrue(r.isAtEnd)
            w.bytes.withUnsafeBytes { buf in
                XCTAssertEqual(UnsafeByteReader.u16LE(buf, at: 0), v16)
                XCTAssertEqual(UnsafeByteReader.u16BE(buf, at: 2), v16)
                XCTAssertEqual(UnsafeByteReader.u32LE(buf, at: 4), v32)
                XCTAssertEqual(UnsafeByteReader.u32BE(buf, at: 8), v32)
                XCTAssertEqual(UnsafeByteReader.u64LE(buf, at: 12), v)
                XCTAssertEqual(UnsafeByteReader.u64BE(buf, at: 20), v)
                var at = 28
                XCTAssertEqual(UnsafeByteReader.varint(buf, at: &at), v)
                XCTAssertEqual(at, buf.count)
                at = 28
                XCTAssertEqual(UnsafeByteReader.canonicalVarint(buf, at: &at), v)
            }
        }
    }

    func testLengthPrefixedRoundTripsIncludingEmpty() {
        for n in [0, 1, 127, 128, 300] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var w = ByteWriter()
            w.lengthPrefixed(payload)
            w.u8(0xee)
            var r = ByteReader(w.bytes)
            XCTAssertEqual(r.lengthPrefixed(), payload)
            XCTAssertEqual(r.u8(), 0xee)
            XCTAssertTrue(r.isAtEnd)
        }
    }

    func testWriterContinuesAfterExistingBytes() {
        var w = ByteWriter(appendingTo: [9, 9])
        w.reserveCapacity(16)
        w.append([1, 2] as [UInt8])
        w.u8(3)
        XCTAssertEqual(w.bytes, [9, 9, 1, 2, 3])
    }
}

/// A small deterministic generator, so every fuzz failure replays from its seed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
