import Dispatch
import Foundation
import Synchronization
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

    func testAscendingRunsMixedWithRandomKeysKeepOrder() throws {
        // Ascending inserts take the "after the last node" shortcut; random ones search.
        let t = MemTable()
        var rng = SeededRandom(seed: 0x5EED_0002)
        var expected: [[UInt8]] = []
        var seq: SequenceNumber = 0
        for run in 0..<60 {
            let base = Int.random(in: 0..<5_000, using: &rng)
            let length = run % 3 == 0 ? 1 : Int.random(in: 1..<80, using: &rng)
            for i in 0..<length {
                seq += 1
                let key = String(format: "k%06d", base + i * (run % 2 == 0 ? 1 : 7))
                add(t, key, seq, "v\(seq)")
                expected.append(InternalKey.make(userKey: Array(key.utf8), sequence: seq, type: .value))
            }
        }
        expected.sort { InternalKey.compare($0, $1) < 0 }
        let it = t.makeIterator()
        try it.seekToFirst()
        var seen: [[UInt8]] = []
        while it.isValid {
            seen.append(it.key)
            try it.next()
        }
        XCTAssertEqual(seen, expected, "seed 0x5EED_0002")
        for probe in stride(from: 0, to: expected.count, by: 13) {
            try it.seek(expected[probe])
            XCTAssertEqual(it.key, expected[probe])
        }
    }

    func testReadersSeeASortedPrefixWhileOneWriterInserts() throws {
        // The skiplist takes no lock: readers must still see only whole entries, in order.
        let t = MemTable()
        let total = 20_000
        var order = Array(0..<total)
        var rng = SeededRandom(seed: 0x5EED_0001)
        order.shuffle(using: &rng)
        let done = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for r in 0..<3 {
            DispatchQueue.global().async(group: group) {
                var rounds = 0
                var lastCount = 0
                while rounds < 10_000 {
                    let finished = done.load(ordering: .acquiring)
                    let it = t.makeIterator()
                    var seen = 0
                    var previous: [UInt8] = []
                    do {
                        try it.seekToFirst()
                        while it.isValid {
                            let key = it.key
                            if !previous.isEmpty && InternalKey.compare(previous, key) >= 0 {
                                failures.withLock { $0.append("reader \(r): out of order") }
                                return
                            }
                            let user = String(decoding: InternalKey.userKey(key), as: UTF8.self)
                            if Array(it.value) != Array("v-\(user)".utf8) {
                                failures.withLock { $0.append("reader \(r): torn value for \(user)") }
                                return
                            }
                            previous = key
                            seen += 1
                            try it.next()
                        }
                    } catch {
                        failures.withLock { $0.append("reader \(r): \(error)") }
                        return
                    }
                    if seen < lastCount {
                        failures.withLock { $0.append("reader \(r): saw \(seen) entries after \(lastCount)") }
                        return
                    }
                    lastCount = seen
                    rounds += 1
                    if finished {
                        if seen != total { failures.withLock { $0.append("reader \(r): \(seen) of \(total) at the end") } }
                        return
                    }
                }
            }
        }
        for (seq, i) in order.enumerated() {
            let key = String(format: "k%06d", i)
            add(t, key, SequenceNumber(seq + 1), "v-\(key)")
        }
        done.store(true, ordering: .releasing)
        group.wait()
        XCTAssertEqual(failures.withLock { $0 }, [], "seed 0x5EED_0001")
        for i in stride(from: 0, to: total, by: 97) {
            let key = String(format: "k%06d", i)
            XCTAssertEqual(get(t, key, at: SequenceNumber(total)), "v-\(key)")
        }
    }

    /// Point lookups go through the hash index (MemTableIndex): many keys over several table
    /// growths, each found with its newest visible entry; absent keys, including ones that
    /// share a hash slot's neighbourhood, are not found; an older sequence still sees the
    /// older entry (the index names only the newest; the skiplist answers for older ones).
    func testPointLookupsThroughTheIndexAcrossGrowths() {
        let t = MemTable()
        let keys = 5_000
        var seq: SequenceNumber = 0
        for i in 0..<keys {
            seq += 1
            add(t, "key:\(i)", seq, "v1-\(i)")
        }
        let firstRound = seq
        for i in stride(from: 0, to: keys, by: 3) {
            seq += 1
            add(t, "key:\(i)", seq, i % 2 == 0 ? nil : "v2-\(i)")
        }
        for i in 0..<keys {
            let newest: String? = i % 3 != 0 ? "v1-\(i)" : (i % 2 == 0 ? nil : "v2-\(i)")
            XCTAssertEqual(get(t, "key:\(i)", at: seq), newest, "key:\(i) at the newest sequence")
            XCTAssertEqual(get(t, "key:\(i)", at: firstRound), "v1-\(i)", "key:\(i) at the first round's sequence")
            XCTAssertEqual(get(t, "key:\(i)x", at: seq), "<none>")
            XCTAssertEqual(get(t, "kez:\(i)", at: seq), "<none>")
        }
        XCTAssertEqual(get(t, "key:0", at: 0), "<none>", "nothing is visible before its sequence")
    }

    /// Readers look keys up while the writer adds and the index grows under them: every key
    /// added before a reader's look is found, with its value whole.
    func testLookupsWhileTheIndexGrows() {
        let t = MemTable()
        let total = 20_000
        let published = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        add(t, "k0", 1, "v-k0")
        published.store(1, ordering: .releasing)
        for r in 0..<3 {
            DispatchQueue.global().async(group: group) {
                var rng = SeededRandom(seed: UInt64(0x1DE7 + r))
                var checked = 0
                while checked < 30_000 {
                    let upTo = published.load(ordering: .acquiring)
                    let i = Int(rng.next() % UInt64(upTo))
                    let key = "k\(i)"
                    let got = self.get(t, key, at: SequenceNumber(total + 1))
                    if got != "v-\(key)" {
                        failures.withLock { $0.append("reader \(r): \(key) gave \(got ?? "deleted")") }
                        return
                    }
                    checked += 1
                    if upTo == total && checked > 1_000 { return }
                }
            }
        }
        for i in 1..<total {
            add(t, "k\(i)", SequenceNumber(i + 1), "v-k\(i)")
            published.store(i + 1, ordering: .releasing)
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
    }
}
