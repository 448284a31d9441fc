import Storage
import XCTest
@testable import Peer

/// Issue 14, medium: hint and repair batches are bounded in bytes, not only in count (256
/// hints of 16 MiB values once made one 4 GiB frame, refused and retried forever).
final class BatchBoundsTests: XCTestCase {
    func testSplitBoundsCountAndBytesAndKeepsOrder() {
        let sizes = [3, 3, 3, 10, 1, 1, 1, 1, 1]
        let batches = BatchBounds.split(Array(sizes.enumerated()), maxCount: 4, maxBytes: 6) { $0.element }
        XCTAssertEqual(batches.map { $0.map(\.offset) }, [[0, 1], [2], [3], [4, 5, 6, 7], [8]])
        XCTAssertTrue(BatchBounds.split([Int](), maxCount: 4, maxBytes: 6) { $0 }.isEmpty)
    }

    func testHintBatchIsBoundedInBytesAndAlwaysMovesOneHint() throws {
        let r = try ForgedContextTests.memoryReplica("n1")
        let value = [UInt8](repeating: 0x61, count: 1 << 20)
        for i in 0..<10 {
            guard case .written(let rec) = try ForgedContextTests.write(r, "h\(i)", String(decoding: value, as: UTF8.self)) else { return XCTFail("write refused") }
            XCTAssertTrue(try r.hints.add(target: "n2", address: ForgedContextTests.address("h\(i)"), record: rec.encode()))
        }
        let batch = try r.hints.batch(for: "n2", limit: 256, maxBytes: 3 << 20 + 1_000)
        XCTAssertEqual(batch.count, 3, "3 MiB of 1 MiB hints")
        XCTAssertEqual(batch.map { $0.address.key }, (0..<3).map { Array("h\($0)".utf8) }, "oldest first")
        XCTAssertEqual(try r.hints.batch(for: "n2", limit: 256, maxBytes: 1).count, 1, "one hint always fits")
        let message = HintBatchMessage(entries: try r.hints.batch(for: "n2", limit: 256).map { ($0.address, $0.record) }).encode()
        XCTAssertLessThan(message.count, FrameFormat.defaultMaxFrameBytes)
        XCTAssertLessThanOrEqual(message.count, BatchBounds.maxBatchBytes + (1 << 20) + 4_096)
    }
}
