import XCTest
import Storage
@testable import Peer

final class VersionStorageKeyTests: XCTestCase {
    func contains(_ r: KeyRange, _ key: [UInt8]) -> Bool {
        if let s = r.start, key.lexicographicallyPrecedes(s) { return false }
        if let e = r.end, !key.lexicographicallyPrecedes(e) { return false }
        return true
    }

    func testDataKeyLayoutIsPartitionThenNamespaceThenKey() throws {
        let k = StorageKey.dataKey(partition: 0x0102_0304, namespace: Array("ns".utf8), key: Array("k".utf8))
        XCTAssertEqual(k, [0x64, 0x01, 0x02, 0x03, 0x04, 0x02, 0x6e, 0x73, 0x6b])
        XCTAssertEqual(try StorageKey(decoding: k), .data(partition: 0x0102_0304, namespace: Array("ns".utf8), key: Array("k".utf8)))
    }

    func testPartitionRangeHoldsExactlyThatPartitionInEveryNamespace() {
        var rng = SeededRandom(seed: 0x9A27)
        let partitions: [UInt32] = [0, 1, 2, 255, 256, 0xffff, 0xffff_fffe, UInt32.max]
        let namespaces: [[UInt8]] = [[], Array("a".utf8), Array("ab".utf8), Array(repeating: 0xff, count: 255)]
        var keys: [(UInt32, [UInt8], [UInt8])] = []
        for _ in 0..<2000 {
            let key = (0..<rng.int(0..<6)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            keys.append((partitions[rng.int(0..<partitions.count)], namespaces[rng.int(0..<namespaces.count)], key))
        }
        let others: [[UInt8]] = [
            StorageKey.hint(target: "n1", sequence: 1).encode(),
            StorageKey.meta(name: StorageKey.counterLeaseName).encode(),
        ]
        for p in partitions {
            let range = StorageKey.partitionRange(p)
            for (kp, ns, key) in keys {
                XCTAssertEqual(contains(range, StorageKey.dataKey(partition: kp, namespace: ns, key: key)), kp == p)
                let nsRange = StorageKey.namespaceRange(partition: p, namespace: Array("a".utf8))
                XCTAssertEqual(contains(nsRange, StorageKey.dataKey(partition: kp, namespace: ns, key: key)), kp == p && ns == Array("a".utf8))
            }
            for o in others { XCTAssertFalse(contains(range, o)) }
        }
        for (kp, ns, key) in keys {
            XCTAssertTrue(contains(StorageKey.dataRange, StorageKey.dataKey(partition: kp, namespace: ns, key: key)))
        }
    }

    func testPartitionsSortNumerically() {
        let a = StorageKey.dataKey(partition: 255, namespace: Array("z".utf8), key: [0xff])
        let b = StorageKey.dataKey(partition: 256, namespace: Array("a".utf8), key: [])
        XCTAssertTrue(a.lexicographicallyPrecedes(b))
    }

    func testHintsGroupByTargetOldestFirst() throws {
        let h1 = StorageKey.hint(target: "n1", sequence: 2).encode()
        let h2 = StorageKey.hint(target: "n1", sequence: 256).encode()
        let other = StorageKey.hint(target: "n10", sequence: 1).encode()
        XCTAssertTrue(h1.lexicographicallyPrecedes(h2))
        XCTAssertTrue(contains(StorageKey.hintRange(target: "n1"), h1))
        XCTAssertTrue(contains(StorageKey.hintRange(target: "n1"), h2))
        XCTAssertFalse(contains(StorageKey.hintRange(target: "n1"), other), "n1's range must not hold n10's hints")
        XCTAssertTrue(contains(StorageKey.allHintsRange, other))
        XCTAssertEqual(try StorageKey(decoding: h2), .hint(target: "n1", sequence: 256))
    }

    func testMalformedKeysThrow() {
        XCTAssertThrowsError(try StorageKey(decoding: [])) { XCTAssertEqual($0 as? StorageKeyError, .empty) }
        XCTAssertThrowsError(try StorageKey(decoding: [0x7a])) { XCTAssertEqual($0 as? StorageKeyError, .unknownKeyspace(0x7a)) }
        XCTAssertThrowsError(try StorageKey(decoding: [0x64, 0, 0, 0])) { XCTAssertEqual($0 as? StorageKeyError, .truncated) }
        XCTAssertThrowsError(try StorageKey(decoding: [0x64, 0, 0, 0, 1, 5, 0x61])) { XCTAssertEqual($0 as? StorageKeyError, .truncated) }
        XCTAssertThrowsError(try StorageKey(decoding: [0x68, 0x02, 0x6e, 0x31, 0, 0])) { XCTAssertEqual($0 as? StorageKeyError, .truncated) }
        XCTAssertThrowsError(try StorageKey(decoding: [0x68, 0x00])) { XCTAssertEqual($0 as? StorageKeyError, .badName) }
    }

    /// The layout against a real store: dropping one partition's range removes exactly
    /// that partition's records in every namespace.
    func testDeletingAPartitionRangeInAStoreLeavesOtherPartitions() throws {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: options)
        defer { try? store.close() }
        var batch = WriteBatch()
        for p: UInt32 in 0..<4 {
            for ns in ["default", "other"] {
                for k in 0..<10 {
                    batch.put(StorageKey.dataKey(partition: p, namespace: Array(ns.utf8), key: Array("k\(k)".utf8)),
                              KeyRecord.siblings(KeyState()).encode())
                }
            }
        }
        try store.write(batch)
        let r = StorageKey.partitionRange(2)
        try store.deleteRange(start: XCTUnwrap(r.start), end: XCTUnwrap(r.end))
        var counts: [UInt32: Int] = [:]
        let it = try store.makeIterator(range: StorageKey.dataRange)
        while it.isValid {
            guard case .data(let p, _, _) = try StorageKey(decoding: it.key) else { return XCTFail() }
            counts[p, default: 0] += 1
            try it.next()
        }
        XCTAssertEqual(counts, [0: 20, 1: 20, 3: 20])
    }
}
