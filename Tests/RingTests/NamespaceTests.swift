import Bytes
import XCTest
@testable import Ring

final class NamespaceTests: XCTestCase {
    func testQuorumParsingAndResolutionFromTable() {
        let table: [(String, Quorum?, Int)] = [
            ("one", .one, 1), ("QUORUM", .quorum, 3), ("all", .all, 5), ("2", .count(2), 2), ("0", .count(0), 0),
            ("-1", nil, 0), ("most", nil, 0), ("", nil, 0),
        ]
        for (text, expected, resolvedAtN5) in table {
            XCTAssertEqual(Quorum(parsing: text), expected, text)
            if let q = expected { XCTAssertEqual(q.resolve(n: 5), resolvedAtN5, text) }
        }
        XCTAssertEqual(Quorum.quorum.resolve(n: 3), 2)
        XCTAssertEqual(Quorum.quorum.resolve(n: 4), 3)
        XCTAssertEqual(Quorum.quorum.resolve(n: 1), 1)
    }

    func testValidationFromTable() {
        // (n, r, w, siblingLimit, grace, valid)
        let table: [(Int, Quorum, Quorum, Int, Int64, Bool)] = [
            (3, .quorum, .quorum, 64, 0, true),
            (1, .one, .all, 1, 3_600_000, true),
            (64, .all, .one, 64, 1, true),
            (0, .one, .one, 64, 0, false),
            (65, .one, .one, 64, 0, false),
            (3, .count(0), .one, 64, 0, false),
            (3, .one, .count(4), 64, 0, false),
            (3, .count(3), .count(3), 64, 0, true),
            (3, .one, .one, 0, 0, false),
            (3, .one, .one, 64, -1, false),
        ]
        for (n, r, w, limit, grace, valid) in table {
            let result = Result { () throws(NamespaceError) in
                try Namespace(name: "t", n: n, r: r, w: w, siblingLimit: limit, tombstoneGraceMs: grace)
            }
            XCTAssertEqual((try? result.get()) != nil, valid, "N \(n) R \(r) W \(w) limit \(limit) grace \(grace)")
        }
        XCTAssertThrowsError(try Namespace(name: ""))
        XCTAssertThrowsError(try Namespace(name: "tab\there"))
        XCTAssertThrowsError(try Namespace(name: String(repeating: "x", count: 256)))
        XCTAssertNoThrow(try Namespace(name: "ünïcode-ok"))
    }

    func testNBeyondMembersIsAllowedButUnderReplicated() throws {
        let ns = try Namespace(name: "big", n: 5)
        XCTAssertTrue(ns.isUnderReplicated(memberCount: 3))
        XCTAssertFalse(ns.isUnderReplicated(memberCount: 5))
        XCTAssertEqual(ns.writeQuorum, 3)
    }

    func testTableUpsertRemoveAndMaxN() throws {
        let table = NamespaceTable()
        XCTAssertEqual(table.namespaces.map(\.name), ["default"])
        XCTAssertEqual(table.maxN, 3)
        let added = try table.upserting(try Namespace(name: "logs", n: 5, w: .one, conflict: .lww))
        XCTAssertEqual(added.version, table.version + 1)
        XCTAssertEqual(added.namespaces.map(\.name), ["default", "logs"])
        XCTAssertEqual(added.maxN, 5)
        XCTAssertEqual(try added.upserting(try Namespace(name: "logs", n: 5, w: .one, conflict: .lww)), added, "identical upsert")
        let removed = added.removing("logs")
        XCTAssertEqual(removed.version, added.version + 1)
        XCTAssertNil(removed.namespace(named: "logs"))
        XCTAssertEqual(removed.removing("absent"), removed)
        XCTAssertThrowsError(try NamespaceTable(version: 1, namespaces: [Namespace.standard, Namespace.standard]))
    }

    func testTableEncodingRoundTripsAndRejectsDamage() throws {
        var table = NamespaceTable()
        table = try table.upserting(try Namespace(name: "a", n: 1, r: .one, w: .one, conflict: .lww, siblingLimit: 1, tombstoneGraceMs: 0))
        table = try table.upserting(try Namespace(name: "zeta", n: 5, r: .count(2), w: .all, siblingLimit: 1000, tombstoneGraceMs: 86_400_000))
        let bytes = table.encode()
        XCTAssertEqual(try NamespaceTable(decoding: bytes), table)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try NamespaceTable(decoding: Array(bytes.prefix(length))), "length \(length)")
        }
        for i in 0..<bytes.count {
            var corrupted = bytes
            corrupted[i] ^= 0x10
            XCTAssertThrowsError(try NamespaceTable(decoding: corrupted), "byte \(i)")
        }
        XCTAssertThrowsError(try NamespaceTable(decoding: try Ring(partitionCount: 4, owner: "a").encode()), "a ring is not a table")
    }

    /// The worked example of FORMAT.md, byte for byte.
    func testTableEncodingMatchesTheWorkedExampleInFormatDoc() throws {
        let table = try NamespaceTable(version: 2, namespaces: [
            try Namespace(name: "logs", n: 2, r: .one, w: .count(2), conflict: .lww, siblingLimit: 8, tombstoneGraceMs: 60000),
            try Namespace(name: "default"),
        ])
        let expected: [UInt8] = [
            0x43, 0x4E, 0x53, 0x54, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
            0x07, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6C, 0x74, 0x03, 0x02, 0x02, 0x00, 0x40, 0x80, 0xDD, 0xDB, 0x01,
            0x04, 0x6C, 0x6F, 0x67, 0x73, 0x02, 0x01, 0x00, 0x02, 0x01, 0x08, 0xE0, 0xD4, 0x03,
            0x5C, 0xDF, 0x6B, 0x87, 0xE5, 0x9E, 0x41, 0x05,
        ]
        XCTAssertEqual(table.encode(), expected)
        XCTAssertEqual(try NamespaceTable(decoding: expected), table)
    }

    func testResealedRandomMutationsThrowOrRoundTrip() throws {
        var table = NamespaceTable()
        table = try table.upserting(try Namespace(name: "logs", n: 2, r: .one, w: .count(2), conflict: .lww))
        let body = Array(table.encode().dropLast(8))
        var rng = SeededRandom(seed: 0xAB5)
        for iteration in 0..<3000 {
            var bytes = body
            switch rng.next() % 3 {
            case 0: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count)))
            }
            var w = ByteWriter()
            w.append(bytes)
            w.u64LE(KeyHash.xxh64(bytes, seed: RingFormat.checksumSeed))
            if let decoded = try? NamespaceTable(decoding: w.bytes) {
                XCTAssertEqual(decoded.encode(), w.bytes, "iteration \(iteration) (seed 0xAB5)")
            }
        }
    }

    func testTableMergeIsDeterministicAndCommutative() throws {
        let base = NamespaceTable()
        let left = try base.upserting(try Namespace(name: "left"))
        let right = try base.upserting(try Namespace(name: "right-longer"))
        XCTAssertEqual(left.version, right.version)
        let merged = NamespaceTable.merge(left, right)
        XCTAssertEqual(merged, NamespaceTable.merge(right, left))
        XCTAssertEqual(merged, right, "equal versions: the longer encoding wins")
        let newer = try left.upserting(try Namespace(name: "x"))
        XCTAssertEqual(NamespaceTable.merge(newer, right), newer)
        XCTAssertEqual(right.merged(with: newer), newer)
        XCTAssertEqual(NamespaceTable.merge(left, left), left)
    }
}
