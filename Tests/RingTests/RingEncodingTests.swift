import Bytes
import XCTest
@testable import Ring

final class RingEncodingTests: XCTestCase {
    func sampleRing() throws -> Ring {
        let members = ["127.0.0.1:7946", "127.0.0.2:7946", "127.0.0.3:7946", "nœud-ü:1", "127.0.0.4:7946"]
        let base = try Claim.initial(partitionCount: 64, members: members.prefix(4), targetN: 3)
        return Claim.next(current: base, members: members, targetN: 3)
    }

    /// The worked example of FORMAT.md, byte for byte.
    func testEncodingMatchesTheWorkedExampleInFormatDoc() throws {
        let ring = try Ring(partitionCount: 4, version: 7, targetN: 2, owners: ["a", "b", "a", "b"], nextOwners: [nil, nil, nil, "c"])
        let expected: [UInt8] = [
            0x43, 0x52, 0x4E, 0x47, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02,
            0x03, 0x01, 0x61, 0x01, 0x62, 0x01, 0x63, 0x00, 0x01, 0x00, 0x01, 0x01, 0x03, 0x02,
            0x6F, 0xE7, 0x0E, 0x5F, 0xB4, 0x0B, 0x9E, 0xA1,
        ]
        XCTAssertEqual(ring.encode(), expected)
        XCTAssertEqual(try Ring(decoding: expected), ring)
    }

    func testRoundTripWithTransfersInFlight() throws {
        let ring = try sampleRing()
        XCTAssertTrue(ring.isTransferring)
        let decoded = try Ring(decoding: ring.encode())
        XCTAssertEqual(decoded, ring)
        XCTAssertEqual(decoded.encode(), ring.encode())
    }

    func testRoundTripOfSingleOwnerAndLargestRing() throws {
        for q in [1, 2, 256, 65_536] {
            let ring = try Ring(partitionCount: q, owner: "only", targetN: 5)
            XCTAssertEqual(try Ring(decoding: ring.encode()), ring)
        }
    }

    func testEncodingIsCompact() throws {
        let ring = try Claim.initial(partitionCount: 4096, members: (0..<100).map(nodeID), targetN: 3)
        // 4096 one-byte owner indices plus a 100-entry member table and a small header.
        XCTAssertLessThan(ring.encode().count, 4096 + 100 * 16 + 64)
    }

