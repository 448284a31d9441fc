import XCTest
@testable import Ring

final class PreferenceListTests: XCTestCase {
    /// Q = 8: A B C A D B C D, with partition 2 in transfer from C to E.
    func ring() throws -> Ring {
        try Ring(partitionCount: 8, version: 3, targetN: 3,
                 owners: ["A", "B", "C", "A", "D", "B", "C", "D"],
                 nextOwners: [nil, nil, "E", nil, nil, nil, nil, nil])
    }

    func testPrimariesAndFallbacksFromTable() throws {
        let r = try ring()
        // (partition, N, primaries, transfer targets, fallbacks)
        let table: [(Int, Int, [String], [String], [String])] = [
            (0, 3, ["A", "B", "C"], ["E"], ["D"]),
            (1, 3, ["B", "C", "A"], ["E"], ["D"]),
            (2, 2, ["C", "A"], ["E"], ["D", "B"]),
            (3, 3, ["A", "D", "B"], [], ["C", "E"]),
            (4, 3, ["D", "B", "C"], [], ["A", "E"]),
            (6, 1, ["C"], [], ["D", "A", "B", "E"]),
            (7, 3, ["D", "A", "B"], [], ["C", "E"]),
            (5, 5, ["B", "C", "D", "A"], ["E"], []),
            (9, 1, ["B"], [], ["C", "A", "D", "E"]), // partition taken modulo Q
        ]
        for (p, n, primaries, transfer, fallbacks) in table {
            let list = PreferenceList(ring: r, partition: p, n: n)
            XCTAssertEqual(list.primaries, primaries, "partition \(p) N \(n)")
            XCTAssertEqual(list.transferTargets, transfer, "partition \(p) N \(n)")
            XCTAssertEqual(list.fallbacks, fallbacks, "partition \(p) N \(n)")
            XCTAssertEqual(Set(list.primaries).count, list.primaries.count)
            XCTAssertTrue(Set(list.fallbacks).isDisjoint(with: list.primaries))
        }
        XCTAssertTrue(PreferenceList(ring: r, partition: 5, n: 5).isUnderReplicated)
        XCTAssertFalse(PreferenceList(ring: r, partition: 5, n: 4).isUnderReplicated)
        XCTAssertEqual(PreferenceList(ring: r, partition: 6, n: 1, maxFallbacks: 2).fallbacks, ["D", "A"])
    }

    /// A partition in transfer sends writes to both its owner and its next owner.
    func testTransferPartitionListsBothOwners() throws {
        let list = PreferenceList(ring: try ring(), partition: 2, n: 3)
        XCTAssertTrue(list.primaries.contains("C"))
        XCTAssertEqual(list.transferTargets, ["E"])
        let settled = PreferenceList(ring: try ring().settled(), partition: 2, n: 3)
        XCTAssertEqual(settled.primaries, ["E", "A", "D"])
        XCTAssertEqual(settled.transferTargets, [])
    }

    /// When the owner itself hands off to a node already in the list, the node that joins
    /// the list after the switch receives writes during the transfer.
    func testTransferToANodeAlreadyPrimaryAddsTheNextInLine() throws {
        let r = try Ring(partitionCount: 4, version: 1, targetN: 2, owners: ["A", "B", "C", "D"], nextOwners: ["B", nil, nil, nil])
        let list = PreferenceList(ring: r, partition: 0, n: 2)
        XCTAssertEqual(list.primaries, ["A", "B"])
        XCTAssertEqual(list.transferTargets, ["C"])
    }

    func testReplicasWithDownNodesFromTable() throws {
        let list = PreferenceList(ring: try ring(), partition: 3, n: 3) // A D B | C E
        // (down nodes, expected [(node, role, hintFor)])
        let table: [(Set<String>, [(String, Replica.Role, String?)])] = [
            ([], [("A", .primary, nil), ("D", .primary, nil), ("B", .primary, nil)]),
            (["D"], [("A", .primary, nil), ("C", .fallback, "D"), ("B", .primary, nil)]),
            (["A", "B"], [("C", .fallback, "A"), ("D", .primary, nil), ("E", .fallback, "B")]),
            (["A", "C"], [("E", .fallback, "A"), ("D", .primary, nil), ("B", .primary, nil)]),
            (["A", "B", "C", "E"], [("D", .primary, nil)]),
        ]
        for (down, expected) in table {
            let got = list.replicas { !down.contains($0) }
            XCTAssertEqual(got, expected.map { Replica(node: $0.0, role: $0.1, hintFor: $0.2) }, "down \(down)")
        }
        let transferring = PreferenceList(ring: try ring(), partition: 0, n: 3)
        XCTAssertEqual(transferring.replicas { _ in true }.map(\.node), ["A", "B", "C", "E"])
        XCTAssertEqual(transferring.replicas { $0 != "E" }.map(\.node), ["A", "B", "C"])
        XCTAssertEqual(transferring.replicas { $0 != "C" }.map(\.node), ["A", "B", "D", "E"])
    }

    func testKeyPreferenceListUsesTheKeysPartition() throws {
        let r = try Claim.initial(partitionCount: 256, members: (0..<10).map(nodeID))
        let ns = Array("default".utf8), key = Array("user:1000".utf8)
        let p = r.partition(forHash: KeyHash.hash(namespace: ns, key: key))
        XCTAssertEqual(p, Int(0x78FB29D3ACEE0BCE >> 56))
        XCTAssertEqual(PreferenceList(ring: r, namespace: ns, key: key, n: 3), PreferenceList(ring: r, partition: p, n: 3))
        // Spaced ring: the primaries are simply the owners of p, p+1, p+2.
        XCTAssertEqual(PreferenceList(ring: r, partition: p, n: 3).primaries, (0..<3).map { r.owners[(p + $0) % 256] })
    }
}
