import Net
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

/// Issue 14, medium: push-pull accepts were served one at a time, each for up to the I/O
/// timeout, after zero-filling the length the header claimed (32 MiB) before any MAC check.
final class PushPullStrangerTests: XCTestCase {
    private func config() -> GossipConfig {
        var c = GossipConfig()
        c.probeIntervalMs = 100
        c.probeTimeoutMs = 50
        c.pushPullTimeoutMs = 3_000
        c.joinRetryInitialMs = 50
        c.joinRetryMaxMs = 200
        c.secret = Array("stranger-test".utf8)
        return c
    }

    func testSilentStrangersDoNotHoldPushPullFromARealJoiner() throws {
        let n1 = try GossipNode(config: config(), me: Member(id: "n1", gossip: Endpoint(host: "127.0.0.1", port: 0)), seed: 1) { _ in }
        defer { n1.stop() }
        n1.start(seeds: [])
        // Strangers open push-pull connections, send a header claiming 32 MiB, then nothing.
        var strangers: [Socket] = []
        defer { for s in strangers { s.close() } }
        for _ in 0..<4 {
            let s = try Socket.connectTCP(host: n1.endpoint.host, port: n1.endpoint.port, sourceHost: "127.0.0.9", timeoutMs: 1_000)
            var header = [UInt8](repeating: 0, count: WireFormat.pushPullHeaderBytes)
            header[0] = 0xff
            try? s.writeAll(Array(header.prefix(2)))
            strangers.append(s)
        }
        usleep(100_000)
        let n2 = try GossipNode(config: config(), me: Member(id: "n2", gossip: Endpoint(host: "127.0.0.2", port: 0)), seed: 2) { _ in }
        defer { n2.stop() }
        let started = Date()
        n2.start(seeds: [n1.endpoint])
        var joined = false
        while Date().timeIntervalSince(started) < 2.5 {
            if n1.members.contains(where: { $0.id == "n2" }) && n2.members.contains(where: { $0.id == "n1" }) { joined = true; break }
            usleep(20_000)
        }
        XCTAssertTrue(joined, "the join waited behind silent strangers")
    }
}
