import Bytes

/// Puts and deletes applied atomically, in order. Its bytes are what the WAL records:
/// `fixed64 sequence, fixed32 count, (type key [value])*` (FORMAT.md, "Write batches").
public struct WriteBatch: Sendable {
    @usableFromInline static let headerSize = 12
    @usableFromInline var rep: [UInt8]

    @inlinable
    public init() {
        rep = [UInt8](repeating: 0, count: WriteBatch.headerSize)
    }

    init(rep: [UInt8]) { self.rep = rep }

    public var count: Int { Int(rep.withUnsafeBytes { UnsafeByteReader.u32LE($0, at: 8) } ?? 0) }
    public var isEmpty: Bool { count == 0 }
    /// Bytes of the encoded batch: a measure for group commit bounds.
    public var byteSize: Int { rep.count }

    var sequence: SequenceNumber {
        get { rep.withUnsafeBytes { UnsafeByteReader.u64LE($0, at: 0) } ?? 0 }
        set {
            var v = newValue
            for i in 0..<8 {
                rep[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
            }
        }
    }

    @inlinable
    mutating func bumpCount() {
        // The count is little-endian at offset 8; carry through the four bytes.
        var i = 8
        while i < 12 {
            rep[i] &+= 1
            if rep[i] != 0 { break }
            i += 1
        }
    }

    @inlinable
    public mutating func put<K: Collection, V: Collection>(_ key: K, _ value: V) where K.Element == UInt8, V.Element == UInt8 {
        bumpCount()
        rep.append(ValueType.value.rawValue)
        rep.appendLengthPrefixed(key)
        rep.appendLengthPrefixed(value)
    }

    @inlinable
    public mutating func delete<K: Collection>(_ key: K) where K.Element == UInt8 {
        bumpCount()
        rep.append(ValueType.deletion.rawValue)
        rep.appendLengthPrefixed(key)
    }

    public mutating func clear() {
        if rep.count >= WriteBatch.headerSize {
            // Keep the storage: drop the records, zero the header in place.
            rep.removeSubrange(WriteBatch.headerSize...)
            _ = rep.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        } else {
            rep = [UInt8](repeating: 0, count: WriteBatch.headerSize)
        }
    }

    /// Appends every record of `other` (used by group commit).
    mutating func append(_ other: WriteBatch) {
        rep.storeU32LE(UInt32(count + other.count), at: 8)
        rep.append(contentsOf: other.rep[WriteBatch.headerSize...])
    }

    /// Calls `body(type, key, value)` for each record in order, with sequence numbers
    /// starting at `sequence`. Throws corruption (naming `file`/`offset`) on malformed bytes.
    /// `sequence` overrides the batch's own (the group commit path, which does not stamp it).
    func forEach(file: String, offset: Int, sequence: SequenceNumber? = nil,
                 _ body: (ValueType, UnsafeRawBufferPointer, UnsafeRawBufferPointer, SequenceNumber) -> Void) throws(StorageError) {
        try rep.withBytes { (buf) throws(StorageError) in
            guard buf.count >= WriteBatch.headerSize, let stored = UnsafeByteReader.u64LE(buf, at: 0), let n = UnsafeByteReader.u32LE(buf, at: 8) else {
                throw .corruption(file: file, offset: offset, reason: "write batch shorter than its header")
            }
            let seq = sequence ?? stored
            var at = WriteBatch.headerSize
            var found: UInt32 = 0
            while at < buf.count {
                let tag = buf[at]
                at += 1
                guard let type = ValueType(rawValue: tag) else {
                    throw .corruption(file: file, offset: offset, reason: "unknown write batch record type \(tag)")
                }
                guard let keyLength = UnsafeByteReader.varintInt(buf, at: &at), at + keyLength <= buf.count else {
                    throw .corruption(file: file, offset: offset, reason: "bad key in write batch")
                }
                let key = UnsafeRawBufferPointer(rebasing: buf[at..<(at + keyLength)])
                at += keyLength
                var value = UnsafeRawBufferPointer(start: nil, count: 0)
                if type == .value {
                    guard let valueLength = UnsafeByteReader.varintInt(buf, at: &at), at + valueLength <= buf.count else {
                        throw .corruption(file: file, offset: offset, reason: "bad value in write batch")
                    }
                    value = UnsafeRawBufferPointer(rebasing: buf[at..<(at + valueLength)])
                    at += valueLength
                }
                body(type, key, value, seq + SequenceNumber(found))
                found += 1
            }
            guard found == n else {
                throw .corruption(file: file, offset: offset, reason: "write batch says \(n) records, holds \(found)")
            }
        }
    }
}
