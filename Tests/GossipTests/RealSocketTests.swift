#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Net
import XCTest
@testable import Gossip

/// Three shells on 127.0.0.1-3 over real UDP and TCP, with short protocol periods.
final class RealSocketTests: XCTestCase {
    private func config() -> GossipConfig {
        var c = GossipConfig()
        c.probeIntervalMs = 100
        c.probeTimeoutMs = 50
        c.gossipIntervalMs = 30
        c.pushPullIntervalMs = 1_000
        c.pushPullTimeoutMs = 1_000
        c.reconnectIntervalMs = 500
        c.suspicionMult = 3
        c.joinRetryInitialMs = 50
        c.joinRetryMaxMs = 500
        c.secret = Array("real-socket-test".utf8)
        return c
    }

    /// Polls `condition` every 20 ms for at most `seconds` (bounded; not a speed assertion).
    private func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 50) {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    private func node(_ host: String, port: UInt16 = 0) throws -> GossipNode {
        let e = Endpoint(host: host, port: port)
        return try GossipNode(config: config(), me: Member(id: host, gossip: e), seed: UInt64(port) ^ 0xC0FFEE) { _ in }
    }

    /// Over real sockets on one machine (one wall clock), every offset estimate is within
    /// its error bound of zero, and the round-trip hook reports each peer.
    func testOffsetsBetweenPeersOnOneClockAreZeroWithinTheirErrorAndRoundTripsAreReported() throws {
        let n1 = try node("127.0.0.1")
        let n2 = try node("127.0.0.2")
        defer { n1.stop(); n2.stop() }
        final class Seen: @unchecked Sendable { let lock = NSLock(); var ids = Set<String>() }
        let seen = Seen()
        n1.onRoundTrip = { id, ms in
            guard ms >= 0 else { return }
            seen.lock.lock(); seen.ids.insert(id); seen.lock.unlock()
        }
        n1.start(seeds: [])
        n2.start(seeds: [n1.endpoint])
        XCTAssertTrue(eventually(10) { n1.clockOffsets["127.0.0.2"] != nil && n2.clockOffsets["127.0.0.1"] != nil },
                      "no offsets measured: \(n1.clockOffsets) \(n2.clockOffsets)")
        for (node, other) in [(n1, "127.0.0.2"), (n2, "127.0.0.1")] {
            let o = try XCTUnwrap(node.clockOffsets[other])
            XCTAssertLessThanOrEqual(abs(o.offsetUs), o.errorUs + 1_000, "\(other): \(o)")
        }
        XCTAssertTrue(eventually(5) { seen.lock.lock(); defer { seen.lock.unlock() }; return seen.ids.contains("127.0.0.2") })
    }

    func testThreeNodesOverUDPDetectAStoppedNodeAndSeeItReturn() throws {
        let n1 = try node("127.0.0.1")
        let n2 = try node("127.0.0.2")
        var n3 = try node("127.0.0.3")
        defer { n1.stop(); n2.stop(); n3.stop() }
        n1.start(seeds: [])
        n2.start(seeds: [n1.endpoint])
        n3.start(seeds: [n2.endpoint])
        let all = [n1, n2, n3]
        XCTAssertTrue(eventually(10) { all.allSatisfy { $0.members.filter { $0.status == .alive }.count == 3 } },
                      "cluster did not form: \(all.map(\.members))")

        let port3 = n3.endpoint.port
        let before = n3.me.incarnation
        n3.stop()
        XCTAssertTrue(eventually(10) { [n1, n2].allSatisfy { $0.member("127.0.0.3")?.status == .dead } },
                      "stopped node not seen dead: \(n1.members) \(n2.members)")

        n3 = try node("127.0.0.3", port: port3)
        n3.start(seeds: [n1.endpoint])
        let again = [n1, n2, n3]
        XCTAssertTrue(eventually(10) {
            again.allSatisfy { node in
                guard let m = node.member("127.0.0.3") else { return false }
                return m.status == .alive && m.incarnation > before && node.members.filter { $0.status == .alive }.count == 3
            }
        }, "restarted node not alive again: \(again.map(\.members))")
        XCTAssertEqual(n1.counters.dropped(.badMAC), 0)
    }

    func testPacketsFromAStrangerWithoutTheSecretAreDroppedAndCounted() throws {
        let n1 = try node("127.0.0.1")
        defer { n1.stop() }
        n1.start(seeds: [])
        let (stranger, _) = try Socket.bindUDP(try SocketAddress(host: "127.0.0.2", port: 0))
        defer { stranger.close() }
        let target = try n1.endpoint.socketAddress()
        let unsigned = PacketCodec(secret: nil)
        var body = [UInt8]()
        GossipMessage.ping(seq: 1, target: "127.0.0.1", source: "x").encode(into: &body)
        XCTAssertTrue(try stranger.sendDatagram(unsigned.packet(messages: body, timestampMs: GossipNode.wallClockNs() / 1_000_000), to: target))
        XCTAssertTrue(try stranger.sendDatagram([0x43, 0x47, 9], to: target))
        XCTAssertTrue(eventually(5) { n1.counters.dropped(.unauthenticated) == 1 && n1.counters.dropped(.badVersion) == 1 },
                      "\(n1.counters)")
    }

    func testSeedGivenByNameIsResolved() throws {
        let n1 = try node("127.0.0.1")
        let n2 = try node("127.0.0.2")
        defer { n1.stop(); n2.stop() }
        n1.start(seeds: [])
        n2.start(seeds: [Endpoint(host: "localhost", port: n1.endpoint.port)])
        XCTAssertTrue(eventually(10) { n1.member("127.0.0.2")?.status == .alive && n2.member("127.0.0.1")?.status == .alive })
    }

    /// Two shells on ::1 (distinct ids, ports picked by the kernel) join over IPv6: UDP
    /// probes and the TCP push-pull both work in that family. Skipped without ::1.
    func testTwoShellsJoinOverIPv6Loopback() throws {
        guard let probe = try? Socket.bindUDP(try SocketAddress(host: "::1", port: 0)) else {
            throw XCTSkip("no IPv6 loopback (::1) on this machine")
        }
        probe.socket.close()
        let n1 = try GossipNode(config: config(), me: Member(id: "v6-a", gossip: Endpoint(host: "::1", port: 0)), seed: 61) { _ in }
        let n2 = try GossipNode(config: config(), me: Member(id: "v6-b", gossip: Endpoint(host: "::1", port: 0)), seed: 62) { _ in }
        defer { n1.stop(); n2.stop() }
        n1.start(seeds: [])
        n2.start(seeds: [Endpoint(parsing: "[::1]:\(n1.endpoint.port)")].compactMap { $0 })
        XCTAssertTrue(eventually(10) { n1.member("v6-b")?.status == .alive && n2.member("v6-a")?.status == .alive },
                      "\(n1.members) / \(n2.members)")
    }

    func testGracefulLeaveIsSeenAsLeft() throws {
        let n1 = try node("127.0.0.1")
        let n2 = try node("127.0.0.2")
        defer { n1.stop(); n2.stop() }
        n1.start(seeds: [])
        n2.start(seeds: [n1.endpoint])
        XCTAssertTrue(eventually(10) { n1.member("127.0.0.2")?.status == .alive })
        n2.leave()
        XCTAssertTrue(eventually(10) { n1.member("127.0.0.2")?.status == .left }, "\(n1.members)")
    }
}
