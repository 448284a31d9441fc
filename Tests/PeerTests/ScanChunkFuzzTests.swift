import XCTest
@testable import Peer

/// Random and mutated `.scanChunk` payloads: the decoders never trap, and whatever decodes
/// re-encodes to exactly the input (one message, one encoding).
final class ScanChunkFuzzTests: XCTestCase {
    func testRequestAndAnswerDecodersSurviveRandomAndMutatedBytes() {
        let seed: UInt64 = 0x5CA1_F022
        var rng = SeededRandom(seed: seed)
        var requests: [[UInt8]] = []
        var answers: [[UInt8]] = []
        for i in 0..<50 {
            requests.append(ScanChunkRequest(namespace: Array("ns\(i)".utf8), partition: UInt32(i * 977), position: rng.next() & ScanCursor.maxPosition,
                                             limit: rng.int(0..<20_000)).encode())
            var entries: [ScanChunkAnswer.Entry] = []
            var key: [UInt8] = [UInt8(i)]
            for j in 0..<rng.int(0..<5) {
                key.append(UInt8(truncatingIfNeeded: j))
                let record: KeyRecord = rng.chance(50) ? ScanChunkTests.lww(UInt64(j), rng.chance(30) ? .tombstone : .value([]))
                    : .siblings(KeyRecordTests.randomStates(&rng)[0]).strippedOfValues()
                entries.append(.init(key: key, record: record))
            }
            answers.append(ScanChunkAnswer(entries: entries, next: rng.chance(50) ? nil : rng.next() & ScanCursor.maxPosition).encode())
        }
        var decodedRequests = 0, decodedAnswers = 0
        for i in 0..<60_000 {
            var bytes: [UInt8]
            let answer = i % 2 == 1
            switch i % 6 / 2 {
            case 0: bytes = (0..<rng.int(0..<40)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                bytes = [ScanFormat.version1] + (0..<rng.int(0..<40)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default:
                bytes = (answer ? answers : requests)[rng.below(50)]
                VersionVectorTests.mutate(&bytes, &rng)
            }
            if answer {
                if let a = try? ScanChunkAnswer(decoding: bytes) {
                    decodedAnswers += 1
                    XCTAssertEqual(a.encode(), bytes, "seed \(seed) input \(i)")
                }
            } else if let r = try? ScanChunkRequest(decoding: bytes) {
                decodedRequests += 1
                XCTAssertEqual(r.encode(), bytes, "seed \(seed) input \(i)")
            }
        }
        XCTAssertGreaterThan(decodedRequests, 0)
        XCTAssertGreaterThan(decodedAnswers, 0)
    }

    func testAnswerWithKeysOutOfOrderOrAHugeCountIsRefused() {
        let r = ScanChunkTests.lww(1, .value([]))
        XCTAssertNoThrow(try ScanChunkAnswer(decoding: ScanChunkAnswer(entries: [.init(key: [2], record: r), .init(key: [3], record: r)], next: nil).encode()))
        // The encoder writes what it is given; the decoder refuses the wrong order and duplicates.
        XCTAssertThrowsError(try ScanChunkAnswer(decoding: ScanChunkAnswer(entries: [.init(key: [3], record: r), .init(key: [2], record: r)], next: nil).encode()))
        XCTAssertThrowsError(try ScanChunkAnswer(decoding: ScanChunkAnswer(entries: [.init(key: [3], record: r), .init(key: [3], record: r)], next: nil).encode()))
        // A count of 2^40 entries in a few bytes.
        XCTAssertThrowsError(try ScanChunkAnswer(decoding: [ScanFormat.version1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0]))
    }
}
