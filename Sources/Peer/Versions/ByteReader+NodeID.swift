import Bytes

// The one field of the versioning formats (RECORDS.md) that Bytes does not spell: a node
// id, as one length byte (1...255) then its UTF-8 bytes. Everything else in those formats
// is a Bytes integer, varint or length-prefixed run.

extension ByteWriter {
    /// A node id: one length byte, then its UTF-8 bytes (a NodeID holds at most 255).
    @inline(__always) mutating func nodeID(_ id: NodeID) {
        u8(UInt8(truncatingIfNeeded: id.utf8.count))
        append(id.utf8)
    }
}

extension ByteReader {
    /// A node id: one length byte (1...255), then that many bytes of valid UTF-8.
    @inline(__always) mutating func nodeID() -> NodeID? {
        guard let n = u8(), n > 0, let raw = take(Int(n)) else { return nil }
        return NodeID(validatingUTF8: raw)
    }
}
