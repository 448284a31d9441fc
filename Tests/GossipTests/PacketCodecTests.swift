import XCTest
@testable import Gossip

final class PacketCodecTests: XCTestCase {
    private let member = Member(id: "n1", gossip: Endpoint(host: "127.0.0.1", port: 7946),
                                peer: Endpoint(host: "127.0.0.1", port: 7947), client: Endpoint(host: "127.0.0.1", port: 6380),
                                http: Endpoint(host: "127.0.0.1", port: 8080), incarnation: 7, status: .suspect, admin: .joined)

    private var allMessages: [GossipMessage] {
        [.ping(seq: 1, target: "n2", source: "n1"),
         .pingReq(seq: 0xFFFF_FFFF, target: "n3", address: Endpoint(host: "10.0.0.3", port: 1), wantNack: true),
         .ack(seq: 5), .nack(seq: 6),
         .member(member, from: "n9"),
         .state(ClusterStateValue(key: "ring", version: 42, payload: [0, 1, 2, 255]))]
    }

    private func body(_ messages: [GossipMessage]) -> [UInt8] {
        var out = [UInt8]()
        for m in messages { m.encode(into: &out) }
        return out
    }

    func testEveryMessageRoundTripsUnsignedAndSigned() throws {
        for secret in [nil, Array("s3cret".utf8)] {
            let codec = PacketCodec(secret: secret)
            let packet = codec.packet(messages: body(allMessages), timestampMs: 1_000)
            XCTAssertEqual(try codec.decodePacket(packet, nowMs: 1_000), allMessages)
        }
    }

    func testWorkedExampleFromProtocolDocument() throws {
        // PROTOCOL.md, "Worked example": an unsigned packet with one ack.
        let packet = PacketCodec(secret: nil).packet(messages: body([.ack(seq: 5)]), timestampMs: 0x0102)
        XCTAssertEqual(packet, [0x43, 0x47, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x00, 0x04, 0, 0, 0, 5])
    }

    func testPacketSignedWithWrongSecretIsRejectedAsBadMAC() {
        let packet = PacketCodec(secret: Array("wrong".utf8)).packet(messages: body([.ack(seq: 1)]), timestampMs: 5)
        XCTAssertThrowsError(try PacketCodec(secret: Array("right".utf8)).decodePacket(packet, nowMs: 5)) {
            XCTAssertEqual($0 as? DropReason, .badMAC)
        }
    }

    func testCoreIgnoresPacketWithWrongSecret() {
        var c = GossipConfig()
        c.secret = Array("right".utf8)
        var core = SwimCore(config: c, me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 1_000_000_000)
        let intruder = Member(id: "evil", gossip: Endpoint(host: "10.0.0.9", port: 1))
        let packet = PacketCodec(secret: Array("wrong".utf8))
            .packet(messages: body([.ping(seq: 1, target: "n1", source: "evil"), .member(intruder, from: "evil")]), timestampMs: 1_000)
        let actions = core.onPacket(from: intruder.gossip, bytes: packet, now: 1_000_000_000)
        XCTAssertEqual(actions, [])
        XCTAssertNil(core.member("evil"))
        XCTAssertEqual(core.counters.dropped(.badMAC), 1)
    }

    func testUnsignedPacketIsRejectedWhenASecretIsSetAndSignedOneWhenNot() {
        let unsigned = PacketCodec(secret: nil).packet(messages: body([.ack(seq: 1)]), timestampMs: 5)
        let signed = PacketCodec(secret: [1]).packet(messages: body([.ack(seq: 1)]), timestampMs: 5)
        XCTAssertThrowsError(try PacketCodec(secret: [1]).decodePacket(unsigned, nowMs: 5)) { XCTAssertEqual($0 as? DropReason, .unauthenticated) }
        XCTAssertThrowsError(try PacketCodec(secret: nil).decodePacket(signed, nowMs: 5)) { XCTAssertEqual($0 as? DropReason, .unauthenticated) }
    }

    func testReplayedPacketOutsideClockSkewIsStale() {
        let codec = PacketCodec(secret: [1, 2, 3], maxClockSkewMs: 1_000)
        let packet = codec.packet(messages: body([.ack(seq: 1)]), timestampMs: 10_000)
        XCTAssertNoThrow(try codec.decodePacket(packet, nowMs: 10_900))
        XCTAssertThrowsError(try codec.decodePacket(packet, nowMs: 11_001)) { XCTAssertEqual($0 as? DropReason, .staleTimestamp) }
    }

