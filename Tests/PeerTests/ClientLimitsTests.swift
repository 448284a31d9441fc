import Storage
import XCTest
@testable import Peer

/// Oversized keys and values are refused with SPEC's error, and nothing is written
/// (on the five-engine simulated cluster of ClusterSimulationTests).
extension ClusterSimulationTests {
    func testOversizedKeyAndValueAreRefusedAndNothingIsWritten() throws {
        let sim = c!
        let bigValue = String(repeating: "v", count: 16 * 1024 * 1024 + 1)
        XCTAssertEqual(sim.writeNow("n1", "k", bigValue)?.line, "ERR value too large (max 16777216 bytes)")
        let bigKey = String(repeating: "k", count: 8 * 1024 + 1)
        XCTAssertEqual(sim.writeNow("n1", bigKey, "v")?.line, "ERR key too large (max 8192 bytes)")
        XCTAssertEqual(sim.writeNow("n1", "", "v")?.line, "ERR empty key")
        // Nothing reached any store.
        for id in sim.ids {
            let it = try sim.engines[id]!.replica.store.makeIterator(range: KeyRange.prefix([VersionFormat.keyspaceData]))
            XCTAssertFalse(it.isValid, "\(id) stored a record")
        }
        // A value at exactly the limit is accepted.
        XCTAssertNil(sim.writeNow("n1", "k", String(repeating: "v", count: 16 * 1024 * 1024)))
    }
}
