import XCTest
@testable import Peer

final class ScanCursorTests: XCTestCase {
    func testStartIsZeroBothWays() {
        XCTAssertEqual(ScanCursor.start.rawValue, 0)
        XCTAssertEqual(ScanCursor(rawValue: 0, partitionCount: 256), .start)
        XCTAssertEqual(ScanCursor(text: Array("0".utf8), partitionCount: 256), .start)
    }

    func testRoundTripKeepsPartitionPositionAndLowRingVersionBits() {
        var rng = SeededRandom(seed: 0xC0_25_02)
        for q in [1, 2, 64, 256, 65_536] {
            for _ in 0..<500 {
                let c = ScanCursor(partition: rng.below(q), ringVersion: UInt8(truncatingIfNeeded: rng.next()),
                                   position: rng.next() & ScanCursor.maxPosition)
                if c == .start { continue }
                let text = Array(String(c.rawValue).utf8)
                XCTAssertEqual(ScanCursor(text: text, partitionCount: q), c, "Q \(q) cursor \(c)")
                XCTAssertLessThanOrEqual(c.ringVersion, 0x7F)
            }
        }
    }

    func testEdgeValues() {
        // The last partition of the largest ring (field 2^16: only bit 63 of the field), highest
        // position and version.
        let top = ScanCursor(partition: 65_535, ringVersion: 0xFF, position: ScanCursor.maxPosition)
        XCTAssertEqual(top.rawValue, (1 << 63) | (0x7F << 40) | ScanCursor.maxPosition)
        XCTAssertEqual(ScanCursor(text: Array(String(top.rawValue).utf8), partitionCount: 65_536), top)
        // UInt64.max parses as a number but its partition field (2^17 - 1) is past any ring.
        XCTAssertNil(ScanCursor(text: Array("18446744073709551615".utf8), partitionCount: 65_536))
        // Partition 0 at position 0 under a non-zero ring version is not the start cursor.
        let first = ScanCursor(partition: 0, ringVersion: 3, position: 0)
        XCTAssertEqual(first.rawValue, (1 << 47) | (3 << 40))
        XCTAssertEqual(ScanCursor(rawValue: first.rawValue, partitionCount: 1), first)
        // Ring versions wrap into 7 bits.
        XCTAssertEqual(ScanCursor(partition: 1, ringVersion: 0x85, position: 9).ringVersion, 5)
    }

    func testInvalidTextIsRefused() {
        for bad in ["", "-1", "+1", "1a", " 1", "1.0", "18446744073709551616", "99999999999999999999999", "0x10"] {
            XCTAssertNil(ScanCursor(text: Array(bad.utf8), partitionCount: 256), bad)
        }
    }

    func testPartitionFieldOutsideTheRingIsRefused() {
        // Field 0 with other bits set, and a partition at or past Q.
        XCTAssertNil(ScanCursor(rawValue: 5, partitionCount: 256))
        XCTAssertNil(ScanCursor(rawValue: UInt64(257) << 47, partitionCount: 256))
        XCTAssertNotNil(ScanCursor(rawValue: UInt64(256) << 47, partitionCount: 256))
    }

    func testPrefixIsMonotoneAndStartKeyIsTheSmallestKeyAtOrPastIt() {
        var rng = SeededRandom(seed: 0x9F3)
        let alphabet: [UInt8] = [0, 1, 0x61, 0x62, 0xFF]
        func key() -> [UInt8] { (0..<rng.int(1...7)).map { _ in alphabet[rng.below(alphabet.count)] } }
        for _ in 0..<5_000 {
            let a = key(), b = key()
            let pa = ScanCursor.prefix5(a), pb = ScanCursor.prefix5(b)
            if a.lexicographicallyPrecedes(b) { XCTAssertLessThanOrEqual(pa, pb, "\(a) \(b)") }
            // For every key k: prefix5(k) >= p  <=>  k >= startKey(p).
            let start = ScanCursor.startKey(pb)
            XCTAssertEqual(pa >= pb, !a.lexicographicallyPrecedes(start), "key \(a) position of \(b) start \(start)")
        }
        XCTAssertEqual(ScanCursor.prefix5([0x61]), 0x61_00_00_00_00)
        XCTAssertEqual(ScanCursor.prefix5([1, 2, 3, 4, 5, 6]), 0x01_02_03_04_05)
        XCTAssertEqual(ScanCursor.startKey(0x61_00_00_00_00), [0x61])
        XCTAssertEqual(ScanCursor.startKey(0x00_00_01_00_00), [0, 0, 1])
        XCTAssertEqual(ScanCursor.startKey(0), [])
    }
}

/// The worked examples of PROTOCOL.md's SCAN section, byte for byte.
final class ScanProtocolExampleTests: XCTestCase {
    func testWorkedExamplesFromPROTOCOLmdAreExact() throws {
        let position = ScanCursor.prefix5(Array("user:1".utf8))
        XCTAssertEqual(position, 0x75_73_65_72_3a)
        XCTAssertEqual(String(ScanCursor(partition: 7, ringVersion: 130, position: position).rawValue), "1128603377300026")
        let request = ScanChunkRequest(namespace: Array("default".utf8), partition: 7, position: position, limit: 16).encode()
        XCTAssertEqual(request, [0x01, 0x07, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74, 0, 0, 0, 7, 0x75, 0x73, 0x65, 0x72, 0x3a, 0x10])
        XCTAssertEqual(ScanChunkAnswer(entries: [], next: nil).encode(), [1, 0, 0])
        XCTAssertEqual(try ScanChunkAnswer(decoding: [1, 0, 0]), ScanChunkAnswer(entries: [], next: nil))
    }
}
