// The client-visible encoding of a context (RECORDS.md, "Contexts"):
//
//   context := ""                                  -- no context (empty vector)
//            | version=0x01 count:varint entry{count}
//   entry   := idLength:u8 id:bytes counter:varint -- sorted by id bytes, counter > 0
//
// Opaque to clients; RESP is binary-safe so no base64. The decoder is strict (sorted,
// unique, non-zero, no trailing bytes) so that one vector has exactly one encoding, and
// bounded (at most VersionFormat.maxVectorEntries entries of at most 255-byte ids).

import Bytes

/// Why a context (or the vector inside a record) did not decode. The client sees
/// `-ERR bad context`.
public enum ContextError: Error, Equatable, Sendable {
    case unknownVersion(UInt8)
    /// The bytes ran out, or a varint at `offset` is malformed (overlong or > 64 bits).
    case truncated(offset: Int)
    case tooManyEntries(Int)
    case badNodeID(offset: Int)
    case zeroCounter(offset: Int)
    case notSorted(offset: Int)
    case trailingBytes(offset: Int)
}

extension VersionVector {
    /// The opaque context bytes a client gets from GETV and sends back with PUTV/DELV.
    /// The empty vector encodes as no bytes at all.
    public func encodeContext() -> [UInt8] {
        if entries.isEmpty { return [] }
        var w = ByteWriter(capacity: 2 + entries.count * 16)
        w.u8(VersionFormat.contextVersion1)
        appendEntries(to: &w)
        return w.bytes
    }

    /// Decodes a context; empty bytes are the empty vector ("no context").
    public init(decodingContext bytes: [UInt8]) throws(ContextError) {
        try self.init(decodingContext: bytes[...])
    }

    public init(decodingContext bytes: ArraySlice<UInt8>) throws(ContextError) {
        if bytes.isEmpty {
            self.init()
            return
        }
        var r = ByteReader(bytes)
        guard let version = r.u8() else { throw .truncated(offset: 0) }
        guard version == VersionFormat.contextVersion1 else { throw .unknownVersion(version) }
        self = try VersionVector.readEntries(from: &r)
        guard r.isAtEnd else { throw .trailingBytes(offset: r.offset) }
    }

    /// `count:varint entry{count}` — shared by contexts and key records.
    func appendEntries(to w: inout ByteWriter) {
        w.varint(entries.count)
        for e in entries {
            w.nodeID(e.actor)
            w.varint(e.counter)
        }
    }

    static func readEntries(from r: inout ByteReader) throws(ContextError) -> VersionVector {
        let countOffset = r.offset
        guard let rawCount = r.varint() else { throw .truncated(offset: countOffset) }
        guard rawCount <= UInt64(VersionFormat.maxVectorEntries) else { throw .tooManyEntries(Int(clamping: rawCount)) }
        let count = Int(rawCount)
        // Each entry takes at least 3 bytes, so a count the input cannot hold is truncation,
        // found before reserving anything.
        guard count * 3 <= r.remaining else { throw .truncated(offset: countOffset) }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let at = r.offset
            guard r.remaining > 0 else { throw .truncated(offset: at) }
            guard let actor = r.nodeID() else {
                throw r.isAtEnd ? .truncated(offset: at) : .badNodeID(offset: at)
            }
            let counterAt = r.offset
            guard let counter = r.varint() else { throw .truncated(offset: counterAt) }
            guard counter > 0 else { throw .zeroCounter(offset: at) }
            if let last = entries.last, !(last.actor < actor) { throw .notSorted(offset: at) }
            entries.append(Entry(actor: actor, counter: counter))
        }
        return VersionVector(uncheckedSortedEntries: entries)
    }
}
