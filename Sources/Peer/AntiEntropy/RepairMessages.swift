// Payloads of anti-entropy and ownership handoff (RPC.md, "Repair messages"). Like the
// other node messages: `encode()` and a throwing `init(decoding:)`; bad bytes throw.

import Bytes

extension TreeID {
    func encode(into w: inout ByteWriter) {
        w.lengthPrefixed(namespace)
        w.u32BE(partition)
    }

    init(from r: inout ByteReader) throws(PeerMessageError) {
        guard let ns = r.lengthPrefixed(), !ns.isEmpty, ns.count <= VersionFormat.maxNamespaceBytes, let p = r.u32BE() else {
            throw PeerMessageError(message: "bad tree id")
        }
        self.init(partition: p, namespace: ns)
    }
}

/// Anti-entropy: ask a replica for tree hashes. `inner` nil: the 32 inner hashes; else the
/// 32 leaves under each listed inner node. The answer is `TreeHashesAnswer`.
public struct TreeHashesRequest: Equatable, Sendable {
    public var tree: TreeID
    public var inner: [Int]?

    public init(tree: TreeID, inner: [Int]?) {
        self.tree = tree
        self.inner = inner
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        tree.encode(into: &w)
        if let inner {
            w.u8(1)
            w.varint(inner.count)
            for i in inner { w.varint(i) }
        } else {
            w.u8(0)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        tree = try TreeID(from: &r)
        guard let flag = r.u8() else { throw PeerMessageError(message: "bad tree request") }
        if flag == 1 {
            guard let n = r.varintInt(limit: MerkleTree.innerCount) else { throw PeerMessageError(message: "bad inner count") }
            var out: [Int] = []
            for _ in 0..<n {
                guard let i = r.varintInt(limit: MerkleTree.innerCount - 1) else { throw PeerMessageError(message: "bad inner index") }
                out.append(i)
            }
            inner = out
        } else if flag == 0 {
            inner = nil
        } else {
            throw PeerMessageError(message: "bad tree request flag")
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in tree request") }
    }
}

/// Tree hashes, in the order asked for.
public enum TreeHashesAnswer {
    public static let maxHashes = MerkleTree.segmentCount

    public static func encode(_ hashes: [UInt64]) -> [UInt8] {
        var w = ByteWriter(capacity: 2 + hashes.count * 8)
        w.varint(hashes.count)
        for h in hashes { w.u64BE(h) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(PeerMessageError) -> [UInt64] {
        var r = ByteReader(bytes[...])
        guard let n = r.varintInt(limit: maxHashes) else { throw PeerMessageError(message: "bad hash count") }
        var out: [UInt64] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let h = r.u64BE() else { throw PeerMessageError(message: "truncated hashes") }
            out.append(h)
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in hashes") }
        return out
    }
}

/// Anti-entropy: the initiator's keys and digests in the segments that differ. The replica
/// answers with `SegmentAnswer`: its records the initiator lacks or holds differently, and
/// the keys it wants from the initiator.
public struct SegmentRequest: Sendable {
    public var tree: TreeID
    public var segments: [Int]
    public var entries: [(key: [UInt8], digest: UInt64)]

    public init(tree: TreeID, segments: [Int], entries: [(key: [UInt8], digest: UInt64)]) {
        self.tree = tree
        self.segments = segments
        self.entries = entries
    }

    public static let maxEntries = 1_000_000

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        tree.encode(into: &w)
        w.varint(segments.count)
        for s in segments { w.varint(s) }
        w.varint(entries.count)
        for e in entries {
            w.lengthPrefixed(e.key)
            w.u64BE(e.digest)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        tree = try TreeID(from: &r)
        guard let ns = r.varintInt(limit: MerkleTree.segmentCount) else { throw PeerMessageError(message: "bad segment count") }
        segments = []
        for _ in 0..<ns {
            guard let s = r.varintInt(limit: MerkleTree.segmentCount - 1) else { throw PeerMessageError(message: "bad segment") }
            segments.append(s)
        }
        guard let n = r.varintInt(limit: SegmentRequest.maxEntries) else { throw PeerMessageError(message: "bad entry count") }
        entries = []
        for _ in 0..<n {
            guard let k = r.lengthPrefixed(), let d = r.u64BE() else { throw PeerMessageError(message: "bad segment entry") }
            entries.append((k, d))
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in segment request") }
    }
}

/// The replica's side of a segment comparison.
public struct SegmentAnswer: Sendable {
    /// Records the initiator should merge.
    public var records: [(key: [UInt8], record: [UInt8])]
    /// Keys whose records the initiator should push; `missing` when the replica has none.
    public var wanted: [(key: [UInt8], missing: Bool)]

    public init(records: [(key: [UInt8], record: [UInt8])], wanted: [(key: [UInt8], missing: Bool)]) {
        self.records = records
        self.wanted = wanted
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        KeyedRecords.encode(records, into: &w)
        w.varint(wanted.count)
        for k in wanted {
            w.lengthPrefixed(k.key)
            w.u8(k.missing ? 1 : 0)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        records = try KeyedRecords.decode(from: &r)
        guard let n = r.varintInt(limit: SegmentRequest.maxEntries) else { throw PeerMessageError(message: "bad wanted count") }
        wanted = []
        for _ in 0..<n {
            guard let k = r.lengthPrefixed(), let m = r.u8(), m <= 1 else { throw PeerMessageError(message: "bad wanted key") }
            wanted.append((k, m == 1))
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in segment answer") }
    }
}

/// Ownership handoff: the receiver asks the current owner for the next chunk of a tree's
/// range, after `afterKey` (nil: from the start). The answer is `HandoffChunk`.
public struct HandoffRequest: Equatable, Sendable {
    public var tree: TreeID
    public var afterKey: [UInt8]?
    public var maxKeys: Int
    public var maxBytes: Int

    public init(tree: TreeID, afterKey: [UInt8]?, maxKeys: Int, maxBytes: Int) {
        self.tree = tree
        self.afterKey = afterKey
        self.maxKeys = maxKeys
        self.maxBytes = maxBytes
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        tree.encode(into: &w)
        if let afterKey {
            w.u8(1)
            w.lengthPrefixed(afterKey)
        } else {
            w.u8(0)
        }
        w.varint(maxKeys)
        w.varint(maxBytes)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        tree = try TreeID(from: &r)
        guard let flag = r.u8(), flag <= 1 else { throw PeerMessageError(message: "bad handoff request") }
        if flag == 1 {
            guard let k = r.lengthPrefixed() else { throw PeerMessageError(message: "bad handoff position") }
            afterKey = k
        } else {
            afterKey = nil
        }
        guard let mk = r.varintInt(limit: 1_000_000), let mb = r.varintInt(limit: 1 << 30) else {
            throw PeerMessageError(message: "bad handoff bounds")
        }
        maxKeys = mk
        maxBytes = mb
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in handoff request") }
    }
}

/// One chunk of a handoff stream; `done` when the range ends with it. `remainingBytes`
/// estimates what is left (for the ETA).
public struct HandoffChunk: Sendable {
    public var records: [(key: [UInt8], record: [UInt8])]
    public var done: Bool
    public var remainingBytes: UInt64

    public init(records: [(key: [UInt8], record: [UInt8])], done: Bool, remainingBytes: UInt64) {
        self.records = records
        self.done = done
        self.remainingBytes = remainingBytes
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        KeyedRecords.encode(records, into: &w)
        w.u8(done ? 1 : 0)
        w.varint(remainingBytes)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        records = try KeyedRecords.decode(from: &r)
        guard let d = r.u8(), d <= 1, let rem = r.varint() else { throw PeerMessageError(message: "bad handoff chunk") }
        done = d == 1
        remainingBytes = rem
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in handoff chunk") }
    }
}

/// A list of (key, record bytes) pairs, as both repair answers carry them.
enum KeyedRecords {
    static let maxEntries = 1_000_000

    static func encode(_ records: [(key: [UInt8], record: [UInt8])], into w: inout ByteWriter) {
        w.varint(records.count)
        for e in records {
            w.lengthPrefixed(e.key)
            w.lengthPrefixed(e.record)
        }
    }

    static func decode(from r: inout ByteReader) throws(PeerMessageError) -> [(key: [UInt8], record: [UInt8])] {
        guard let n = r.varintInt(limit: maxEntries) else { throw PeerMessageError(message: "bad record count") }
        var out: [(key: [UInt8], record: [UInt8])] = []
        for _ in 0..<n {
            guard let k = r.lengthPrefixed(), let v = r.lengthPrefixed() else { throw PeerMessageError(message: "bad keyed record") }
            out.append((k, v))
        }
        return out
    }
}
