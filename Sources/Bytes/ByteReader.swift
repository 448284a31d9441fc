// A cursor over bytes from outside the process (a peer's message, a record read back,
// a gossip packet, a ring from disk). The decoders built on it never trap on any input.
//
// Contract: every read is bounds-checked and returns nil when the bytes run out or a value
// is out of range. A failed fixed-width read, `take` or `skip` consumes nothing; a failed
// varint consumes the bytes it looked at, so `offset` then points just past the bad byte
// (the error offsets the formats' decoders report, and their tests pin). Varints are
// LEB128 in their minimal spelling only (UnsafeByteReader.canonicalVarint): an overlong or
// overflowing encoding is nil, so every value has one encoding. Integers carry their byte
// order in the method name. A value type: copy it to look ahead.

/// Bounds-checked reads of integers, varints and byte runs from an `ArraySlice<UInt8>`.
public struct ByteReader: Sendable {
    /// The bytes being read; indices are those of the slice it was made from.
    public let bytes: ArraySlice<UInt8>
    /// Index in `bytes` of the next byte to read.
    @inlinable public var position: Int { cursor }
    /// Stored apart from `position` so inlined reads can move it while callers cannot.
    @usableFromInline var cursor: Int

    @inlinable public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.cursor = bytes.startIndex
    }

    @inlinable public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    @inlinable public var remaining: Int { bytes.endIndex - position }
    @inlinable public var isAtEnd: Bool { position >= bytes.endIndex }
    /// Bytes read so far (offset from the start of the slice), for error messages.
    @inlinable public var offset: Int { position - bytes.startIndex }

    @inlinable public mutating func u8() -> UInt8? {
        guard position < bytes.endIndex else { return nil }
        defer { cursor += 1 }
        return bytes[position]
    }

    /// The next byte without consuming it.
    @inlinable public func peek() -> UInt8? { position < bytes.endIndex ? bytes[position] : nil }

    @inlinable public mutating func u16LE() -> UInt16? { fixed(UnsafeByteReader.u16LE, width: 2) }
    @inlinable public mutating func u16BE() -> UInt16? { fixed(UnsafeByteReader.u16BE, width: 2) }
    @inlinable public mutating func u32LE() -> UInt32? { fixed(UnsafeByteReader.u32LE, width: 4) }
    @inlinable public mutating func u32BE() -> UInt32? { fixed(UnsafeByteReader.u32BE, width: 4) }
    @inlinable public mutating func u64LE() -> UInt64? { fixed(UnsafeByteReader.u64LE, width: 8) }
    @inlinable public mutating func u64BE() -> UInt64? { fixed(UnsafeByteReader.u64BE, width: 8) }

    /// A minimal-spelling LEB128 varint of at most 10 bytes.
    @inlinable public mutating func varint() -> UInt64? {
        let start = offset
        var at = start
        let value = bytes.withUnsafeBytes { UnsafeByteReader.decodeVarint($0, scanning: &at, rejectingOverlong: true) }
        cursor += at - start
        return value
    }

    /// A varint that must fit `0...limit`, as an Int (an out-of-range one is consumed).
    @inlinable public mutating func varintInt(limit: Int) -> Int? {
        guard let v = varint(), v <= UInt64(limit) else { return nil }
        return Int(v)
    }

    /// The next `count` bytes, without copying them.
    @inlinable public mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { cursor += count }
        return bytes[position..<(position + count)]
    }

    /// Steps over `count` bytes; false (and no step) if fewer remain.
    @inlinable public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        cursor += count
        return true
    }

    /// Everything not yet read.
    @inlinable public mutating func rest() -> ArraySlice<UInt8> {
        defer { cursor = bytes.endIndex }
        return bytes[position...]
    }

    /// A varint length then that many bytes, copied. The length must fit in what remains,
    /// so a hostile length cannot make the caller allocate more than the input holds.
    @inlinable public mutating func lengthPrefixed() -> [UInt8]? {
        let limit = remaining
        guard let n = varintInt(limit: limit), let raw = take(n) else { return nil }
        return Array(raw)
    }

    /// Every fixed-width read goes through its UnsafeByteReader twin, so each width and
    /// byte order is decoded in one place; the cursor moves only on success.
    @inlinable @inline(__always)
    mutating func fixed<T>(_ read: (UnsafeRawBufferPointer, Int) -> T?, width: Int) -> T? {
        let at = offset
        guard let value = bytes.withUnsafeBytes({ read($0, at) }) else { return nil }
        cursor += width
        return value
    }
}
