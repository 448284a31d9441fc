import XCTest
@testable import Peer

/// The partition walk of one SCAN step, driven by hand (no cluster).
final class ScanStepTests: XCTestCase {
    func testAHugeEmptyRingAnswersAfterSixtyFourPartitionsWithProgress() {
        var step = ScanStep(cursor: .start, partitionCount: 65_536, ringVersion: 300, count: 10, pattern: nil)
        var asked: [Int] = []
        while case .chunk(let p, let pos, _) = step.next() {
            XCTAssertEqual(pos, 0)
            asked.append(p)
            step.onChunk(liveKeys: [], next: nil)
        }
        XCTAssertEqual(asked, Array(0..<64))
        guard case .reply(let page) = step.next() else { return XCTFail("no reply") }
        XCTAssertEqual(page.keys, [])
        let cursor = ScanCursor(rawValue: page.cursor, partitionCount: 65_536)
        XCTAssertEqual(cursor, ScanCursor(partition: 64, ringVersion: UInt8(300 & 0x7F), position: 0))
    }

    func testTheLastPartitionEndsWithCursorZero() {
        var step = ScanStep(cursor: ScanCursor(partition: 62, ringVersion: 1, position: 77), partitionCount: 64, ringVersion: 1,
                            count: 1_000, pattern: nil)
        XCTAssertEqual(step.next(), .chunk(partition: 62, position: 77, limit: 1_000))
        step.onChunk(liveKeys: [[1]], next: nil)
        XCTAssertEqual(step.next(), .chunk(partition: 63, position: 0, limit: 999))
        step.onChunk(liveKeys: [[2]], next: nil)
        XCTAssertEqual(step.next(), .reply(ScanPage(cursor: 0, keys: [[1], [2]], scanned: 2)))
    }

    func testCountStopsTheStepInsideAPartitionAtTheChunksNextPosition() {
        var step = ScanStep(cursor: .start, partitionCount: 8, ringVersion: 5, count: 3, pattern: nil)
        XCTAssertEqual(step.next(), .chunk(partition: 0, position: 0, limit: 3), "the keys still wanted")
        step.onChunk(liveKeys: [[1], [2], [3], [4]], next: 0x10_00_00_00_00)
        guard case .reply(let page) = step.next() else { return XCTFail("no reply at COUNT") }
        XCTAssertEqual(page.keys.count, 4, "more than COUNT: the whole chunk")
        XCTAssertEqual(ScanCursor(rawValue: page.cursor, partitionCount: 8), ScanCursor(partition: 0, ringVersion: 5, position: 0x10_00_00_00_00))
    }

    func testMatchFiltersButCountCountsEveryLiveKeyRead() {
        var step = ScanStep(cursor: .start, partitionCount: 8, ringVersion: 0, count: 3, pattern: GlobPattern("b*"))
        _ = step.next()
        step.onChunk(liveKeys: [Array("a1".utf8), Array("b1".utf8), Array("c1".utf8)], next: 5)
        guard case .reply(let page) = step.next() else { return XCTFail("COUNT is work, as in Redis") }
        XCTAssertEqual(page.keys, [Array("b1".utf8)])
        XCTAssertEqual(page.scanned, 3)
    }

    func testAPartitionOfTombstonesCannotHoldAStepBeyondTheChunkBound() {
        var step = ScanStep(cursor: .start, partitionCount: 4, ringVersion: 0, count: 10, pattern: nil)
        var chunks = 0
        var position: UInt64 = 0
        while case .chunk = step.next() {
            chunks += 1
            position += 1
            step.onChunk(liveKeys: [], next: position)
        }
        XCTAssertEqual(chunks, ScanStep.Limits().maxChunks)
        guard case .reply(let page) = step.next() else { return XCTFail("no reply") }
        XCTAssertEqual(ScanCursor(rawValue: page.cursor, partitionCount: 4)?.position, position)
    }

    func testChunksThinnedByTombstonesAskForMoreEachTime() {
        var step = ScanStep(cursor: .start, partitionCount: 4, ringVersion: 0, count: 10, pattern: nil)
        var limits: [Int] = []
        var position: UInt64 = 0
        for _ in 0..<6 {
            guard case .chunk(_, _, let limit) = step.next() else { return XCTFail("replied early") }
            limits.append(limit)
            position += 1
            step.onChunk(liveKeys: [], next: position)
        }
        XCTAssertEqual(limits, [10, 10, 10, 10, 16, 32])
        // A chunk that ends its partition does not grow the floor.
        var other = ScanStep(cursor: .start, partitionCount: 4, ringVersion: 0, count: 10, pattern: nil)
        _ = other.next()
        other.onChunk(liveKeys: [], next: nil)
        XCTAssertEqual(other.chunkFloor, 1)
    }
}

extension ScanStepTests {
    func testReplyBytesBoundEndsTheStepBeforeCount() {
        var limits = ScanStep.Limits()
        limits.maxReplyBytes = 100
        var step = ScanStep(cursor: .start, partitionCount: 4, ringVersion: 0, count: 1_000, pattern: nil, limits: limits)
        _ = step.next()
        step.onChunk(liveKeys: (0..<20).map { Array(repeating: UInt8($0), count: 8) }, next: 9)
        guard case .reply(let page) = step.next() else { return XCTFail("160 key bytes > 100: the step must answer") }
        XCTAssertEqual(page.keys.count, 20)
        XCTAssertNotEqual(page.cursor, 0)
    }
}
