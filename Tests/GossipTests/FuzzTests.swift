import XCTest
@testable import Gossip

/// 100,000 random and mutated packets through the decoder and the core: none may trap,
/// and every rejected one is counted.
final class FuzzTests: XCTestCase {
    func testHundredThousandRandomAndMutatedPacketsNeverTrap() {
        let seed: UInt64 = 0xF022
        var rng = SwimRandom(seed: seed)
        let codec = PacketCodec(secret: nil)
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 7946)), seed: seed)
        let now: UInt64 = 5_000_000_000
        _ = core.start(seeds: [], now: now)
        let m = Member(id: "n2", gossip: Endpoint(host: "10.0.0.2", port: 7946))
        let seeds: [[GossipMessage]] = [
            [.ping(seq: 1, target: "n1", source: "n2"), .member(m, from: "n2")],
            [.pingReq(seq: 2, target: "n3", address: Endpoint(host: "10.0.0.3", port: 1), wantNack: true)],
            [.ack(seq: 3), .nack(seq: 4), .state(ClusterStateValue(key: "ring", version: 1, payload: [1, 2, 3]))],
        ]
        let templates = seeds.map { msgs -> [UInt8] in
            var body = [UInt8]()
            for x in msgs { x.encode(into: &body) }
            return codec.packet(messages: body, timestampMs: now / 1_000_000)
        }
        var accepted = 0
        let total = 100_000
        for i in 0..<total {
            var p: [UInt8]
            if i % 4 == 0 {
                p = (0..<rng.below(1_600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                p = templates[rng.below(templates.count)]
                for _ in 0..<(1 + rng.below(4)) {
                    switch rng.below(4) {
                    case 0 where !p.isEmpty: p[rng.below(p.count)] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: p = Array(p.prefix(rng.below(p.count + 1)))
                    case 2: p.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(p.count + 1))
                    default: p += (0..<rng.below(8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    }
                }
            }
            if (try? codec.decodePacket(p, nowMs: now / 1_000_000)) != nil { accepted += 1 }
            _ = core.onPacket(from: Endpoint(host: "10.0.0.2", port: 7946), bytes: p, now: now)
        }
        XCTAssertEqual(core.counters.packetsReceived, UInt64(total), "seed \(seed)")
        XCTAssertEqual(core.counters.dropped.reduce(0, +) - core.counters.dropped(.unexpected), UInt64(total - accepted), "seed \(seed)")
        XCTAssertGreaterThan(accepted, 0, "mutations never produced a valid packet, seed \(seed)")
        XCTAssertGreaterThan(core.counters.dropped(.truncated), 0, "seed \(seed)")
        XCTAssertGreaterThan(core.counters.dropped(.malformed), 0, "seed \(seed)")
    }

    func testRandomPushPullFramesNeverTrap() {
        let seed: UInt64 = 0xF023
        var rng = SwimRandom(seed: seed)
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 7946)), seed: seed)
        _ = core.start(seeds: [], now: 0)
        let codec = PacketCodec(secret: nil)
        var body = [UInt8]()
        GossipMessage.member(Member(id: "n2", gossip: Endpoint(host: "10.0.0.2", port: 7946)), from: "n2").encode(into: &body)
        let frame = codec.pushPullFrame(kind: WireFormat.pushPullRequest, messages: body, timestampMs: 0)
        var replies = 0
        for _ in 0..<5_000 {
            var f = frame
            f[rng.below(f.count)] = UInt8(truncatingIfNeeded: rng.next())
            if rng.below(3) == 0 { f = Array(f.prefix(rng.below(f.count))) }
            if core.onPushPullRequest(from: Endpoint(host: "10.0.0.2", port: 7946), bytes: f, now: 0).reply != nil { replies += 1 }
        }
        XCTAssertGreaterThan(replies, 0, "seed \(seed)")
        XCTAssertGreaterThan(core.counters.droppedTotal, 0, "seed \(seed)")
    }
}
