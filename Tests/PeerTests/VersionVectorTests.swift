import XCTest
@testable import Peer

final class VersionVectorTests: XCTestCase {
    let a: NodeID = "a", b: NodeID = "b", c: NodeID = "c"

    func testEntriesAreSortedByIdBytesAndZeroesDropped() {
        var v = VersionVector([c: 3, a: 1, b: 0])
        XCTAssertEqual(v.entries.map(\.actor), [a, c])
        v[b] = 2
        XCTAssertEqual(v.entries.map(\.actor), [a, b, c])
        v[a] = 0
        XCTAssertEqual(v.entries.map(\.actor), [b, c])
        XCTAssertEqual(v[a], 0)
        XCTAssertTrue(v.isCanonical)
    }

    func testNodeIDOrderIsByteWiseNotUnicodeAware() {
        // "é" precomposed (C3 A9) and decomposed (65 CC 81) are equal Strings in Swift but
        // different node ids.
        let pre = NodeID(String("\u{E9}"))!, dec = NodeID(String("e\u{301}"))!
        XCTAssertNotEqual(pre, dec)
        XCTAssertTrue(dec < pre)
        XCTAssertEqual(VersionVector([pre: 1, dec: 2]).count, 2)
        XCTAssertNil(NodeID(String()))
        XCTAssertNil(NodeID(String(repeating: "x", count: 256)))
        XCTAssertNotNil(NodeID(String(repeating: "x", count: 255)))
        XCTAssertNil(NodeID(validatingUTF8: [0xff, 0xfe]))
    }

    func testUTF8ValidatorAgreesWithTheStandardLibrary() {
        var rng = SeededRandom(seed: 0x07F8)
        let interesting: [[UInt8]] = [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
                                      [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82, 0xac], [0xc3, 0xa9], [0xe2, 0x82]]
        for i in 0..<100_000 {
            var bytes: [UInt8]
            if i < interesting.count { bytes = interesting[i] } else {
                bytes = (0..<rng.int(0..<8)).map { _ in rng.chance(50) ? UInt8(rng.int(0x80..<0x100)) : UInt8(rng.int(0..<0x100)) }
            }
            let ours = bytes.withUnsafeBufferPointer { NodeID.isValidUTF8($0) }
            XCTAssertEqual(ours, String(validating: bytes, as: UTF8.self) != nil, "\(bytes)")
        }
    }

    func testMergeIsPointwiseMax() {
        let x = VersionVector([a: 5, b: 1]), y = VersionVector([b: 4, c: 2])
        XCTAssertEqual(x.merged(with: y), VersionVector([a: 5, b: 4, c: 2]))
        XCTAssertEqual(x.merged(with: y), y.merged(with: x))
        XCTAssertTrue(x.merged(with: y).descends(x))
        XCTAssertFalse(x.descends(y))
        XCTAssertTrue(x.covers(Dot(actor: a, counter: 5)))
        XCTAssertFalse(x.covers(Dot(actor: a, counter: 6)))
        XCTAssertFalse(x.covers(Dot(actor: c, counter: 1)))
    }

    func testContextWorkedExampleFromRecordsMd() throws {
        let v = VersionVector(["n1": 5, "n2": 300])
        let bytes = v.encodeContext()
        XCTAssertEqual(bytes, [0x01, 0x02, 0x02, 0x6e, 0x31, 0x05, 0x02, 0x6e, 0x32, 0xac, 0x02])
        XCTAssertEqual(try VersionVector(decodingContext: bytes), v)
    }

    func testEmptyContextIsNoBytesAndDecodesBothWays() throws {
        XCTAssertEqual(VersionVector().encodeContext(), [])
        XCTAssertEqual(try VersionVector(decodingContext: []), VersionVector())
        XCTAssertEqual(try VersionVector(decodingContext: [0x01, 0x00]), VersionVector())
    }

    func testContextRoundTripsRandomVectors() throws {
        var rng = SeededRandom(seed: 77)
        for _ in 0..<2000 {
            var d: [NodeID: UInt64] = [:]
            for _ in 0..<rng.int(0..<12) {
                let len = rng.int(1..<20)
                let id = NodeID(String((0..<len).map { _ in Character(Unicode.Scalar(UInt8(rng.int(0x21..<0x7f)))) }))!
                d[id] = rng.chance(20) ? UInt64.max - UInt64(rng.int(0..<3)) : UInt64(rng.int(1..<1_000_000))
            }
            let v = VersionVector(d)
            XCTAssertEqual(try VersionVector(decodingContext: v.encodeContext()), v)
        }
    }

