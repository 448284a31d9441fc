import Bytes
import XCTest
@testable import Storage

final class BloomFilterTests: XCTestCase {
    private func hash(_ bytes: [UInt8]) -> UInt32 { BloomFilter.hash(bytes) }

    private func key(_ i: Int) -> [UInt8] {
        var k = [UInt8]()
        k.appendU32LE(UInt32(truncatingIfNeeded: i))
        return k
    }

    /// The hash is part of the file format: pin it to LevelDB's values (seed 0xbc9f1d34).
    func testHashMatchesLevelDBVectors() {
        XCTAssertEqual(hash([]), 0xbc9f_1d34)
        XCTAssertEqual(hash([0x08]), 422_599_524)
        XCTAssertEqual(hash([0x17]), 3_168_152_998)
        XCTAssertEqual(hash([0x1c]), 2_651_681_383)
        XCTAssertEqual(hash([0x4d, 0x76]), 2_447_836_956)
        XCTAssertEqual(hash([0x30, 0x46, 0x0b]), 3_808_221_797)
        XCTAssertEqual(hash([0x67, 0x53, 0x81, 0x1c]), 118_283_265)
        XCTAssertEqual(hash([0x69, 0xb8, 0xc0, 0x88]), 3_416_318_611)
    }

    func testFastModuloEqualsRemainderForEveryKindOfOperand() {
        var rng = SeededRandom(seed: 0x5EED_0003)
        let divisors: [UInt32] = [1, 2, 3, 7, 8, 64, 1000, 65_536, 99_991, 1 << 31, UInt32.max - 1, UInt32.max]
            + (0..<200).map { _ in UInt32.random(in: 1...UInt32.max, using: &rng) }
        for d in divisors {
            let m = FastModulo(d)
            for x in [0, 1, d - 1, d, d &+ 1, UInt32.max, UInt32.max - 1] + (0..<500).map({ _ in UInt32.random(in: 0...UInt32.max, using: &rng) }) {
                if m.reduce(x) != x % d { return XCTFail("\(x) % \(d): \(m.reduce(x)) (seed 0x5EED_0003)") }
            }
        }
    }

    func testProbeCountIsBitsTimesLn2RoundedAndClamped() {
        XCTAssertEqual(BloomFilter.probeCount(bitsPerKey: 10), 7)
        XCTAssertEqual(BloomFilter.probeCount(bitsPerKey: 0), 1)
        XCTAssertEqual(BloomFilter.probeCount(bitsPerKey: 1), 1)
        XCTAssertEqual(BloomFilter.probeCount(bitsPerKey: 100), 30)
    }

    func testNoFalseNegativesAtAnySize() {
        for n in [1, 2, 10, 100, 1000, 10_000] {
            let filter = BloomFilter.build(hashes: (0..<n).map { hash(key($0)) }, bitsPerKey: 10)
            for i in 0..<n {
                XCTAssertTrue(filter.mayContain(hash: hash(key(i))), "key \(i) of \(n) missing")
            }
        }
    }

    func testFalsePositiveRateBelowTwoPercentAtTenBitsPerKey() {
        let n = 10_000
        let filter = BloomFilter.build(hashes: (0..<n).map { hash(key($0)) }, bitsPerKey: 10)
        XCTAssertEqual(filter.bytes.count, n * 10 / 8 + 1)
        let probes = 100_000
        var falsePositives = 0
        for i in 0..<probes where filter.mayContain(hash: hash(key(1_000_000_000 + i))) {
            falsePositives += 1
        }
        let rate = Double(falsePositives) / Double(probes)
        print("bloom filter: \(n) keys, 10 bits/key, k=7: false-positive rate \(rate * 100)% (\(falsePositives)/\(probes))")
        XCTAssertLessThan(rate, 0.02)
        XCTAssertGreaterThan(falsePositives, 0, "a 0% rate means the filter is not probing what it set")
    }

    func testTinyFilterHasSixtyFourBitFloor() {
        let filter = BloomFilter.build(hashes: [hash([1])], bitsPerKey: 10)
        XCTAssertEqual(filter.bytes.count, 8 + 1)
        XCTAssertEqual(filter.bytes.last, 7)
    }

    func testEmptyFilterMatchesNothing() {
        XCTAssertFalse(BloomFilter(bytes: []).mayContain(hash: hash([1])))
        XCTAssertFalse(BloomFilter(bytes: [7]).mayContain(hash: hash([1])))
    }

    func testReservedProbeCountMatchesEverything() {
        var bytes = [UInt8](repeating: 0, count: 9)
        bytes[8] = 31
        XCTAssertTrue(BloomFilter(bytes: bytes).mayContain(hash: hash([1, 2, 3])))
    }

    func testFilterWithoutKeysRejectsEveryKey() {
        let filter = BloomFilter.build(hashes: [], bitsPerKey: 10)
        for i in 0..<100 { XCTAssertFalse(filter.mayContain(hash: hash(key(i)))) }
    }
}
