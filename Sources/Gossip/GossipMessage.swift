/// One message inside a gossip packet or push-pull frame (PROTOCOL.md, "Messages").
/// Encoded as type(1) length(2) body; a decoder skips unknown types by their length.
enum GossipMessage: Sendable, Equatable {
    /// Direct probe; `target` is the id the sender believes lives at this address.
    case ping(seq: UInt32, target: String, source: String)
    /// Ask the receiver to probe `target` on our behalf and ack (or nack) to us under `seq`.
    case pingReq(seq: UInt32, target: String, address: Endpoint, wantNack: Bool)
    case ack(seq: UInt32)
    /// A relay could not reach the target in time (Lifeguard: tells the asker its own
    /// network is fine, so it does not blame itself).
    case nack(seq: UInt32)
    /// A membership assertion; `from` names who asserts it (counts suspicion confirmations).
    case member(Member, from: String)
    case state(ClusterStateValue)
    /// A cluster-state value too big for a packet: who lacks it pulls it by push-pull.
    case stateDigest(key: String, version: UInt64, checksum: UInt64)
    /// Sent with the ack of a direct ping: the responder `id`'s wall clock (Unix-epoch
    /// microseconds) as it answered ping `seq`, so the prober can estimate its clock offset.
    case clock(seq: UInt32, id: String, wallUs: UInt64)

    /// Membership or state news (as opposed to probe traffic).
    var isUpdate: Bool {
        switch self {
        case .member, .state, .stateDigest: true
        case .ping, .pingReq, .ack, .nack, .clock: false
        }
    }

    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(0); out.append(0); out.append(0)
        let type: UInt8
        switch self {
        case let .ping(seq, target, source):
            type = WireFormat.typePing
            out.put(seq); out.putString8(target); out.putString8(source)
        case let .pingReq(seq, target, address, wantNack):
            type = WireFormat.typePingReq
            out.put(seq); out.putString8(target); GossipMessage.put(address, into: &out)
            out.put(wantNack ? UInt8(1) : 0)
        case let .ack(seq):
            type = WireFormat.typeAck
            out.put(seq)
        case let .nack(seq):
            type = WireFormat.typeNack
            out.put(seq)
        case let .member(m, from):
            type = WireFormat.typeMember
            out.putString8(m.id); out.putString8(from)
            out.put(m.incarnation); out.put(m.status.rawValue); out.put(m.admin.rawValue)
            for e in [m.gossip, m.peer, m.client, m.http] { GossipMessage.put(e, into: &out) }
        case let .state(v):
            type = WireFormat.typeState
            out.putString8(v.key); out.put(v.version)
            out.append(contentsOf: v.payload)
        case let .stateDigest(key, version, checksum):
            type = WireFormat.typeStateDigest
            out.putString8(key); out.put(version); out.put(checksum)
        case let .clock(seq, id, wallUs):
            type = WireFormat.typeClock
            out.put(seq); out.putString8(id); out.put(wallUs)
        }
        let bodyLength = out.count - start - WireFormat.messageHeaderBytes
        precondition(bodyLength <= WireFormat.maxMessageBodyBytes, "gossip message body over 64 KiB")
        out[start] = type
        out[start + 1] = UInt8(bodyLength >> 8)
        out[start + 2] = UInt8(truncatingIfNeeded: bodyLength)
    }

    var encodedSize: Int {
        var buf = [UInt8]()
        encode(into: &buf)
        return buf.count
    }

    private static func put(_ e: Endpoint, into out: inout [UInt8]) {
        out.putString8(e.host); out.put(e.port)
    }

    private static func endpoint(_ r: inout ByteReader) -> Endpoint? {
        guard let host = r.string8(), let port = r.u16() else { return nil }
        return Endpoint(host: host, port: port)
    }

    /// Decodes every message in `r` up to its end. Unknown types are skipped (counted in
    /// `skipped`); a truncated or malformed message fails the whole batch.
    static func decodeAll(_ r: inout ByteReader, skipped: inout Int) throws(DropReason) -> [GossipMessage] {
        var out: [GossipMessage] = []
        while r.remaining > 0 {
            guard let type = r.u8(), let length = r.u16() else { throw .truncated }
            guard r.remaining >= Int(length) else { throw .truncated }
            var body = ByteReader(r.bytes, offset: r.offset, end: r.offset + Int(length))
            _ = r.skip(Int(length))
            guard let message = try decodeBody(type: type, &body) else {
                skipped += 1
                continue
            }
            guard body.remaining == 0 || type == WireFormat.typeState else { throw .malformed }
            out.append(message)
        }
        return out
    }

    /// nil for an unknown type (to be skipped); throws for a known type with a bad body.
    private static func decodeBody(type: UInt8, _ r: inout ByteReader) throws(DropReason) -> GossipMessage? {
        switch type {
        case WireFormat.typePing:
            guard let seq = r.u32(), let target = r.string8(), let source = r.string8() else { throw .malformed }
            return .ping(seq: seq, target: target, source: source)
        case WireFormat.typePingReq:
            guard let seq = r.u32(), let target = r.string8(), let address = endpoint(&r), let nack = r.u8(), nack <= 1
            else { throw .malformed }
            return .pingReq(seq: seq, target: target, address: address, wantNack: nack == 1)
        case WireFormat.typeAck:
            guard let seq = r.u32() else { throw .malformed }
            return .ack(seq: seq)
        case WireFormat.typeNack:
            guard let seq = r.u32() else { throw .malformed }
            return .nack(seq: seq)
        case WireFormat.typeMember:
            guard let id = r.string8(), !id.isEmpty, let from = r.string8(), let inc = r.u64(),
                  let rawStatus = r.u8(), let status = MemberStatus(rawValue: rawStatus),
                  let rawAdmin = r.u8(), let admin = AdminState(rawValue: rawAdmin),
                  let g = endpoint(&r), let p = endpoint(&r), let c = endpoint(&r), let h = endpoint(&r)
            else { throw .malformed }
            let m = Member(id: id, gossip: g, peer: p, client: c, http: h, incarnation: inc, status: status, admin: admin)
            return .member(m, from: from)
        case WireFormat.typeState:
            guard let key = r.string8(), !key.isEmpty, let version = r.u64(), let payload = r.take(r.remaining)
            else { throw .malformed }
            return .state(ClusterStateValue(key: key, version: version, payload: payload))
        case WireFormat.typeStateDigest:
            guard let key = r.string8(), !key.isEmpty, let version = r.u64(), let checksum = r.u64() else { throw .malformed }
            return .stateDigest(key: key, version: version, checksum: checksum)
        case WireFormat.typeClock:
            guard let seq = r.u32(), let id = r.string8(), !id.isEmpty, let wallUs = r.u64() else { throw .malformed }
            return .clock(seq: seq, id: id, wallUs: wallUs)
        default:
            return nil
        }
    }
}
