// Reads over a raw buffer at a caller-kept offset, for the LSM engine's hot paths (block
// entries, table footers, WAL headers, version edits, write batches), which already hold an
// UnsafeRawBufferPointer and must not pay for a reader struct or a slice per field.
// `ByteReader` reads through these same functions, so there is one decoder per encoding.
//
// Contract: every function checks its bounds and returns nil when the bytes run out or a
// value is out of range; none traps, whatever the buffer holds or the offset is. A failed
// `varint` or `lengthPrefixed` leaves its `inout` offset where it was; `varintInt` steps
// over a well-formed varint even when it is above the limit (as LevelDB's callers expect
// nothing of the offset after a failure, neither does Storage).
//
// Two varint rules, both kept exactly as the formats have always been read:
// - `varint` is LevelDB's GetVarint64: rejects truncation and anything past 64 bits (a
//   10th byte above 1), but accepts a non-minimal spelling such as [0x80, 0x00] for 0.
//   Storage's files are read this way (its writers only ever write the minimal spelling).
// - `canonicalVarint` also rejects a final zero byte after the first (an overlong
//   spelling), so each value has exactly one encoding: the rule of every network and
//   record format (Ring, Peer), where equal values must be equal bytes.

/// Bounds-checked fixed-width and varint reads from an `UnsafeRawBufferPointer`.
public enum UnsafeByteReader {
    @inlinable public static func u16LE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt16? {
        guard offset >= 0, buf.count - offset >= 2 else { return nil }
        return UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable public static func u16BE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt16? {
        guard offset >= 0, buf.count - offset >= 2 else { return nil }
        return UInt16(bigEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable public static func u32LE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset >= 0, buf.count - offset >= 4 else { return nil }
        return UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable public static func u32BE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset >= 0, buf.count - offset >= 4 else { return nil }
        return UInt32(bigEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable public static func u64LE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard offset >= 0, buf.count - offset >= 8 else { return nil }
        return UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable public static func u64BE(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard offset >= 0, buf.count - offset >= 8 else { return nil }
        return UInt64(bigEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A LEB128 varint at `offset` under LevelDB's rule (a non-minimal spelling is
    /// accepted), advancing `offset` past it.
    @inlinable public static func varint(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var i = offset
        guard let value = decodeVarint(buf, scanning: &i, rejectingOverlong: false) else { return nil }
        offset = i
        return value
    }

    /// A LEB128 varint at `offset` that must be the value's minimal spelling, advancing
    /// `offset` past it.
    @inlinable public static func canonicalVarint(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var i = offset
        guard let value = decodeVarint(buf, scanning: &i, rejectingOverlong: true) else { return nil }
        offset = i
        return value
    }

    /// A varint (LevelDB's rule) that must fit `0...limit`, as an Int.
    @inlinable public static func varintInt(_ buf: UnsafeRawBufferPointer, at offset: inout Int, limit: Int = Int(Int32.max)) -> Int? {
        guard let v = varint(buf, at: &offset), v <= UInt64(limit) else { return nil }
        return Int(v)
    }

    /// A varint length (LevelDB's rule, at most Int32.max) then that many bytes.
    @inlinable public static func lengthPrefixed(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> [UInt8]? {
        var o = offset
        guard let n = varintInt(buf, at: &o), buf.count - o >= n else { return nil }
        offset = o + n
        return Array(buf[o..<(o + n)])
    }

    /// The one varint decoder. `i` ends just past the last byte looked at, also on
    /// failure (ByteReader reports error offsets from there). `rejectingOverlong` is a
    /// constant at every call site, so each inlined copy keeps only the checks its rule needs.
    @inlinable @inline(__always)
    static func decodeVarint(_ buf: UnsafeRawBufferPointer, scanning i: inout Int, rejectingOverlong: Bool) -> UInt64? {
        guard i >= 0 else { return nil }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while i < buf.count, shift <= 63 {
            let byte = buf[i]
            i += 1
            // The tenth byte may carry only the top bit of a UInt64.
            if shift == 63 && byte > 1 { return nil }
            // A zero final group after the first spells a smaller value the long way.
            if rejectingOverlong && byte == 0 && shift > 0 { return nil }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
}