    func testTruncatedOversizedAndUnknownVersionAreDistinguished() {
        let codec = PacketCodec(secret: nil, maxPacketBytes: 100)
        let good = codec.packet(messages: body([.ping(seq: 1, target: "n2", source: "n1")]), timestampMs: 0)
        XCTAssertThrowsError(try codec.decodePacket(Array(good.prefix(good.count - 1)), nowMs: 0)) { XCTAssertEqual($0 as? DropReason, .truncated) }
        XCTAssertThrowsError(try codec.decodePacket(Array(good.prefix(7)), nowMs: 0)) { XCTAssertEqual($0 as? DropReason, .truncated) }
        XCTAssertThrowsError(try codec.decodePacket(good + [UInt8](repeating: 0, count: 100), nowMs: 0)) { XCTAssertEqual($0 as? DropReason, .oversized) }
        var v2 = good
        v2[2] = 2
        XCTAssertThrowsError(try codec.decodePacket(v2, nowMs: 0)) { XCTAssertEqual($0 as? DropReason, .badVersion) }
        var magic = good
        magic[0] = 0
        XCTAssertThrowsError(try codec.decodePacket(magic, nowMs: 0)) { XCTAssertEqual($0 as? DropReason, .malformed) }
    }

    func testUnknownMessageTypeIsSkippedByItsLength() throws {
        let codec = PacketCodec(secret: nil)
        var messages: [UInt8] = [200, 0, 3, 9, 9, 9]
        GossipMessage.ack(seq: 3).encode(into: &messages)
        XCTAssertEqual(try codec.decodePacket(codec.packet(messages: messages, timestampMs: 0), nowMs: 0), [.ack(seq: 3)])
    }

    func testKnownMessageWithTrailingBytesIsMalformed() {
        let codec = PacketCodec(secret: nil)
        let messages: [UInt8] = [WireFormat.typeAck, 0, 5, 0, 0, 0, 1, 7]
        XCTAssertThrowsError(try codec.decodePacket(codec.packet(messages: messages, timestampMs: 0), nowMs: 0)) {
            XCTAssertEqual($0 as? DropReason, .malformed)
        }
    }

    func testPushPullFrameRoundTripsAndRejectsHugeLength() throws {
        let codec = PacketCodec(secret: Array("k".utf8))
        let frame = codec.pushPullFrame(kind: WireFormat.pushPullReply, messages: body(allMessages), timestampMs: 9)
        let decoded = try codec.decodePushPull(frame, nowMs: 9)
        XCTAssertEqual(decoded.kind, WireFormat.pushPullReply)
        XCTAssertEqual(decoded.messages, allMessages)
        XCTAssertEqual(try codec.pushPullRemainingBytes(header: Array(frame.prefix(WireFormat.pushPullHeaderBytes))),
                       frame.count - WireFormat.pushPullHeaderBytes)
        var huge = Array(frame.prefix(WireFormat.pushPullHeaderBytes))
        huge[13] = 0xFF
        XCTAssertThrowsError(try codec.pushPullRemainingBytes(header: huge)) { XCTAssertEqual($0 as? DropReason, .oversized) }
        XCTAssertThrowsError(try codec.decodePushPull(Array(frame.dropLast()), nowMs: 9)) { XCTAssertEqual($0 as? DropReason, .truncated) }
    }

    func testNamesLongerThan255BytesAreRejectedByEndpointParsing() {
        XCTAssertNil(Endpoint(parsing: String(repeating: "a", count: 256) + ":1"))
        XCTAssertNil(Endpoint(parsing: "host:70000"))
        XCTAssertNil(Endpoint(parsing: "host"))
        XCTAssertEqual(Endpoint(parsing: "127.0.0.2:7946"), Endpoint(host: "127.0.0.2", port: 7946))
        XCTAssertEqual(Endpoint(parsing: "[::1]:7946"), Endpoint(host: "::1", port: 7946))
        XCTAssertNil(Endpoint(parsing: "[]:7946"))
    }
}
