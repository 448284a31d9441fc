import Bytes
import XCTest
@testable import Storage

/// Internal key for tests: user key as UTF-8, sequence, type.
func ikey(_ user: String, _ seq: UInt64, _ type: ValueType = .value) -> [UInt8] {
    InternalKey.make(userKey: Array(user.utf8), sequence: seq, type: type)
}

func ikey(_ user: [UInt8], _ seq: UInt64, _ type: ValueType = .value) -> [UInt8] {
    InternalKey.make(userKey: user, sequence: seq, type: type)
}

/// A small seeded generator (splitmix64) so failures replay.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class BlockTests: XCTestCase {
    private func makeBlock(_ entries: [([UInt8], [UInt8])], restartInterval: Int = 16) throws -> Block {
        let builder = BlockBuilder(restartInterval: restartInterval)
        for (k, v) in entries { builder.add(k, v) }
        let bytes = builder.finish()
        return try Block(bytes: bytes, contentSize: bytes.count, file: "test.sst", fileOffset: 4096)
    }

    private func entries(count: Int) -> [([UInt8], [UInt8])] {
        (0..<count).map { i in (ikey(String(format: "key%05d", i * 2), UInt64(i + 1)), Array("value\(i)".utf8)) }
    }

    private func scan(_ it: InternalIterator) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        try it.seekToFirst()
        while it.isValid {
            out.append((it.key, Array(it.value)))
            try it.next()
        }
        return out
    }

    private func assertSame(_ a: [([UInt8], [UInt8])], _ b: [([UInt8], [UInt8])], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.0, y.0, file: file, line: line)
            XCTAssertEqual(x.1, y.1, file: file, line: line)
        }
    }

    func testIterationAcrossSeveralRestartIntervalsReturnsEveryEntry() throws {
        let input = entries(count: 100)
        let block = try makeBlock(input)
        XCTAssertEqual(block.restartCount, 7)  // 100 keys, a restart every 16
        assertSame(try scan(block.makeIterator()), input)
    }

    func testSeekToEachKeyBetweenKeysBeforeFirstAndPastLast() throws {
        for interval in [1, 2, 16, 1000] {
            let input = entries(count: 100)
            let it = try makeBlock(input, restartInterval: interval).makeIterator()
            for (i, (k, v)) in input.enumerated() {
                try it.seek(k)
                XCTAssertTrue(it.isValid)
                XCTAssertEqual(it.key, k, "exact seek \(i), interval \(interval)")
                XCTAssertEqual(Array(it.value), v)
                // Odd numbers fall between the even keys: the next key is found.
                try it.seek(ikey(String(format: "key%05d", i * 2 + 1), 1))
                if i + 1 < input.count {
                    XCTAssertEqual(it.key, input[i + 1].0, "between \(i) and \(i + 1), interval \(interval)")
                } else {
                    XCTAssertFalse(it.isValid)
                }
            }
            try it.seek(ikey("", 0))
            XCTAssertEqual(it.key, input[0].0, "before first")
            try it.seek(ikey("a", 5))
            XCTAssertEqual(it.key, input[0].0)
            try it.seek(ikey("zzz", 1))
            XCTAssertFalse(it.isValid, "past last")
        }
    }

    func testSeekOrdersVersionsOfOneUserKeyNewestFirst() throws {
        let input = [ikey("k", 30), ikey("k", 20), ikey("k", 10, .deletion), ikey("l", 5)].map { ($0, [UInt8]()) }
        let it = try makeBlock(input, restartInterval: 2).makeIterator()
        try it.seek(ikey("k", 25))
        XCTAssertEqual(it.key, ikey("k", 20))
        try it.seek(ikey("k", 20))
        XCTAssertEqual(it.key, ikey("k", 20))
        try it.seek(ikey("k", 15))
        XCTAssertEqual(it.key, ikey("k", 10, .deletion))
        try it.seek(ikey("k", 9))
        XCTAssertEqual(it.key, ikey("l", 5))
        try it.seek(ikey("k", InternalKey.maxSequence))
        XCTAssertEqual(it.key, ikey("k", 30))
    }

    func testEmptyUserKeyAndIdenticalPrefixesRoundTrip() throws {
        let long = [UInt8](repeating: 0x61, count: 300)  // shared lengths above 127: multi-byte varints
        var input: [([UInt8], [UInt8])] = [
            (ikey([], 9), []),
            (ikey([], 8), Array("empty key, older".utf8)),
            (ikey("a", 1), []),
            (ikey("aa", 1), [UInt8](repeating: 7, count: 200)),
            (ikey("aaa", 1), [0]),
        ]
        input.append((ikey(long, 3), Array("long".utf8)))
        input.append((ikey(long + [0x61], 3), []))
        input.append((ikey(long + [0x62], 3), [1]))
        input.append((ikey(long + [0x62, 0], 3), [2]))
        for interval in [1, 3, 16] {
            let block = try makeBlock(input, restartInterval: interval)
            assertSame(try scan(block.makeIterator()), input)
            let it = block.makeIterator()
            for (k, v) in input {
                try it.seek(k)
                XCTAssertEqual(it.key, k)
                XCTAssertEqual(Array(it.value), v)
            }
        }
    }

    func testPrefixCompressionStoresSharedBytesOnce() throws {
        let builder = BlockBuilder(restartInterval: 16)
        builder.add(ikey("prefix-shared-0001", 1), [UInt8]())
        builder.add(ikey("prefix-shared-0002", 1), [UInt8]())
        let bytes = builder.finish()
        // Second entry: shared 17 user bytes ("prefix-shared-000"), 1 + 8 trailer bytes new.
        let second = 3 + 26
        XCTAssertEqual(Array(bytes[second..<(second + 3)]), [17, 9, 0])
        XCTAssertEqual(bytes.count, 29 + 3 + 9 + 4 + 4)
    }

    func testEmptyBlockHasNoEntries() throws {
        let block = try makeBlock([])
        let it = block.makeIterator()
        try it.seekToFirst()
        XCTAssertFalse(it.isValid)
        try it.seek(ikey("a", 1))
        XCTAssertFalse(it.isValid)
    }

    func testBuilderResetStartsAFreshBlock() throws {
        let builder = BlockBuilder(restartInterval: 4)
        builder.add(ikey("zzz", 1), [1])
        builder.finish()
        builder.reset()
        XCTAssertTrue(builder.isEmpty)
        let input = entries(count: 10)
        for (k, v) in input { builder.add(k, v) }
        let bytes = builder.finish()
        assertSame(try scan(Block(bytes: bytes, contentSize: bytes.count, file: "f", fileOffset: 0).makeIterator()), input)
    }

    private func assertCorruption(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected corruption", file: file, line: line)
        } catch let error as StorageError {
            guard case let .corruption(path, offset, _) = error else {
                return XCTFail("expected corruption, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(path, "test.sst", file: file, line: line)
            XCTAssertEqual(offset, 4096, file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    private func parse(_ bytes: [UInt8]) throws -> Block {
        try Block(bytes: bytes, contentSize: bytes.count, file: "test.sst", fileOffset: 4096)
    }

    func testCorruptedRestartCountIsCorruption() throws {
        let builder = BlockBuilder()
        for (k, v) in entries(count: 40) { builder.add(k, v) }
        let good = builder.finish()
        for count: UInt32 in [0, 4, 1000, UInt32.max] {
            var bad = good
            bad.storeU32LE(count, at: bad.count - 4)
            assertCorruption { _ = try parse(bad) }
        }
    }

    func testRestartOffsetOutsideEntriesIsCorruption() throws {
        let builder = BlockBuilder(restartInterval: 4)
        for (k, v) in entries(count: 10) { builder.add(k, v) }
        let good = builder.finish()
        let restartsStart = good.count - 4 - 3 * 4
        var bad = good
        bad.storeU32LE(UInt32(restartsStart + 2), at: restartsStart + 4)  // beyond the entries
        assertCorruption { _ = try parse(bad) }
        bad = good
        bad.storeU32LE(5, at: restartsStart)  // first restart must be 0
        assertCorruption { _ = try parse(bad) }
    }

    func testBlockShorterThanRestartCountIsCorruption() {
        assertCorruption { _ = try parse([]) }
        assertCorruption { _ = try parse([1, 0, 0]) }
    }

    func testEntryLengthPastEndThrowsInsteadOfReadingOutOfBounds() throws {
        let builder = BlockBuilder()
        for (k, v) in entries(count: 3) { builder.add(k, v) }
        var bytes = builder.finish()
        bytes[1] = 0x7f  // first entry's non_shared length: runs past the entries
        let block = try parse(bytes)
        assertCorruption { try block.makeIterator().seekToFirst() }
        assertCorruption { try block.makeIterator().seek(ikey("key", 1)) }
    }

    func testSharedLengthLongerThanPreviousKeyIsCorruption() throws {
        let builder = BlockBuilder()
        for (k, v) in entries(count: 3) { builder.add(k, v) }
        var bytes = builder.finish()
        let second = 3 + 16 + 6  // header + "key00000"+trailer + "value0"
        XCTAssertEqual(bytes[second], 7)  // shares "key0000"
        bytes[second] = 60
        let it = try parse(bytes).makeIterator()
        try it.seekToFirst()
        XCTAssertTrue(it.isValid)
        assertCorruption { try it.next() }
        XCTAssertFalse(it.isValid, "an iterator is invalid after a corruption error")
    }

    /// Random byte flips in a valid block: parsing and iterating must throw or succeed,
    /// never trap or loop. Seeded; the seed is printed on failure.
    func testRandomlyCorruptedBlocksNeverTrap() throws {
        let seed: UInt64 = 0x5eed_b10c
        var rng = SeededRandom(seed: seed)
        let builder = BlockBuilder(restartInterval: 4)
        for (k, v) in entries(count: 50) { builder.add(k, v) }
        let good = builder.finish()
        for round in 0..<2000 {
            var bad = good
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bad[Int.random(in: 0..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            guard let block = try? parse(bad) else { continue }
            let it = block.makeIterator()
            var steps = 0
            do throws(StorageError) {
                try it.seekToFirst()
                while it.isValid && steps < 10_000 {
                    try it.next()
                    steps += 1
                }
                try it.seek(ikey("key00050", 3))
            } catch {
                XCTAssertTrue(error.isCorruption, "round \(round), seed \(seed): \(error)")
            }
            XCTAssertLessThan(steps, 10_000, "round \(round), seed \(seed)")
        }
    }

    func testCommonPrefixCountsBytesAcrossWordBoundaries() {
        let a: [UInt8] = Array("0123456789abcdefXYZ".utf8)
        for n in 0...a.count {
            var b = a
            if n < b.count { b[n] ^= 1 }
            let shared = a.withUnsafeBytes { x in b.withUnsafeBytes { y in BlockBuilder.commonPrefix(x, y) } }
            XCTAssertEqual(shared, n)
        }
        let short = a.withUnsafeBytes { x in [UInt8](a.prefix(5)).withUnsafeBytes { y in BlockBuilder.commonPrefix(x, y) } }
        XCTAssertEqual(short, 5)
    }

    /// The inlined comparator of the search loops orders keys exactly as InternalKey.compare:
    /// random keys over a tiny alphabet (many ties and shared prefixes), short and long.
    func testTableKeyOrderAgreesWithInternalKeyCompare() {
        let seed: UInt64 = 0xc0ffee
        var rng = SeededRandom(seed: seed)
        let alphabet: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]
        func randomKey() -> [UInt8] {
            (0..<Int.random(in: 0...26, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? 0 }
        }
        for round in 0..<20_000 {
            let a = randomKey()
            let b = Bool.random(using: &rng) ? randomKey() : a.prefix(Int.random(in: 0...a.count, using: &rng)) + randomKey()
            let expected = InternalKey.compare(a, b).signum()
            let got = a.withUnsafeBytes { x in b.withUnsafeBytes { y in TableKeyOrder.compare(x, y) } }
            XCTAssertEqual(got, expected, "round \(round), seed \(seed): \(a) vs \(b)")
            if got != expected { return }
        }
    }
}
