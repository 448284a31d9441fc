import XCTest
@testable import Gossip

/// Clock offsets measured on probe round trips (ClockOffsets.swift, PROTOCOL.md "clock"),
/// the round-trip hook, and timers that ignore the wall clock.
final class ClockOffsetTests: XCTestCase {
    func testClockMessageMatchesTheProtocolDocument() throws {
        var body = [UInt8]()
        GossipMessage.ack(seq: 5).encode(into: &body)
        GossipMessage.clock(seq: 5, id: "n2", wallUs: 1_700_000_000_123_456).encode(into: &body)
        let packet = PacketCodec(secret: nil).packet(messages: body, timestampMs: 1_700_000_000_123)
        XCTAssertEqual(packet, [
            0x43, 0x47, 0x01, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b,
            0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05,
            0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x05, 0x02, 0x6e, 0x32,
            0x00, 0x06, 0x0a, 0x24, 0x18, 0x20, 0x22, 0x40,
        ])
        XCTAssertEqual(try PacketCodec(secret: nil).decodePacket(packet, nowMs: 1_700_000_000_123),
                       [.ack(seq: 5), .clock(seq: 5, id: "n2", wallUs: 1_700_000_000_123_456)])
    }

    func testMalformedClockMessageDropsThePacket() {
        var body = [UInt8]()
        GossipMessage.ack(seq: 5).encode(into: &body)
        body += [0x08, 0x00, 0x05, 0, 0, 0, 5, 0]  // an empty id, no time
        XCTAssertThrowsError(try PacketCodec(secret: nil).decodePacket(PacketCodec(secret: nil).packet(messages: body, timestampMs: 1), nowMs: 1))
    }

