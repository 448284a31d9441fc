import Bytes

/// Why an incoming packet or push-pull frame was dropped; each reason has a counter.
public enum DropReason: Int, Sendable, CaseIterable, Error, CustomStringConvertible {
    case malformed = 0
    case truncated
    case oversized
    case badVersion
    /// A secret is set and the packet carries no MAC (or one is carried and none is set).
    case unauthenticated
    case badMAC
    /// The signed timestamp is outside the accepted clock skew (stops old replays).
    case staleTimestamp
    /// Well formed but not for us (a ping naming another node id, an unknown ack).
    case unexpected
    /// An authenticated packet or frame already accepted within the window (ReplayGuard).
    case replayed

    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .truncated: "truncated"
        case .oversized: "oversized"
        case .badVersion: "bad_version"
        case .unauthenticated: "unauthenticated"
        case .badMAC: "bad_mac"
        case .staleTimestamp: "stale_timestamp"
        case .unexpected: "unexpected"
        case .replayed: "replayed"
        }
    }
}

/// Encodes and checks gossip packets and push-pull frames (PROTOCOL.md): header, messages,
/// and with a cluster secret an HMAC-SHA256 trailer over everything before it.
/// Decoding never traps; every rejection is a `DropReason`.
public struct PacketCodec: Sendable {
    public var secret: [UInt8]?
    public var maxPacketBytes: Int
    /// Accepted distance between a signed timestamp and our clock; 0 turns the check off.
    public var maxClockSkewMs: UInt64

    public init(secret: [UInt8]?, maxPacketBytes: Int = 1400, maxClockSkewMs: UInt64 = 120_000) {
        self.secret = (secret?.isEmpty ?? true) ? nil : secret
        self.maxPacketBytes = maxPacketBytes
        self.maxClockSkewMs = maxClockSkewMs
    }

    var trailerBytes: Int { secret == nil ? 0 : HMACSHA256.macBytes }

    /// Header bytes plus the MAC: what a packet costs before any message.
    var packetOverheadBytes: Int { WireFormat.packetHeaderBytes + trailerBytes }

    /// Builds a packet from already-encoded messages.
    func packet(messages: [UInt8], timestampMs: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(WireFormat.packetHeaderBytes + messages.count + trailerBytes)
        out.append(WireFormat.packetMagic.0); out.append(WireFormat.packetMagic.1)
        out.append(WireFormat.version)
        out.append(secret == nil ? 0 : WireFormat.flagAuthenticated)
        out.appendU64BE(timestampMs)
        out.append(contentsOf: messages)
        sign(&out)
        return out
    }

    /// The signed time of a packet or push-pull frame whose MAC `decodePacket` or
    /// `decodePushPull` accepted (bytes 4..<12 of both headers).
    static func signedTimestamp(_ bytes: [UInt8]) -> UInt64? {
        var r = ByteReader(bytes)
        guard r.skip(4) else { return nil }
        return r.u64BE()
    }

    /// Checks and decodes a packet.
    func decodePacket(_ bytes: [UInt8], nowMs: UInt64) throws(DropReason) -> [GossipMessage] {
        guard bytes.count <= maxPacketBytes else { throw .oversized }
        var r = ByteReader(bytes)
        guard let m0 = r.u8(), let m1 = r.u8() else { throw .truncated }
        guard (m0, m1) == WireFormat.packetMagic else { throw .malformed }
        guard let version = r.u8() else { throw .truncated }
        guard version == WireFormat.version else { throw .badVersion }
        guard let flags = r.u8(), let timestampMs = r.u64BE() else { throw .truncated }
        let end = try verify(bytes, flags: flags, timestampMs: timestampMs, nowMs: nowMs, bodyStart: r.offset)
        guard let raw = r.take(end - r.offset) else { throw .truncated }
        var body = ByteReader(raw)
        var skipped = 0
        return try GossipMessage.decodeAll(&body, skipped: &skipped)
    }

