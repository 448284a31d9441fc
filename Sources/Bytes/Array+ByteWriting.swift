// The one place Chorus turns integers into bytes: fixed-width integers in either byte
// order, LEB128 varints and varint-length-prefixed bytes, appended to a [UInt8].
// `ByteWriter` wraps these; Storage's hot paths call them on their own buffers directly.
// Everything is @inlinable so a caller in another module compiles to the same code as
// if it were written in place (the LSM engine depended on that before this module).
//
// Encodings (frozen: every format in Chorus is defined in terms of them):
// - uNN LE / BE: exactly NN/8 bytes, least / most significant byte first.
// - varint: LEB128, 7 bits per byte, low group first, high bit set on every byte but the
//   last; always the minimal spelling, so at most 10 bytes for a UInt64.
// - length-prefixed: varint byte count, then the bytes.

extension Array where Element == UInt8 {
    @inlinable public mutating func appendU16LE(_ value: UInt16) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable public mutating func appendU16BE(_ value: UInt16) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    @inlinable public mutating func appendU32LE(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable public mutating func appendU32BE(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    @inlinable public mutating func appendU64LE(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable public mutating func appendU64BE(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends the minimal LEB128 encoding of `value` (1 to 10 bytes).
    @inlinable public mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    /// A count or size as a varint. A negative value is a programmer error and traps.
    @inlinable public mutating func appendVarint(_ value: Int) { appendVarint(UInt64(value)) }

    /// Appends a varint byte count, then the bytes.
    @inlinable public mutating func appendLengthPrefixed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        appendVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    /// Overwrites the 4 bytes at `offset` with `value`, little-endian: for a count or
    /// checksum patched in after the bytes it covers. The caller owns the bounds.
    @inlinable public mutating func storeU32LE(_ value: UInt32, at offset: Int) {
        var v = value
        for i in 0..<4 {
            self[offset + i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
    }
}