    /// One prober and one target driven by hand: a protocol-1 ack (no clock message) still
    /// counts and still times the round trip; a protocol-2 answer also gives an offset.
    func testProbeAnswersYieldRoundTripsAndOffsetsAndOldAcksStillWork() throws {
        var c = GossipConfig()
        c.gossipNodes = 0
        let target = Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1))
        var core = SwimCore(config: c, me: Member(id: "n0", gossip: Endpoint(host: "10.0.0.0", port: 1)), seed: 3)
        core.preload([target], now: 0)
        _ = core.start(seeds: [], now: 0)
        let codec = PacketCodec(secret: nil)

        func nextPing() throws -> (seq: UInt32, at: UInt64) {
            for _ in 0..<20 {
                let now = core.nextDeadlineNs
                for case let .send(_, bytes) in core.onTick(now: now) {
                    for case let .ping(seq, _, _) in try codec.decodePacket(bytes, nowMs: now / 1_000_000) { return (seq, now) }
                }
            }
            throw DropReason.unexpected
        }

        // Protocol 1: the ack alone.
        let first = try nextPing()
        var body = [UInt8]()
        GossipMessage.ack(seq: first.seq).encode(into: &body)
        let acts = core.onPacket(from: target.gossip, bytes: codec.packet(messages: body, timestampMs: 0), now: first.at + 3_000_000)
        XCTAssertTrue(acts.contains(.roundTrip(member: "n1", rttNs: 3_000_000)))
        XCTAssertEqual(core.counters.probeAcks, 1)
        XCTAssertTrue(core.clockOffsets.isEmpty, "no clock message, no offset")

        // Protocol 2: the target's wall clock is 2 s ahead; our wall clock equals `now`.
        let second = try nextPing()
        let arrive = second.at + 4_000_000
        let targetWallUs = (second.at + 2_000_000) / 1_000 + 2_000_000  // answered half way, 2 s ahead
        body = []
        GossipMessage.ack(seq: second.seq).encode(into: &body)
        GossipMessage.clock(seq: second.seq, id: "n1", wallUs: targetWallUs).encode(into: &body)
        _ = core.onPacket(from: target.gossip, bytes: codec.packet(messages: body, timestampMs: 0), now: arrive)
        let o = try XCTUnwrap(core.clockOffsets["n1"])
        XCTAssertEqual(o.offsetUs, 2_000_000)
        XCTAssertEqual(o.errorUs, 2_000)
        XCTAssertEqual(o.offsetMs, 2_000)

        // A clock message naming another id, or for a stale probe, is ignored.
        body = []
        GossipMessage.clock(seq: second.seq, id: "n9", wallUs: 1).encode(into: &body)
        _ = core.onPacket(from: target.gossip, bytes: codec.packet(messages: body, timestampMs: 0), now: arrive + 1)
        XCTAssertNil(core.clockOffsets["n9"])
        XCTAssertEqual(core.clockOffsets["n1"]?.samples, 1)
    }

    func testPingIsAnsweredWithAckAndTheResponderWallClock() throws {
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 0)
        core.setWallClock(ns: 1_700_000_000_000_000_000, at: 5_000)
        var body = [UInt8]()
        GossipMessage.ping(seq: 9, target: "n1", source: "n0").encode(into: &body)
        let codec = PacketCodec(secret: nil)
        let actions = core.onPacket(from: Endpoint(host: "10.0.0.0", port: 1), bytes: codec.packet(messages: body, timestampMs: 0), now: 1_005_000)
        guard case let .send(_, bytes)? = actions.first else { return XCTFail("no answer") }
        let messages = try codec.decodePacket(bytes, nowMs: 0)
        XCTAssertEqual(Array(messages.prefix(2)), [.ack(seq: 9), .clock(seq: 9, id: "n1", wallUs: 1_700_000_000_001_000)])
        XCTAssertEqual(Array(bytes[4..<12]), [0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x01], "header timestamp: wall ms")
    }

    func testWallClockStepsNeitherFireNorStallTimers() {
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n0", gossip: Endpoint(host: "10.0.0.0", port: 1)), seed: 1)
        core.preload([Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1))], now: 0)
        _ = core.start(seeds: [], now: 0)
        let deadline = core.nextDeadlineNs
        core.setWallClock(ns: 1_700_000_000_000_000_000 + 3_600_000_000_000, at: 10)  // an hour forward
        XCTAssertEqual(core.nextDeadlineNs, deadline)
        core.setWallClock(ns: 1, at: 20)  // far back
        XCTAssertEqual(core.nextDeadlineNs, deadline)
        XCTAssertTrue(core.onTick(now: 20).isEmpty || deadline <= 20, "nothing due before the monotonic deadline")
    }

    /// Five nodes on the simulator, two with skewed wall clocks: every other node's
    /// estimate of each is within its stated error bound of the truth, and the round-trip
    /// hook fires for every pair.
    func testSimulatedClusterEstimatesEveryOffsetWithinItsErrorBound() {
        for seed: UInt64 in [1, 2, 3] {
            let sim = GossipSimulator(seed: seed, network: NetworkProfile(minDelayMs: 1, maxDelayMs: 20))
            sim.addNode()
            for _ in 1..<5 { sim.addNode(seeds: [0]) }
            let truthMs: [Int64] = [0, 0, 2_000, -700, 0]
            for (i, ms) in truthMs.enumerated() where ms != 0 { sim.setClockOffset(i, ms: ms) }
            var roundTrips = Set<[Int]>()
            sim.onRoundTrip = { i, member, rtt in
                if let j = Int(member.dropFirst()), rtt > 0 { roundTrips.insert([i, j]) }
            }
            sim.run(forMs: 30_000)
            for o in 0..<5 {
                let offsets = sim.core(o).clockOffsets
                for s in 0..<5 where s != o {
                    guard let e = offsets["n\(s)"] else { XCTFail("n\(o) has no offset for n\(s), seed \(seed)"); continue }
                    let truthUs = (truthMs[s] - truthMs[o]) * 1_000
                    XCTAssertLessThanOrEqual(abs(e.offsetUs - truthUs), e.errorUs + 1, "n\(o) on n\(s), seed \(seed)")
                    XCTAssertLessThanOrEqual(e.errorUs, 20_000, "error bound is half a round trip, seed \(seed)")
                    XCTAssertTrue(roundTrips.contains([o, s]), "no round trip n\(o) -> n\(s), seed \(seed)")
                }
            }
        }
    }
}