    /// Builds a push-pull frame carrying `messages` (members and state values).
    func pushPullFrame(kind: UInt8, messages: [UInt8], timestampMs: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(WireFormat.pushPullHeaderBytes + messages.count + trailerBytes)
        out.append(WireFormat.pushPullMagic.0); out.append(WireFormat.pushPullMagic.1)
        out.append(WireFormat.version)
        out.append(secret == nil ? 0 : WireFormat.flagAuthenticated)
        out.appendU64BE(timestampMs)
        out.append(kind)
        out.appendU32BE(UInt32(messages.count))
        out.append(contentsOf: messages)
        sign(&out)
        return out
    }

    /// From the first `pushPullHeaderBytes` of a stream: how many more bytes to read.
    /// Lets the shell read a frame without trusting a peer's length beyond the bound.
    public func pushPullRemainingBytes(header: [UInt8]) throws(DropReason) -> Int {
        guard header.count >= WireFormat.pushPullHeaderBytes else { throw .truncated }
        guard (header[0], header[1]) == WireFormat.pushPullMagic else { throw .malformed }
        guard header[2] == WireFormat.version else { throw .badVersion }
        var r = ByteReader(header)
        guard r.skip(13), let length = r.u32BE() else { throw .truncated }
        guard Int(length) <= WireFormat.maxPushPullBodyBytes else { throw .oversized }
        let mac = header[3] & WireFormat.flagAuthenticated != 0 ? HMACSHA256.macBytes : 0
        return Int(length) + mac
    }

    /// Checks and decodes a whole push-pull frame: its kind and messages.
    func decodePushPull(_ bytes: [UInt8], nowMs: UInt64) throws(DropReason) -> (kind: UInt8, messages: [GossipMessage]) {
        let remaining = try pushPullRemainingBytes(header: Array(bytes.prefix(WireFormat.pushPullHeaderBytes)))
        guard bytes.count == WireFormat.pushPullHeaderBytes + remaining else {
            throw bytes.count < WireFormat.pushPullHeaderBytes + remaining ? .truncated : .malformed
        }
        var r = ByteReader(bytes)
        guard r.skip(3), let flags = r.u8(), let timestampMs = r.u64BE(), let kind = r.u8(), r.skip(4) else { throw .truncated }
        let end = try verify(bytes, flags: flags, timestampMs: timestampMs, nowMs: nowMs, bodyStart: r.offset)
        guard let raw = r.take(end - r.offset) else { throw .truncated }
        var body = ByteReader(raw)
        var skipped = 0
        return (kind, try GossipMessage.decodeAll(&body, skipped: &skipped))
    }

    private func sign(_ out: inout [UInt8]) {
        guard let secret else { return }
        out.append(contentsOf: HMACSHA256.authenticationCode(key: secret, message: out))
    }

    /// Checks the flags, MAC and timestamp; returns where the body ends.
    private func verify(_ bytes: [UInt8], flags: UInt8, timestampMs: UInt64, nowMs: UInt64, bodyStart: Int) throws(DropReason) -> Int {
        guard flags & ~WireFormat.flagAuthenticated == 0 else { throw .malformed }
        let signed = flags & WireFormat.flagAuthenticated != 0
        guard let secret else {
            if signed { throw .unauthenticated }
            return bytes.count
        }
        guard signed else { throw .unauthenticated }
        guard bytes.count >= bodyStart + HMACSHA256.macBytes else { throw .truncated }
        let end = bytes.count - HMACSHA256.macBytes
        let expected = HMACSHA256.authenticationCode(key: secret, message: bytes[0..<end])
        guard HMACSHA256.constantTimeEqual(expected, bytes[end...]) else { throw .badMAC }
        if maxClockSkewMs > 0 {
            let skew = timestampMs > nowMs ? timestampMs - nowMs : nowMs - timestampMs
            guard skew <= maxClockSkewMs else { throw .staleTimestamp }
        }
        return end
    }
}
