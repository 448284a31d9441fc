import XCTest
import Storage
@testable import Peer

/// 100,000 random and mutated inputs per decoder: none may trap, and whatever decodes must
/// be a valid state whose encoding is exactly the input (one state, one encoding).
final class KeyRecordFuzzTests: XCTestCase {
    static func seal(_ body: [UInt8]) -> [UInt8] {
        let crc = CRC32C.mask(CRC32C.checksum(body))
        return [VersionFormat.recordVersion1, UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)] + body
    }

    func testRecordDecoderSurvivesRandomAndMutatedBytes() {
        let seed: UInt64 = 0xF022_0001
        var rng = SeededRandom(seed: seed)
        var corpus: [[UInt8]] = []
        while corpus.count < 200 {
            for s in KeyRecordTests.randomStates(&rng) { corpus.append(KeyRecord.siblings(s).encode()) }
        }
        corpus.append(KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1_700_000_000_000, logical: 9, node: "n7"), value: .value([1, 2, 3]))).encode())
        corpus.append(KeyRecord.lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: UInt64.max, logical: UInt32.max, node: "n7"), value: .tombstone)).encode())
        // Records with a superseded section (tag 7): 1 to 8 ids, then full sets that evicted.
        for n in 1...12 {
            var s = KeyState()
            for c in 1...UInt64(n) {
                _ = s.write(at: "n1", context: nil, value: c % 3 == 0 ? .tombstone : .value([UInt8(c)]),
                            writeID: c &* 0x9E37_79B9_7F4A_7C15) { () -> UInt64 in c }
            }
            corpus.append(KeyRecord.siblings(s).encode())
        }

        var decoded = 0, checksumRejected = 0
        for i in 0..<100_000 {
            var bytes: [UInt8]
            switch i % 4 {
            case 0:  // random bytes
                bytes = (0..<rng.int(0..<48)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:  // random body behind a valid header, so the structure is what gets tested
                let kind = rng.chance(50) ? VersionFormat.recordKindSiblings : VersionFormat.recordKindLWW
                bytes = Self.seal([kind] + (0..<rng.int(0..<40)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            case 2:  // a valid record, mutated, checksum left stale
                bytes = corpus[rng.int(0..<corpus.count)]
                VersionVectorTests.mutate(&bytes, &rng)
            default:  // a valid record, mutated in the body, then resealed
                var body = Array(corpus[rng.int(0..<corpus.count)].dropFirst(5))
                VersionVectorTests.mutate(&body, &rng)
                bytes = Self.seal(body)
            }
            do {
                let record = try KeyRecord(decoding: bytes)
                decoded += 1
                if case .siblings(let s) = record { XCTAssertNoThrow(try s.validate(), "seed \(seed) case \(i)") }
                XCTAssertEqual(record.encode(), bytes, "non-canonical input accepted, seed \(seed) case \(i)")
            } catch {
                if error == .checksumMismatch { checksumRejected += 1 }
            }
        }
        XCTAssertGreaterThan(decoded, 1000, "the fuzz must reach valid records too")
        XCTAssertGreaterThan(checksumRejected, 1000)
    }

    func testLeaseDecoderSurvivesRandomAndMutatedBytes() {
        var rng = SeededRandom(seed: 0x1EA5E)
        let good = CounterLease.encodePersisted(123_456_789)
        for i in 0..<100_000 {
            var bytes = good
            if i % 2 == 0 {
                bytes = (0..<rng.int(0..<20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                VersionVectorTests.mutate(&bytes, &rng)
            }
            if let l = try? CounterLease.decodePersisted(bytes) {
                XCTAssertEqual(CounterLease.encodePersisted(l), bytes)
            }
        }
    }

    func testStorageKeyDecoderSurvivesRandomBytes() {
        var rng = SeededRandom(seed: 0x5707)
        for _ in 0..<100_000 {
            let bytes = (0..<rng.int(0..<24)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let k = try? StorageKey(decoding: bytes) {
                XCTAssertEqual(k.encode(), bytes)
            }
        }
    }
}
