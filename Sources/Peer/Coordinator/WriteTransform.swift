// Read-modify-write commands as the key's coordinating primary runs them (docs/VERSIONS.md,
// "Read-modify-write"). A transform is pure: the stored record and the time in, the value to
// write (or nothing) and the client's reply out. LocalReplica.coordinateWrite runs it under
// the key's stripe lock on exactly the state the new version supersedes, so sequential
// read-modify-writes never create siblings; concurrent ones at different coordinators (a
// partition, a failover) become siblings like any concurrent writes.
//
// A forwarded read-modify-write carries its transform encoded (closures cannot cross the
// wire; RPC.md, "Forwarded writes"):
//
//   transform := version:u8=1 op:u8 fields
//   op 1 set      flags:u8 expiry value:lenPrefixed   flags: bits 0-1 condition (0 always,
//                                                     1 NX, 2 XX), bits 2-3 reply (0 +OK,
//                                                     1 the old value, 2 integer 1/0)
//   op 2 getDel
//   op 3 getEx    expiry                             (keep: a plain read)
//   op 4 append   value:lenPrefixed
//   op 5 setRange offset:varint value:lenPrefixed
//   op 6 expire   atMs:varint conditions:u8          (bits: 1 NX, 2 XX, 4 GT, 8 LT)
//   op 7 persist
//   expiry := 0 (clear) | 1 (keep) | 2 atMs:varint
//
// Expiry times are absolute wall-clock milliseconds, computed from EX/PX/EXPIRE at the peer
// the client sent the command to, as Redis propagates relative expiries as PEXPIREAT.

import Bytes

/// What a read-modify-write decided under the key's lock.
public enum WriteDecision: Equatable, Sendable {
    /// Write this value (or tombstone) with this expiry (0: none).
    case write(SiblingValue, expiresAtMs: UInt64)
    /// Write nothing (the reply is still given).
    case skip
    /// Refuse with this client error line (no leading '-').
    case refuse(String)
}

/// The client reply of a read-modify-write.
public enum TransformReply: Equatable, Sendable {
    case ok
    case null
    case integer(Int64)
    case bulk([UInt8])

    func encode(into w: inout ByteWriter) {
        switch self {
        case .ok: w.u8(0)
        case .null: w.u8(1)
        case .integer(let i):
            w.u8(2)
            w.u64LE(UInt64(bitPattern: i))
        case .bulk(let b):
            w.u8(3)
            w.lengthPrefixed(b)
        }
    }

    init(from r: inout ByteReader) throws(PeerMessageError) {
        switch r.u8() {
        case 0: self = .ok
        case 1: self = .null
        case 2:
            guard let v = r.u64LE() else { throw PeerMessageError(message: "bad transform reply integer") }
            self = .integer(Int64(bitPattern: v))
        case 3:
            guard let b = r.lengthPrefixed() else { throw PeerMessageError(message: "bad transform reply bytes") }
            self = .bulk(b)
        default: throw PeerMessageError(message: "bad transform reply tag")
        }
    }
}

