import XCTest
@testable import Storage

final class MemTableTests: XCTestCase {
    func add(_ t: MemTable, _ key: String, _ seq: SequenceNumber, _ value: String?) {
        let k = Array(key.utf8), v = Array((value ?? "").utf8)
        k.withUnsafeBytes { kb in
            v.withUnsafeBytes { vb in t.add(sequence: seq, type: value == nil ? .deletion : .value, key: kb, value: vb) }
        }
    }

    func get(_ t: MemTable, _ key: String, at seq: SequenceNumber) -> String? {
        switch Array(key.utf8).withUnsafeBytes({ t.get(userKey: $0, sequence: seq) }) {
        case .notFound: return "<none>"
        case .deleted: return nil
        case let .value(v, _): return String(decoding: v, as: UTF8.self)
        }
    }

    func testNewestVisibleVersionWins() {
        let t = MemTable()
        add(t, "a", 1, "a1")
        add(t, "a", 3, "a3")
        add(t, "a", 5, nil)
        add(t, "b", 2, "b2")
        XCTAssertEqual(get(t, "a", at: 0), "<none>")
        XCTAssertEqual(get(t, "a", at: 1), "a1")
        XCTAssertEqual(get(t, "a", at: 2), "a1")
        XCTAssertEqual(get(t, "a", at: 4), "a3")
        XCTAssertEqual(get(t, "a", at: 9), nil)
        XCTAssertEqual(get(t, "b", at: 9), "b2")
        XCTAssertEqual(get(t, "ab", at: 9), "<none>")
        XCTAssertEqual(get(t, "", at: 9), "<none>")
    }

    func testIteratorOrdersByKeyThenSequenceDescending() throws {
        let t = MemTable()
        var rng = SystemRandomNumberGenerator()
        var expected: [[UInt8]] = []
        for seq in 1...2_000 {
            let key = "k\(Int.random(in: 0..<300, using: &rng))"
            add(t, key, SequenceNumber(seq), "v\(seq)")
            expected.append(InternalKey.make(userKey: Array(key.utf8), sequence: SequenceNumber(seq), type: .value))
        }
        expected.sort { InternalKey.compare($0, $1) < 0 }
        let it = t.makeIterator()
        try it.seekToFirst()
        var seen: [[UInt8]] = []
        while it.isValid {
            seen.append(it.key)
            try it.next()
        }
        XCTAssertEqual(seen, expected)
        // Seek lands on the first entry >= target.
        for probe in expected.indices.shuffled().prefix(200) {
            try it.seek(expected[probe])
            XCTAssertEqual(it.key, expected[probe])
        }
        try it.seek(InternalKey.make(userKey: Array("zzz".utf8), sequence: 1, type: .value))
        XCTAssertFalse(it.isValid)
    }

    func testMemoryUsageGrowsWithContent() {
        let t = MemTable()
        let before = t.approximateMemoryUsage
        for i in 0..<100 { add(t, "key\(i)", SequenceNumber(i + 1), String(repeating: "x", count: 100)) }
        XCTAssertGreaterThan(t.approximateMemoryUsage - before, 100 * 110)
    }
}
