import XCTest
@testable import Gossip

/// Issue 14 (low): an authenticated gossip packet replayed within the clock window is
/// dropped; before, the ±120 s window was the only check, and a captured packet (a stale
/// suspicion, a departure) could be played back again and again.
final class ReplayGuardTests: XCTestCase {
    func body(_ messages: [GossipMessage]) -> [UInt8] {
        var out = [UInt8]()
        for m in messages { m.encode(into: &out) }
        return out
    }

    func testAReplayedSignedPacketIsDroppedAndAFreshOneIsNot() {
        var c = GossipConfig()
        c.secret = Array("right".utf8)
        var core = SwimCore(config: c, me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 1_000_000_000)
        let other = Member(id: "n2", gossip: Endpoint(host: "10.0.0.2", port: 1))
        let codec = PacketCodec(secret: Array("right".utf8))
        let packet = codec.packet(messages: body([.ping(seq: 1, target: "n1", source: "n2"), .member(other, from: "n2")]), timestampMs: 1_000)
        let first = core.onPacket(from: other.gossip, bytes: packet, now: 1_000_000_000)
        XCTAssertFalse(first.isEmpty, "the first copy is served (an ack)")
        for i in 1...5 {
            XCTAssertEqual(core.onPacket(from: other.gossip, bytes: packet, now: 1_000_000_000 + UInt64(i) * 1_000_000_000), [], "replay \(i) served")
        }
        XCTAssertEqual(core.counters.dropped(.replayed), 5)
        let fresh = codec.packet(messages: body([.ping(seq: 2, target: "n1", source: "n2")]), timestampMs: 2_000)
        XCTAssertFalse(core.onPacket(from: other.gossip, bytes: fresh, now: 2_000_000_000).isEmpty, "a new packet is served")
    }

    func testUnsignedClustersAreUnchanged() {
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 1_000_000_000)
        let packet = PacketCodec(secret: nil).packet(messages: body([.ping(seq: 1, target: "n1", source: "n2")]), timestampMs: 1_000)
        XCTAssertFalse(core.onPacket(from: Endpoint(host: "10.0.0.2", port: 1), bytes: packet, now: 1_000_000_000).isEmpty)
        XCTAssertFalse(core.onPacket(from: Endpoint(host: "10.0.0.2", port: 1), bytes: packet, now: 1_000_000_000).isEmpty)
        XCTAssertEqual(core.counters.dropped(.replayed), 0)
    }

    func testTheGuardIsBoundedAndRefusesWhatItCanNoLongerRecognise() {
        var g = ReplayGuard(capacity: 4)
        for i in 0..<4 { XCTAssertTrue(g.admit(tag: UInt64(i), signedMs: 100 + UInt64(i), nowMs: 100, windowMs: 1_000)) }
        XCTAssertFalse(g.admit(tag: 2, signedMs: 102, nowMs: 100, windowMs: 1_000))
        XCTAssertTrue(g.admit(tag: 9, signedMs: 110, nowMs: 100, windowMs: 1_000), "the oldest goes")
        XCTAssertEqual(g.count, 4)
        XCTAssertEqual(g.floorMs, 100)
        XCTAssertFalse(g.admit(tag: 0, signedMs: 100, nowMs: 100, windowMs: 1_000), "an evicted tag's replay is refused by its time")
        XCTAssertTrue(g.admit(tag: 1, signedMs: 5_000, nowMs: 5_000, windowMs: 1_000), "after twice the window everything old is forgotten")
        XCTAssertEqual(g.count, 1)
    }
}
