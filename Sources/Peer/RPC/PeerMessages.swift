// Payloads of the node's peer RPCs (RPC.md, "Node messages"). Each is a small struct with
// `encode()` and a throwing `init(decoding:)`; peer input can make them throw, never trap.

import Bytes

/// A payload that did not decode.
public struct PeerMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "malformed peer message: \(message)" }
}

/// Where a key lives: namespace, partition and the key itself.
public struct KeyAddress: Hashable, Sendable {
    public var namespace: [UInt8]
    public var partition: UInt32
    public var key: [UInt8]

    public init(namespace: [UInt8], partition: UInt32, key: [UInt8]) {
        self.namespace = namespace
        self.partition = partition
        self.key = key
    }

    var storageKey: [UInt8] { StorageKey.dataKey(partition: partition, namespace: namespace, key: key) }

    func encode(into w: inout ByteWriter) {
        w.lengthPrefixed(namespace)
        w.u32BE(partition)
        w.lengthPrefixed(key)
    }

    init(from r: inout ByteReader) throws(PeerMessageError) {
        guard let ns = r.lengthPrefixed(), ns.count <= VersionFormat.maxNamespaceBytes, let p = r.u32BE(), let k = r.lengthPrefixed() else {
            throw PeerMessageError(message: "bad key address")
        }
        namespace = ns
        partition = p
        key = k
    }
}

/// Coordinator -> replica: merge this record (or keep it as a hint for `hintFor`).
public struct ReplicaWriteMessage: Equatable, Sendable {
    public var address: KeyAddress
    public var record: [UInt8]
    public var hintFor: String?

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 32 + record.count)
        address.encode(into: &w)
        w.lengthPrefixed(record)
        if let hintFor {
            w.u8(1)
            w.lengthPrefixed(Array(hintFor.utf8))
        } else {
            w.u8(0)
        }
        return w.bytes
    }

    public init(address: KeyAddress, record: [UInt8], hintFor: String?) {
        self.address = address
        self.record = record
        self.hintFor = hintFor
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        address = try KeyAddress(from: &r)
        guard let rec = r.lengthPrefixed(), let flag = r.u8() else { throw PeerMessageError(message: "bad replica write") }
        record = rec
        if flag == 1 {
            guard let h = r.lengthPrefixed() else { throw PeerMessageError(message: "bad hint target") }
            hintFor = String(decoding: h, as: UTF8.self)
        } else {
            hintFor = nil
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in replica write") }
    }
}

/// Coordinator -> replica: read a key. The answer is `ReplicaReadAnswer`.
public struct ReplicaReadMessage: Equatable, Sendable {
    public var address: KeyAddress

    public init(address: KeyAddress) { self.address = address }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        address.encode(into: &w)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        address = try KeyAddress(from: &r)
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in replica read") }
    }
}

/// A replica's answer to a read: its record bytes, or none.
public enum ReplicaReadAnswer {
    public static func encode(_ record: [UInt8]?) -> [UInt8] {
        guard let record else { return [0] }
        return [1] + record
    }

    public static func decode(_ bytes: [UInt8]) throws(PeerMessageError) -> [UInt8]? {
        guard let first = bytes.first else { throw PeerMessageError(message: "empty read answer") }
        switch first {
        case 0 where bytes.count == 1: return nil
        case 1: return Array(bytes.dropFirst())
        default: throw PeerMessageError(message: "bad read answer")
        }
    }
}

/// Fallback -> owner: records held as hints for it.
public struct HintBatchMessage: Equatable, Sendable {
    public var entries: [(address: KeyAddress, record: [UInt8])]

    public init(entries: [(address: KeyAddress, record: [UInt8])]) { self.entries = entries }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.map(\.address) == b.entries.map(\.address) && a.entries.map(\.record) == b.entries.map(\.record)
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.varint(entries.count)
        for e in entries {
            e.address.encode(into: &w)
            w.lengthPrefixed(e.record)
        }
        return w.bytes
    }

    public static let maxEntries = 10_000

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard let n = r.varintInt(limit: HintBatchMessage.maxEntries) else { throw PeerMessageError(message: "bad hint count") }
        var out: [(KeyAddress, [UInt8])] = []
        for _ in 0..<n {
            let a = try KeyAddress(from: &r)
            guard let rec = r.lengthPrefixed() else { throw PeerMessageError(message: "bad hint record") }
            out.append((a, rec))
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in hint batch") }
        entries = out
    }
}

/// Any peer -> the coordinating primary: a client write to version and replicate there.
public struct ForwardWriteMessage: Equatable, Sendable {
    public var namespace: [UInt8]
    public var key: [UInt8]
    /// nil: a write without a context (SET, DEL).
    public var context: [UInt8]?
    /// nil: a delete (tombstone).
    public var value: [UInt8]?
    public var w: Int
    public var strict: Bool
    public var timeoutMs: Int
    /// The client write's id (0: none): the same write retried at another coordinator
    /// carries the same id, so the two copies fold into one sibling (RECORDS.md).
    public var writeID: UInt64
    /// The last moment, in the receiver's wall clock (Unix ms), at which it may still
    /// coordinate the write: after it the sender may have failed over and answered the
    /// client (ForwardDeadline). 0: no deadline (a sender from before the field).
    public var applyByWallMs: Int64
    /// INCRBY this delta instead of writing a value (flag 32; value and context absent).
    public var increment: Int64?
    /// A read-modify-write to run at the coordinator (flag 64; WriteTransform.swift).
    public var transform: WriteTransform?