/// A read-modify-write command, in a form that can be sent to the coordinating primary.
public enum WriteTransform: Equatable, Sendable {
    /// SET's conditions.
    public enum Condition: UInt8, Sendable { case always = 0, ifAbsent = 1, ifPresent = 2 }
    /// What SET-like commands answer: `+OK`/nil (SET), the old value (SET GET, GETSET),
    /// or 1/0 (SETNX).
    public enum SetReply: UInt8, Sendable { case ok = 0, old = 1, flag = 2 }
    /// EXPIRE's conditions (Redis 7), each checked on its own as Redis does.
    public struct ExpireConditions: OptionSet, Equatable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let nx = ExpireConditions(rawValue: 1)
        public static let xx = ExpireConditions(rawValue: 2)
        public static let gt = ExpireConditions(rawValue: 4)
        public static let lt = ExpireConditions(rawValue: 8)
    }
    /// What a write does to the key's expiry.
    public enum Expiry: Equatable, Sendable {
        case clear
        case keep
        case at(UInt64)
    }

    case set(value: [UInt8], condition: Condition, reply: SetReply, expiry: Expiry)
    case getDel
    case getEx(Expiry)
    case append([UInt8])
    case setRange(offset: Int, bytes: [UInt8])
    case expire(atMs: UInt64, conditions: ExpireConditions)
    case persist

    static let version1: UInt8 = 1

    /// The transform's decision and reply on `record` at `nowMs`. `writeID` nonzero and held
    /// by a sibling: this write was already applied here (a retried forward), so nothing is
    /// written again. `maxValueBytes` bounds the values APPEND and SETRANGE build.
    public func decide(_ record: KeyRecord?, nowMs: UInt64, writeID: UInt64 = 0, maxValueBytes: Int) -> (WriteDecision, TransformReply) {
        if writeID != 0, case .siblings(let s)? = record, let held = s.siblings.first(where: { $0.writeID == writeID }) {
            return (.skip, appliedReply(held))
        }
        let live = record?.live(atMs: nowMs) ?? []
        if live.count > 1, needsValue {
            return (.refuse("CONFLICT \(live.count) siblings, read them with GETV"), .null)
        }
        let old = live.first
        let oldReply: TransformReply = old.map { .bulk($0.bytes) } ?? .null
        /// A value with an expiry at or before now is written as a tombstone: it reads the same.
        func value(_ bytes: [UInt8], _ expiresAtMs: UInt64) -> WriteDecision {
            expiresAtMs != 0 && expiresAtMs <= nowMs ? .write(.tombstone, expiresAtMs: 0) : .write(.value(bytes), expiresAtMs: expiresAtMs)
        }
        switch self {
        case let .set(bytes, condition, reply, expiry):
            let exists = !live.isEmpty
            let passes = condition == .always || (condition == .ifAbsent) == !exists
            let answer: TransformReply
            switch reply {
            case .ok: answer = passes ? .ok : .null
            case .old: answer = oldReply
            case .flag: answer = .integer(passes ? 1 : 0)
            }
            guard passes else { return (.skip, answer) }
            let at: UInt64
            switch expiry {
            case .clear: at = 0
            case .keep: at = old?.expiresAtMs ?? 0
            case .at(let t): at = t
            }
            return (value(bytes, at), answer)
        case .getDel:
            guard old != nil else { return (.skip, .null) }
            return (.write(.tombstone, expiresAtMs: 0), oldReply)
        case .getEx(let expiry):
            guard let old else { return (.skip, .null) }
            switch expiry {
            case .keep: return (.skip, oldReply)
            case .clear: return (old.expiresAtMs == 0 ? .skip : .write(.value(old.bytes), expiresAtMs: 0), oldReply)
            case .at(let t): return (value(old.bytes, t), oldReply)
            }
        case .append(let suffix):
            let length = (old?.bytes.count ?? 0) + suffix.count
            guard length <= maxValueBytes else { return (.refuse(WriteTransform.tooLarge), .null) }
            return (.write(.value((old?.bytes ?? []) + suffix), expiresAtMs: old?.expiresAtMs ?? 0), .integer(Int64(length)))
        case let .setRange(offset, bytes):
            // Redis: an empty patch changes nothing (and creates no key).
            if bytes.isEmpty { return (.skip, .integer(Int64(old?.bytes.count ?? 0))) }
            guard offset <= maxValueBytes - bytes.count else { return (.refuse(WriteTransform.tooLarge), .null) }
            var patched = old?.bytes ?? []
            if patched.count < offset + bytes.count { patched += [UInt8](repeating: 0, count: offset + bytes.count - patched.count) }
            patched.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return (.write(.value(patched), expiresAtMs: old?.expiresAtMs ?? 0), .integer(Int64(patched.count)))
        case let .expire(at, c):
            guard let old else { return (.skip, .integer(0)) }
            let current = old.expiresAtMs  // 0: none, which counts as infinite for GT and LT
            let fails = (c.contains(.nx) && current != 0) || (c.contains(.xx) && current == 0)
                || (c.contains(.gt) && (current == 0 || at <= current)) || (c.contains(.lt) && current != 0 && at >= current)
            guard !fails else { return (.skip, .integer(0)) }
            return (value(old.bytes, at), .integer(1))
        case .persist:
            guard let old, old.expiresAtMs != 0 else { return (.skip, .integer(0)) }
            return (.write(.value(old.bytes), expiresAtMs: 0), .integer(1))
        }
    }

    static let tooLarge = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

    /// Whether the transform needs the key's one current value (and so refuses siblings).
    var needsValue: Bool {
        switch self {
        case let .set(_, _, reply, expiry): return reply == .old || expiry == .keep
        default: return true
        }
    }

    /// The reply to a retried forward whose write this coordinator already holds as `held`:
    /// what can be read back from the stored sibling (an old value cannot: nil).
    func appliedReply(_ held: Sibling) -> TransformReply {
        switch self {
        case .set(_, _, let reply, _): return reply == .flag ? .integer(1) : (reply == .ok ? .ok : .null)
        case .getDel: return .null
        case .getEx: return held.value.bytes.map { .bulk($0) } ?? .null
        case .append, .setRange: return .integer(Int64(held.value.bytes?.count ?? 0))
        case .expire, .persist: return .integer(1)
        }
    }

    // MARK: Encoding

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(WriteTransform.version1)
        func expiry(_ e: Expiry) {
            switch e {
            case .clear: w.u8(0)
            case .keep: w.u8(1)
            case .at(let t):
                w.u8(2)
                w.varint(t)
            }
        }
        switch self {
        case let .set(value, condition, reply, e):
            w.u8(1)
            w.u8(condition.rawValue | reply.rawValue << 2)
            expiry(e)
            w.lengthPrefixed(value)
        case .getDel: w.u8(2)
        case .getEx(let e):
            w.u8(3)
            expiry(e)
        case .append(let v):
            w.u8(4)
            w.lengthPrefixed(v)
        case let .setRange(offset, bytes):
            w.u8(5)
            w.varint(offset)
            w.lengthPrefixed(bytes)
        case let .expire(at, conditions):
            w.u8(6)
            w.varint(at)
            w.u8(conditions.rawValue)
        case .persist: w.u8(7)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard r.u8() == WriteTransform.version1 else { throw PeerMessageError(message: "unknown transform version") }
        func expiry() throws(PeerMessageError) -> Expiry {
            switch r.u8() {
            case 0: return .clear
            case 1: return .keep
            case 2:
                guard let t = r.varint(), t != 0 else { throw PeerMessageError(message: "bad transform expiry") }
                return .at(t)
            default: throw PeerMessageError(message: "bad transform expiry tag")
            }
        }
        switch r.u8() {
        case 1:
            guard let flags = r.u8(), let condition = Condition(rawValue: flags & 3), let reply = SetReply(rawValue: flags >> 2 & 3),
                  flags & ~15 == 0 else { throw PeerMessageError(message: "bad transform flags") }
            let e = try expiry()
            guard let v = r.lengthPrefixed() else { throw PeerMessageError(message: "bad transform value") }
            self = .set(value: v, condition: condition, reply: reply, expiry: e)
        case 2: self = .getDel
        case 3: self = .getEx(try expiry())
        case 4:
            guard let v = r.lengthPrefixed() else { throw PeerMessageError(message: "bad transform value") }
            self = .append(v)
        case 5:
            guard let offset = r.varintInt(limit: Int(Int32.max)), let v = r.lengthPrefixed() else {
                throw PeerMessageError(message: "bad transform range")
            }
            self = .setRange(offset: offset, bytes: v)
        case 6:
            guard let at = r.varint(), at != 0, let c = r.u8(), c & ~15 == 0 else {
                throw PeerMessageError(message: "bad transform expire")
            }
            self = .expire(atMs: at, conditions: ExpireConditions(rawValue: c))
        case 7: self = .persist
        default: throw PeerMessageError(message: "unknown transform op")
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in transform") }
    }
}
