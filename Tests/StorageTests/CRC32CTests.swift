import XCTest
@testable import Storage

final class CRC32CTests: XCTestCase {
    // RFC 3720 (iSCSI), appendix B.4.
    func testRFC3720ThirtyTwoZeroBytes() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8a91_36aa)
    }

    func testRFC3720ThirtyTwoOnesBytes() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)), 0x62a8_ab43)
    }

    func testRFC3720AscendingBytes() {
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46dd_794e)
    }

    func testRFC3720DescendingBytes() {
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113f_db5c)
    }

    func testCheckValueOfDigitString() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xe306_9283)
    }

    func testEmptyInputIsZero() {
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    /// Extending in pieces (every split point, pieces shorter and longer than the 8-byte
    /// stride) gives the CRC of the whole.
    func testExtendInPiecesEqualsWhole() {
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.checksum(data)
        data.withUnsafeBytes { buf in
            for split in 0...data.count {
                let a = CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: buf[0..<split]))
                let b = CRC32C.extend(a, UnsafeRawBufferPointer(rebasing: buf[split...]))
                XCTAssertEqual(b, whole, "split at \(split)")
            }
        }
    }

    func testSliceChecksumEqualsArrayChecksum() {
        let data = (0..<40).map { UInt8($0) }
        XCTAssertEqual(CRC32C.checksum(data[5..<30]), CRC32C.checksum(Array(data[5..<30])))
    }

    func testMaskUnmaskRoundTripAndMaskChangesValue() {
        for crc: UInt32 in [0, 1, 0x8a91_36aa, 0xffff_ffff, 0xe306_9283, 0x1234_5678] {
            XCTAssertNotEqual(CRC32C.mask(crc), crc)
            XCTAssertEqual(CRC32C.unmask(CRC32C.mask(crc)), crc)
            XCTAssertNotEqual(CRC32C.mask(CRC32C.mask(crc)), CRC32C.mask(crc))
        }
    }
}

final class CRC32CPortableTests: XCTestCase {
    /// The table code must match the RFC 3720 vectors on its own, whatever the CPU offers,
    /// and agree with the path `extend` takes on random inputs of every length up to 300.
    func testPortableTableCodeMatchesVectorsAndDispatchedPath() {
        func portable(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { CRC32C.extendPortable(0, $0) } }
        XCTAssertEqual(portable([UInt8](repeating: 0, count: 32)), 0x8a91_36aa)
        XCTAssertEqual(portable([UInt8](repeating: 0xff, count: 32)), 0x62a8_ab43)
        XCTAssertEqual(portable((0..<32).map { UInt8($0) }), 0x46dd_794e)
        XCTAssertEqual(portable((0..<32).map { UInt8(31 - $0) }), 0x113f_db5c)
        XCTAssertEqual(portable(Array("123456789".utf8)), 0xe306_9283)
        var rng = SeededRandom(seed: 42)
        for n in 0...300 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(portable(bytes), CRC32C.checksum(bytes), "length \(n), hardware \(CRC32C.usesHardware)")
        }
    }
}
