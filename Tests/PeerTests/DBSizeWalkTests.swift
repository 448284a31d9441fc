import XCTest
@testable import Peer

/// DBSIZE's walk (pure): exact when every partition is read, extrapolated from whole
/// partitions once the sample is reached, never from a partly read one.
final class DBSizeWalkTests: XCTestCase {
    /// Runs a walk over `keysPerPartition` with chunks of at most `chunk` keys.
    private func run(_ keysPerPartition: [Int], sample: Int, chunk: Int = 3) -> (estimate: Int64, chunks: Int) {
        var walk = DBSizeWalk(partitionCount: keysPerPartition.count, sampleKeys: sample)
        var chunks = 0
        while chunks < 10_000 {
            switch walk.next() {
            case .done(let estimate): return (estimate, chunks)
            case .chunk(let partition, let position, _):
                chunks += 1
                let total = keysPerPartition[partition]
                let read = min(chunk, total - Int(position))
                let next: UInt64? = Int(position) + read < total ? position + UInt64(read) : nil
                walk.onChunk(liveKeys: read, next: next)
            }
        }
        XCTFail("walk did not end")
        return (-1, chunks)
    }

    func testEstimatesFromTables() {
        let cases: [(perPartition: [Int], sample: Int, want: Int64)] = [
            ([0, 0, 0, 0], 10, 0),                   // empty: every partition read
            ([1, 0, 2, 0], 10, 3),                   // small: exact
            ([5, 5, 5, 5], 10, 20),                  // sample reached after 2 of 4: 10 * 4 / 2
            ([12, 0, 0, 0], 10, 48),                 // one whole partition: 12 * 4 / 1
            ([4, 4, 3, 9], 10, 15),                  // 11 keys in 3 partitions: 11 * 4 / 3 = 14.67, rounded
        ]
        for (per, sample, want) in cases {
            XCTAssertEqual(run(per, sample: sample).estimate, want, "\(per) sample \(sample)")
        }
    }

    func testAPartlyReadPartitionIsNeverExtrapolated() {
        // The sample is reached inside partition 0 (chunks of 3 of its 7 keys): the walk
        // still reads partition 0 to its end and extrapolates from it alone.
        XCTAssertEqual(run([7, 1, 1, 1], sample: 2).estimate, 28)
    }

    func testExactCountReadsEveryPartitionOnce() {
        let per = (0..<64).map { $0 % 3 }
        let result = run(per, sample: 10_000, chunk: 1)
        XCTAssertEqual(result.estimate, Int64(per.reduce(0, +)))
        XCTAssertEqual(result.chunks, per.reduce(0) { $0 + max(1, $1) })
    }

    func testUniformKeysEstimateWithinAFewPercent() {
        // 200,000 keys hashed into 256 partitions; the default sample reads about 10,000.
        var rng = SeededRandom(state: 42)
        var per = [Int](repeating: 0, count: 256)
        for _ in 0..<200_000 { per[rng.below(256)] += 1 }
        let result = run(per, sample: 10_000, chunk: 10_000)
        XCTAssertLessThan(abs(Double(result.estimate) - 200_000) / 200_000, 0.05, "estimate \(result.estimate)")
        XCTAssertLessThan(result.chunks, 20, "read far more partitions than the sample needs")
    }
}
