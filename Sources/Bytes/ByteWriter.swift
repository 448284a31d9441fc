// A byte array with the append helpers as methods, for encoders that build one buffer
// from many fields (records, messages, rings). The encodings are those of
// Array+ByteWriting.swift; this type adds nothing to them but a name to pass around.

/// Appends fixed-width integers (either byte order), varints and length-prefixed bytes.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// An empty writer; `capacity` is reserved up front when the size is known.
    @inlinable public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues writing after `bytes`.
    @inlinable public init(appendingTo bytes: [UInt8]) { self.bytes = bytes }

    @inlinable public var count: Int { bytes.count }

    @inlinable public mutating func reserveCapacity(_ minimumCapacity: Int) { bytes.reserveCapacity(minimumCapacity) }

    @inlinable public mutating func u8(_ value: UInt8) { bytes.append(value) }
    @inlinable public mutating func u16LE(_ value: UInt16) { bytes.appendU16LE(value) }
    @inlinable public mutating func u16BE(_ value: UInt16) { bytes.appendU16BE(value) }
    @inlinable public mutating func u32LE(_ value: UInt32) { bytes.appendU32LE(value) }
    @inlinable public mutating func u32BE(_ value: UInt32) { bytes.appendU32BE(value) }
    @inlinable public mutating func u64LE(_ value: UInt64) { bytes.appendU64LE(value) }
    @inlinable public mutating func u64BE(_ value: UInt64) { bytes.appendU64BE(value) }

    /// The minimal LEB128 encoding of `value`.
    @inlinable public mutating func varint(_ value: UInt64) { bytes.appendVarint(value) }

    /// A count or size as a varint. A negative value is a programmer error and traps.
    @inlinable public mutating func varint(_ value: Int) { bytes.appendVarint(value) }

    /// Raw bytes, no length.
    @inlinable public mutating func append<C: Collection>(_ raw: C) where C.Element == UInt8 { bytes.append(contentsOf: raw) }

    /// A varint byte count, then the bytes.
    @inlinable public mutating func lengthPrefixed<C: Collection>(_ raw: C) where C.Element == UInt8 { bytes.appendLengthPrefixed(raw) }
}
