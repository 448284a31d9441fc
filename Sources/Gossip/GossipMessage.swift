import Bytes

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
            out.appendU32BE(seq); out.appendString8(target); out.appendString8(source)
        case let .pingReq(seq, target, address, wantNack):
            type = WireFormat.typePingReq
            out.appendU32BE(seq); out.appendString8(target); GossipMessage.put(address, into: &out)
            out.append(wantNack ? 1 : 0)
        case let .ack(seq):
            type = WireFormat.typeAck
            out.appendU32BE(seq)
        case let .nack(seq):
            type = WireFormat.typeNack
            out.appendU32BE(seq)
        case let .member(m, from):
            type = WireFormat.typeMember
            out.appendString8(m.id); out.appendString8(from)
            out.appendU64BE(m.incarnation); out.append(m.status.rawValue); out.append(m.admin.rawValue)
            for e in [m.gossip, m.peer, m.client, m.http] { GossipMessage.put(e, into: &out) }
        case let .state(v):
            type = WireFormat.typeState
            out.appendString8(v.key); out.appendU64BE(v.version)
            out.append(contentsOf: v.payload)
        case let .stateDigest(key, version, checksum):
            type = WireFormat.typeStateDigest
            out.appendString8(key); out.appendU64BE(version); out.appendU64BE(checksum)
        case let .clock(seq, id, wallUs):
            type = WireFormat.typeClock
            out.appendU32BE(seq); out.appendString8(id); out.appendU64BE(wallUs)
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
        out.appendString8(e.host); out.appendU16BE(e.port)
    }

    private static func endpoint(_ r: inout ByteReader) -> Endpoint? {
        guard let host = r.string8(), let port = r.u16BE() else { return nil }
        return Endpoint(host: host, port: port)
    }

    /// Decodes every message in `r` up to its end. Unknown types are skipped (counted in
    /// `skipped`); a truncated or malformed message fails the whole batch.
    static func decodeAll(_ r: inout ByteReader, skipped: inout Int) throws(DropReason) -> [GossipMessage] {
        var out: [GossipMessage] = []
        while r.remaining > 0 {
            guard let type = r.u8(), let length = r.u16BE() else { throw .truncated }
            guard let raw = r.take(Int(length)) else { throw .truncated }
            var body = ByteReader(raw)
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
            guard let seq = r.u32BE(), let target = r.string8(), let source = r.string8() else { throw .malformed }
            return .ping(seq: seq, target: target, source: source)
        case WireFormat.typePingReq:
            guard let seq = r.u32BE(), let target = r.string8(), let address = endpoint(&r), let nack = r.u8(), nack <= 1
            else { throw .malformed }
            return .pingReq(seq: seq, target: target, address: address, wantNack: nack == 1)
        case WireFormat.typeAck:
            guard let seq = r.u32BE() else { throw .malformed }
            return .ack(seq: seq)
        case WireFormat.typeNack:
            guard let seq = r.u32BE() else { throw .malformed }
            return .nack(seq: seq)
        case WireFormat.typeMember:
            guard let id = r.string8(), !id.isEmpty, let from = r.string8(), let inc = r.u64BE(),
                  let rawStatus = r.u8(), let status = MemberStatus(rawValue: rawStatus),
                  let rawAdmin = r.u8(), let admin = AdminState(rawValue: rawAdmin),
                  let g = endpoint(&r), let p = endpoint(&r), let c = endpoint(&r), let h = endpoint(&r)
            else { throw .malformed }
            let m = Member(id: id, gossip: g, peer: p, client: c, http: h, incarnation: inc, status: status, admin: admin)
            return .member(m, from: from)
        case WireFormat.typeState:
            guard let key = r.string8(), !key.isEmpty, let version = r.u64BE(), let payload = r.take(r.remaining)
            else { throw .malformed }
            return .state(ClusterStateValue(key: key, version: version, payload: Array(payload)))
        case WireFormat.typeStateDigest:
            guard let key = r.string8(), !key.isEmpty, let version = r.u64BE(), let checksum = r.u64BE() else { throw .malformed }
            return .stateDigest(key: key, version: version, checksum: checksum)
        case WireFormat.typeClock:
            guard let seq = r.u32BE(), let id = r.string8(), !id.isEmpty, let wallUs = r.u64BE() else { throw .malformed }
            return .clock(seq: seq, id: id, wallUs: wallUs)
        default:
            return nil
        }
    }
}