    public init(namespace: [UInt8], key: [UInt8], context: [UInt8]?, value: [UInt8]?, w: Int, strict: Bool, timeoutMs: Int,
                writeID: UInt64 = 0, applyByWallMs: Int64 = 0, increment: Int64? = nil, transform: WriteTransform? = nil) {
        self.increment = increment
        self.transform = transform
        self.namespace = namespace
        self.key = key
        self.context = context
        self.value = value
        self.w = w
        self.strict = strict
        self.timeoutMs = timeoutMs
        self.writeID = writeID
        self.applyByWallMs = applyByWallMs
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 48 + key.count + (value?.count ?? 0))
        w.lengthPrefixed(namespace)
        w.lengthPrefixed(key)
        w.u8((context == nil ? 0 : 1) | (value == nil ? 0 : 2) | (strict ? 4 : 0) | (writeID == 0 ? 0 : 8)
             | (applyByWallMs <= 0 ? 0 : 16) | (increment == nil ? 0 : 32) | (transform == nil ? 0 : 64))
        if let context { w.lengthPrefixed(context) }
        if let value { w.lengthPrefixed(value) }
        w.varint(self.w)
        w.varint(timeoutMs)
        if writeID != 0 { w.u64LE(writeID) }
        if applyByWallMs > 0 { w.u64LE(UInt64(applyByWallMs)) }
        if let increment { w.varint(ZigZag.encode(increment)) }
        if let transform { w.lengthPrefixed(transform.encode()) }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard let ns = r.lengthPrefixed(), let k = r.lengthPrefixed(), let flags = r.u8() else {
            throw PeerMessageError(message: "bad forwarded write")
        }
        namespace = ns
        key = k
        context = nil
        value = nil
        if flags & 1 != 0 {
            guard let c = r.lengthPrefixed() else { throw PeerMessageError(message: "bad forwarded context") }
            context = c
        }
        if flags & 2 != 0 {
            guard let v = r.lengthPrefixed() else { throw PeerMessageError(message: "bad forwarded value") }
            value = v
        }
        strict = flags & 4 != 0
        guard flags & ~127 == 0, let w = r.varintInt(limit: 1_000), let t = r.varintInt(limit: RequestOptions.maxTimeoutMs) else {
            throw PeerMessageError(message: "bad forwarded options")
        }
        writeID = 0
        if flags & 8 != 0 {
            guard let id = r.u64LE(), id != 0 else { throw PeerMessageError(message: "bad forwarded write id") }
            writeID = id
        }
        applyByWallMs = 0
        if flags & 16 != 0 {
            guard let t = r.u64LE(), t > 0, t <= UInt64(Int64.max) else { throw PeerMessageError(message: "bad forwarded deadline") }
            applyByWallMs = Int64(t)
        }
        increment = nil
        if flags & 32 != 0 {
            guard flags & 3 == 0, let delta = r.varint() else { throw PeerMessageError(message: "bad forwarded increment") }
            increment = ZigZag.decode(delta)
        }
        transform = nil
        if flags & 64 != 0 {
            guard flags & 32 == 0, let t = r.lengthPrefixed() else { throw PeerMessageError(message: "bad forwarded transform") }
            transform = try WriteTransform(decoding: t)
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in forwarded write") }
        self.w = w
        timeoutMs = t
    }
}

/// The coordinator's answer to a forwarded write: OK (tag 0), the client-facing error line
/// (tag 1), an increment's value (tag 2), or OK with a read-modify-write's reply (tag 3).
public enum ForwardWriteAnswer {
    /// `counter`: an increment's value, sent as `02 value:i64LE` in place of OK; `reply`: a
    /// read-modify-write's reply, sent as `03 reply`.
    public static func encode(_ error: String?, counter: Int64? = nil, reply: TransformReply? = nil) -> [UInt8] {
        if let error { return [1] + Array(error.utf8) }
        if let counter {
            var w = ByteWriter(capacity: 9)
            w.u8(2)
            w.u64LE(UInt64(bitPattern: counter))
            return w.bytes
        }
        guard let reply else { return [0] }
        var w = ByteWriter()
        w.u8(3)
        reply.encode(into: &w)
        return w.bytes
    }

    /// The error line (nil: OK) and the read-modify-write reply, if any.
    public static func decodeWithReply(_ bytes: [UInt8]) throws(PeerMessageError) -> (error: String?, reply: TransformReply?) {
        guard bytes.first == 3 else { return (try decode(bytes), nil) }
        var r = ByteReader(bytes[1...])
        let reply = try TransformReply(from: &r)
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in forward answer") }
        return (nil, reply)
    }

    /// The counter value of an increment's OK answer, nil for any other answer.
    public static func counterValue(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == 9, bytes[0] == 2 else { return nil }
        var r = ByteReader(bytes[1...])
        return r.u64LE().map { Int64(bitPattern: $0) }
    }

    public static func decode(_ bytes: [UInt8]) throws(PeerMessageError) -> String? {
        guard let first = bytes.first else { throw PeerMessageError(message: "empty forward answer") }
        if first == 0 && bytes.count == 1 { return nil }
        if first == 1 { return String(decoding: bytes.dropFirst(), as: UTF8.self) }
        throw PeerMessageError(message: "bad forward answer")
    }
}