    func testEveryTruncationThrows() throws {
        let bytes = try sampleRing().encode()
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try Ring(decoding: Array(bytes.prefix(length))), "length \(length)")
        }
    }

    func testEverySingleBitFlipThrows() throws {
        let bytes = try sampleRing().encode()
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var corrupted = bytes
                corrupted[i] ^= UInt8(1 << bit)
                XCTAssertThrowsError(try Ring(decoding: corrupted), "byte \(i) bit \(bit)")
            }
        }
    }

    func testBadMagicAndUnknownFormatVersionAreNamed() throws {
        var bytes = try sampleRing().encode()
        bytes[4] = 2
        XCTAssertThrowsError(try Ring(decoding: bytes)) { XCTAssertEqual($0 as? RingError, .unsupportedFormatVersion(2)) }
        bytes[0] = 0
        XCTAssertThrowsError(try Ring(decoding: bytes)) {
            guard case .corrupt = $0 as? RingError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Ring(decoding: [])) { XCTAssertEqual($0 as? RingError, .truncated(offset: 0)) }
    }

    func testTrailingGarbageWithValidChecksumThrows() throws {
        var body = try sampleRing().encode().dropLast(8).map { $0 }
        body.append(0)
        XCTAssertThrowsError(try Ring(decoding: sealed(body))) {
            guard case .corrupt = $0 as? RingError else { return XCTFail("\($0)") }
        }
    }

    /// Hand-built bodies with a valid checksum but broken structure.
    func testNonCanonicalOrInvalidBodiesThrow() {
        func body(members: [String], owners: [Int], transfers: [(Int, Int)] = [], bits: UInt8 = 1, n: UInt8 = 3) -> [UInt8] {
            var w = ByteWriter()
            w.append(RingFormat.ringMagic)
            w.u8(RingFormat.formatVersion1)
            w.u8(UInt8(0))
            w.u64LE(UInt64(7))
            w.u8(bits)
            w.u8(n)
            w.varint(members.count)
            for m in members { w.string(m) }
            for o in owners { w.varint(o) }
            w.varint(transfers.count)
            for (p, i) in transfers {
                w.varint(p)
                w.varint(i)
            }
            return w.bytes
        }
        XCTAssertNoThrow(try Ring(decoding: sealed(body(members: ["a", "b"], owners: [0, 1]))))
        let bad: [(String, [UInt8])] = [
            ("unsorted members", body(members: ["b", "a"], owners: [0, 1])),
            ("duplicate members", body(members: ["a", "a"], owners: [0, 1])),
            ("unused member", body(members: ["a", "b", "c"], owners: [0, 1])),
            ("owner index out of range", body(members: ["a", "b"], owners: [0, 2])),
            ("empty node id", body(members: ["", "a"], owners: [0, 1])),
            ("transfer to own owner", body(members: ["a", "b"], owners: [0, 1], transfers: [(0, 0)])),
            ("transfer partition out of range", body(members: ["a", "b"], owners: [0, 1], transfers: [(2, 1)])),
            ("transfers out of order", body(members: ["a", "b", "c"], owners: [0, 1], transfers: [(1, 2), (0, 2)])),
            ("partition bits too large", body(members: ["a"], owners: [0, 0], bits: 17)),
            ("target N zero", body(members: ["a", "b"], owners: [0, 1], n: 0)),
            ("target N too large", body(members: ["a", "b"], owners: [0, 1], n: 65)),
            ("too few owners", body(members: ["a"], owners: [0])),
        ]
        for (what, bytes) in bad {
            XCTAssertThrowsError(try Ring(decoding: sealed(bytes)), what)
        }
        // A member count far beyond the bytes present must not allocate or trap.
        var huge = ByteWriter()
        huge.append(RingFormat.ringMagic)
        huge.u8(RingFormat.formatVersion1)
        huge.u8(UInt8(0))
        huge.u64LE(UInt64(1))
        huge.u8(UInt8(16))
        huge.u8(UInt8(3))
        huge.varint(UInt64.max)
        XCTAssertThrowsError(try Ring(decoding: sealed(huge.bytes)))
    }

    /// Mutations behind a valid checksum reach the parser itself: it must throw or yield a
    /// ring whose encoding is exactly the input (canonical), never trap.
    func testResealedRandomMutationsThrowOrRoundTrip() throws {
        let body = Array(try sampleRing().encode().dropLast(8))
        var rng = SeededRandom(seed: 0xF022)
        var decoded = 0
        for iteration in 0..<3000 {
            var bytes = body
            switch rng.next() % 4 {
            case 0: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count)))
            default:
                for _ in 0..<4 { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            }
            let input = sealed(bytes)
            if let ring = try? Ring(decoding: input) {
                decoded += 1
                XCTAssertEqual(ring.encode(), input, "iteration \(iteration) (seed 0xF022)")
            }
        }
        XCTAssertLessThan(decoded, 3000)
    }

    func testTinyRingsClaimWithoutTrapping() throws {
        for q in [1, 2, 4, 8] {
            for m in 1...6 {
                let members = (0..<m).map(nodeID)
                let grown = Claim.next(current: try Ring(partitionCount: q, owner: nodeID(0)), members: members).settled()
                let fresh = try Claim.initial(partitionCount: q, members: members)
                for ring in [grown, fresh] {
                    let counts = ring.ownershipCounts()
                    let bounds = RingAudit.balanceBounds(partitionCount: q, memberCount: m)
                    for id in members { XCTAssertTrue(bounds.contains(counts[id] ?? 0), "Q \(q) m \(m)") }
                    if m >= q { XCTAssertEqual(Set(ring.owners).count, q, "Q \(q) m \(m)") }
                }
            }
        }
    }

    func testInvalidRingsAreRejectedAtConstruction() {
        XCTAssertThrowsError(try Ring(partitionCount: 0, owner: "a")) { XCTAssertEqual($0 as? RingError, .invalidPartitionCount(0)) }
        XCTAssertThrowsError(try Ring(partitionCount: 96, owner: "a")) { XCTAssertEqual($0 as? RingError, .invalidPartitionCount(96)) }
        XCTAssertThrowsError(try Ring(partitionCount: 1 << 17, owner: "a"))
        XCTAssertThrowsError(try Ring(partitionCount: 4, owner: ""))
        XCTAssertThrowsError(try Ring(partitionCount: 4, owner: "a", targetN: 0)) { XCTAssertEqual($0 as? RingError, .invalidTargetN(0)) }
        XCTAssertThrowsError(try Ring(partitionCount: 2, version: 1, targetN: 3, owners: ["a"]))
        XCTAssertThrowsError(try Ring(partitionCount: 2, version: 1, targetN: 3, owners: ["a", "b"], nextOwners: ["a", nil]))
    }

    private func sealed(_ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.append(body)
        w.u64LE(KeyHash.xxh64(body, seed: RingFormat.checksumSeed))
        return w.bytes
    }
}
