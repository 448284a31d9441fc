// How a peer lays its data out in its one Storage engine (RECORDS.md, "Storage keys").
//
//   data key := 'd' partition:u32BE nsLen:u8 namespace key    -- value: a KeyRecord
//   hint key := 'h' targetLen:u8 target sequence:u64BE        -- value: a hint (node layer)
//   meta key := 'm' name                                      -- value: node metadata
//
// Partition first, then namespace: everything one partition holds, in every namespace, is
// one contiguous range ('d' p .. 'd' p+1), which is what ownership handoff streams and
// what dropping a partition after handoff deletes (one range deletion). Within it each
// namespace is a contiguous sub-range (anti-entropy builds one tree per partition and
// namespace), and namespaces never mix: the length prefix keeps "a" and "ab" apart.
// Integers are big-endian so that byte order is numeric order. Hints are grouped by
// their intended owner so that delivering (and deleting) one node's hints is one range
// scan, oldest first.

import Bytes
import Storage

/// Why bytes are not a well-formed storage key.
public enum StorageKeyError: Error, Equatable, Sendable {
    case empty
    case unknownKeyspace(UInt8)
    case truncated
    case badName
    case trailingBytes
}

/// A decoded Storage key of a peer's engine.
public enum StorageKey: Hashable, Sendable {
    /// A key's record in a namespace and partition.
    case data(partition: UInt32, namespace: [UInt8], key: [UInt8])
    /// A hint held for `target`, numbered in arrival order.
    case hint(target: NodeID, sequence: UInt64)
    /// Node metadata (node id, counter lease, ring, ...).
    case meta(name: [UInt8])

    /// The meta name under which the counter lease is persisted.
    public static let counterLeaseName: [UInt8] = Array("counter-lease".utf8)

    /// The encoded Storage key. A namespace longer than 255 bytes is a programmer error
    /// (namespace names are validated when created).
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .data(let partition, let namespace, let key):
            precondition(namespace.count <= VersionFormat.maxNamespaceBytes, "namespace name too long")
            w.bytes.reserveCapacity(6 + namespace.count + key.count)
            w.u8(VersionFormat.keyspaceData)
            w.u32BE(partition)
            w.u8(UInt8(namespace.count))
            w.append(namespace)
            w.append(key)
        case .hint(let target, let sequence):
            w.u8(VersionFormat.keyspaceHint)
            w.nodeID(target)
            w.u64BE(sequence)
        case .meta(let name):
            w.u8(VersionFormat.keyspaceMeta)
            w.append(name)
        }
        return w.bytes
    }

    /// Shorthand for a data key.
    public static func dataKey(partition: UInt32, namespace: [UInt8], key: [UInt8]) -> [UInt8] {
        StorageKey.data(partition: partition, namespace: namespace, key: key).encode()
    }

    /// Same as `init(decoding:)`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(StorageKeyError) -> StorageKey {
        try StorageKey(decoding: bytes)
    }

    public init(decoding bytes: [UInt8]) throws(StorageKeyError) {
        try self.init(decoding: bytes[...])
    }

    public init(decoding bytes: ArraySlice<UInt8>) throws(StorageKeyError) {
        var r = ByteReader(bytes)
        guard let kind = r.u8() else { throw .empty }
        switch kind {
        case VersionFormat.keyspaceData:
            guard let partition = r.u32BE(), let n = r.u8(), let ns = r.take(Int(n)) else { throw .truncated }
            self = .data(partition: partition, namespace: Array(ns), key: Array(r.rest()))
        case VersionFormat.keyspaceHint:
            guard r.remaining > 0 else { throw .truncated }
            guard let target = r.nodeID() else { throw .badName }
            guard let seq = r.u64BE() else { throw .truncated }
            guard r.isAtEnd else { throw .trailingBytes }
            self = .hint(target: target, sequence: seq)
        case VersionFormat.keyspaceMeta:
            self = .meta(name: Array(r.rest()))
        default:
            throw .unknownKeyspace(kind)
        }
    }

    // MARK: Ranges (start inclusive, end exclusive; nil end = to the end of the store)

    /// Every record of partition `p`, in all namespaces.
    public static func partitionRange(_ p: UInt32) -> KeyRange {
        var start = ByteWriter(capacity: 5)
        start.u8(VersionFormat.keyspaceData)
        start.u32BE(p)
        var end = ByteWriter(capacity: 5)
        if p == UInt32.max {
            end.u8(VersionFormat.keyspaceData + 1)
        } else {
            end.u8(VersionFormat.keyspaceData)
            end.u32BE(p + 1)
        }
        return KeyRange(start: start.bytes, end: end.bytes)
    }

    /// Every record of one namespace in partition `p`.
    public static func namespaceRange(partition p: UInt32, namespace: [UInt8]) -> KeyRange {
        precondition(namespace.count <= VersionFormat.maxNamespaceBytes, "namespace name too long")
        var w = ByteWriter(capacity: 6 + namespace.count)
        w.u8(VersionFormat.keyspaceData)
        w.u32BE(p)
        w.u8(UInt8(namespace.count))
        w.append(namespace)
        return KeyRange.prefix(w.bytes)
    }

    /// Every data record of the store.
    public static var dataRange: KeyRange { KeyRange.prefix([VersionFormat.keyspaceData]) }

    /// Every hint held for `target`, oldest first.
    public static func hintRange(target: NodeID) -> KeyRange {
        var w = ByteWriter()
        w.u8(VersionFormat.keyspaceHint)
        w.nodeID(target)
        return KeyRange.prefix(w.bytes)
    }

    /// Every hint, for all targets.
    public static var allHintsRange: KeyRange { KeyRange.prefix([VersionFormat.keyspaceHint]) }

    /// Every metadata entry.
    public static var metaRange: KeyRange { KeyRange.prefix([VersionFormat.keyspaceMeta]) }
}