    func testBadContextsAreRefusedWithTypedErrors() {
        let cases: [(String, [UInt8], ContextError)] = [
            ("unknown version", [0x02, 0x00], .unknownVersion(2)),
            ("count without entries", [0x01, 0x01], .truncated(offset: 1)),
            ("truncated id", [0x01, 0x01, 0x05, 0x61], .truncated(offset: 1)),
            ("missing counter", [0x01, 0x01, 0x01, 0x61, 0x80], .truncated(offset: 4)),
            ("overlong counter", [0x01, 0x01, 0x01, 0x61, 0x81, 0x00], .truncated(offset: 4)),
            ("zero-length id", [0x01, 0x01, 0x00, 0x61, 0x01], .badNodeID(offset: 2)),
            ("invalid UTF-8 id", [0x01, 0x01, 0x01, 0xff, 0x01], .badNodeID(offset: 2)),
            ("zero counter", [0x01, 0x01, 0x01, 0x61, 0x00], .zeroCounter(offset: 2)),
            ("unsorted", [0x01, 0x02, 0x01, 0x62, 0x01, 0x01, 0x61, 0x01], .notSorted(offset: 5)),
            ("duplicate", [0x01, 0x02, 0x01, 0x61, 0x01, 0x01, 0x61, 0x02], .notSorted(offset: 5)),
            ("trailing byte", [0x01, 0x01, 0x01, 0x61, 0x01, 0x00], .trailingBytes(offset: 5)),
            ("too many entries", [0x01, 0x81, 0x08], .tooManyEntries(1025)),
            ("varint overflow", [0x01, 0x01, 0x01, 0x61] + Array(repeating: 0xff, count: 9) + [0x02], .truncated(offset: 4)),
        ]
        for (name, bytes, expected) in cases {
            XCTAssertThrowsError(try VersionVector(decodingContext: bytes), name) {
                XCTAssertEqual($0 as? ContextError, expected, name)
            }
        }
    }

    func testLargestCounterEncodesInTenBytes() throws {
        let v = VersionVector([a: UInt64.max])
        let bytes = v.encodeContext()
        XCTAssertEqual(bytes.count, 1 + 1 + 2 + 10)
        XCTAssertEqual(try VersionVector(decodingContext: bytes), v)
    }

    func testContextDecoderSurvivesRandomAndMutatedBytes() {
        var rng = SeededRandom(seed: 0xC0DE_C0DE)
        let seeds: [[UInt8]] = [
            VersionVector(["n1": 5, "n2": 300]).encodeContext(),
            VersionVector(["a": 1, "b": UInt64.max, "node-with-a-long-name:7946": 99]).encodeContext(),
        ]
        var decoded = 0
        for i in 0..<100_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<rng.int(0..<40)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if rng.chance(50), !bytes.isEmpty { bytes[0] = VersionFormat.contextVersion1 }
            } else {
                bytes = seeds[rng.int(0..<seeds.count)]
                Self.mutate(&bytes, &rng)
            }
            if let v = try? VersionVector(decodingContext: bytes) {
                decoded += 1
                // Whatever decodes is canonical and re-encodes to the same bytes (or to
                // nothing for the empty vector).
                XCTAssertTrue(v.isCanonical)
                if !v.isEmpty { XCTAssertEqual(v.encodeContext(), bytes) }
            }
        }
        XCTAssertGreaterThan(decoded, 0)
    }

    /// Flips, truncates, inserts or overwrites a few bytes.
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SeededRandom) {
        for _ in 0..<rng.int(1..<4) {
            switch rng.int(0..<4) {
            case 0 where !bytes.isEmpty:
                let i = rng.int(0..<bytes.count)
                bytes[i] ^= UInt8(1 << rng.int(0..<8))
            case 1 where !bytes.isEmpty:
                bytes.removeLast(rng.int(1...bytes.count))
            case 2:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: rng.int(0...bytes.count))
            default:
                if !bytes.isEmpty { bytes[rng.int(0..<bytes.count)] = UInt8.random(in: 0...255, using: &rng) }
            }
        }
    }
}
