import XCTest
@testable import Gossip

/// Issue 14, high 3: a cluster-state value over the gossip payload is refused and counted,
/// never a trap (it was a `precondition` reachable from NS.CREATE and --partitions).
final class StateBoundsTests: XCTestCase {
    func testOversizedPayloadOrKeyIsRefusedAndCounted() {
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 0)
        let big = [UInt8](repeating: 7, count: ClusterStateValue.maxPayloadBytes + 1)
        XCTAssertTrue(core.publishState(key: "namespaces", version: 2, payload: big, now: 0).isEmpty)
        XCTAssertNil(core.stateValue("namespaces"))
        XCTAssertTrue(core.publishState(key: String(repeating: "k", count: 256), version: 1, payload: [1], now: 0).isEmpty)
        XCTAssertTrue(core.publishState(key: "", version: 1, payload: [1], now: 0).isEmpty)
        XCTAssertEqual(core.counters.statesRefused, 3)
        let fits = [UInt8](repeating: 7, count: ClusterStateValue.maxPayloadBytes)
        _ = core.publishState(key: "namespaces", version: 2, payload: fits, now: 0)
        XCTAssertEqual(core.stateValue("namespaces")?.payload.count, ClusterStateValue.maxPayloadBytes, "the bound itself is accepted")
    }

    func testGossipNodeSaysWhenAValueDoesNotFit() throws {
        let node = try GossipNode(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "127.0.0.1", port: 0))) { _ in }
        defer { node.leave() }
        XCTAssertFalse(node.publishState(key: "ring", version: 1, payload: [UInt8](repeating: 0, count: 70_000)))
        XCTAssertTrue(node.publishState(key: "ring", version: 1, payload: [1, 2, 3]))
    }
}
