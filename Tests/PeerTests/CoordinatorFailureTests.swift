// The client-facing error lines of failed requests (SPEC section 5).
import XCTest
@testable import Peer

final class CoordinatorFailureTests: XCTestCase {
    func testMessageTable() {
        typealias F = CoordinatorFailure
        let table: [(failure: F, message: String)] = [
            (F(reason: .failedReplies, operation: .write, answered: 1, required: 2, strict: false),
             "UNAVAILABLE only 1 of 2 required replicas answered (write may be partially applied)"),
            (F(reason: .failedReplies, operation: .read, answered: 1, required: 2, strict: false),
             "UNAVAILABLE only 1 of 2 required replicas answered"),
            (F(reason: .failedReplies, operation: .write, answered: 2, required: 3, strict: true),
             "UNAVAILABLE only 2 of 3 required primary replicas answered (write may be partially applied)"),
            (F(reason: .unreachable, operation: .write, answered: 1, required: 2, strict: false),
             "UNAVAILABLE only 1 of 2 required replicas are reachable (nothing written)"),
            (F(reason: .unreachable, operation: .write, answered: 1, required: 2, strict: true),
             "UNAVAILABLE only 1 of 2 required primary replicas are reachable (STRICT; nothing written)"),
            (F(reason: .unreachable, operation: .read, answered: 0, required: 1, strict: false),
             "UNAVAILABLE only 0 of 1 required replicas are reachable"),
            (F(reason: .unreachable, operation: .read, answered: 2, required: 3, strict: true),
             "UNAVAILABLE only 2 of 3 required primary replicas are reachable (STRICT)"),
            (F(reason: .timedOut(afterMs: 500), operation: .write, answered: 1, required: 2, strict: false),
             "TIMEOUT only 1 of 2 required replicas answered within 500 ms (write may be partially applied)"),
            (F(reason: .timedOut(afterMs: 80), operation: .read, answered: 0, required: 2, strict: false),
             "TIMEOUT only 0 of 2 required replicas answered within 80 ms"),
            (F(reason: .localWriteFailed, operation: .write, answered: 0, required: 2, strict: false),
             "UNAVAILABLE the coordinating replica could not store the write (nothing written)"),
        ]
        for row in table { XCTAssertEqual(row.failure.message, row.message) }
    }

    func testWriteCoordinatorFailFastCarriesStrictAndCounts() {
        var coordinator = WriteCoordinator(replicas: replicas("a:P b:P- c:P- d:F e:F"), localNode: "a", w: 2, strict: true, timeoutMs: 100)
        XCTAssertEqual(writeReplies(coordinator.start()).first,
                       .failed(CoordinatorFailure(reason: .unreachable, operation: .write, answered: 1, required: 2, strict: true)))
    }
}
