// Bounds-checked byte reading and writing for the versioning formats (RECORDS.md).
// Every read returns nil when the bytes run out or a value is out of range: decoders of
// outside bytes never trap. Varints are LEB128 (7 bits per byte, low group first), at most
// 10 bytes for a UInt64; a 10th byte above 1 (overflow) and a final zero byte after the
// first (an overlong encoding) are rejected, so every value has exactly one encoding.

/// Appends encoded fields to a byte array.
struct VersionWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always) mutating func varint(_ value: Int) { varint(UInt64(value)) }

    @inline(__always) mutating func u32LE(_ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    @inline(__always) mutating func u64LE(_ v: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    @inline(__always) mutating func u32BE(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    @inline(__always) mutating func u64BE(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    @inline(__always) mutating func append<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }

    /// A node id: one length byte, then its UTF-8 bytes.
    @inline(__always) mutating func nodeID(_ id: NodeID) {
        u8(UInt8(truncatingIfNeeded: id.utf8.count))
        bytes.append(contentsOf: id.utf8)
    }

    /// Length-prefixed bytes: varint length, then the bytes.
    @inline(__always) mutating func lengthPrefixed(_ b: [UInt8]) {
        varint(b.count)
        bytes.append(contentsOf: b)
    }
}

/// Reads encoded fields from a byte slice; every read is bounds-checked and returns nil
/// on running out or on an out-of-range value.
struct VersionReader {
    let bytes: ArraySlice<UInt8>
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position >= bytes.endIndex }
    /// Offset from the start of the slice, for error messages.
    var offset: Int { position - bytes.startIndex }

    @inline(__always) mutating func u8() -> UInt8? {
        guard position < bytes.endIndex else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always) mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let b = u8() else { return nil }
            if shift == 63 && b > 1 { return nil }  // would overflow 64 bits
            if b == 0 && shift > 0 { return nil }   // overlong: one value, one encoding
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// A varint that must fit in `0...limit`.
    @inline(__always) mutating func varintInt(limit: Int) -> Int? {
        guard let v = varint(), v <= UInt64(limit) else { return nil }
        return Int(v)
    }

    @inline(__always) mutating func u32LE() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << UInt32(8 * i) }
        position += 4
        return v
    }

    @inline(__always) mutating func u64LE() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << UInt64(8 * i) }
        position += 8
        return v
    }

    /// The next byte without consuming it.
    @inline(__always) func peek() -> UInt8? { position < bytes.endIndex ? bytes[position] : nil }

    @inline(__always) mutating func u32BE() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 { v = (v << 8) | UInt32(bytes[position + i]) }
        position += 4
        return v
    }

    @inline(__always) mutating func u64BE() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v = (v << 8) | UInt64(bytes[position + i]) }
        position += 8
        return v
    }

    @inline(__always) mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, remaining >= n else { return nil }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    /// The rest of the bytes.
    @inline(__always) mutating func rest() -> ArraySlice<UInt8> {
        defer { position = bytes.endIndex }
        return bytes[position...]
    }

    /// A node id: one length byte (1...255), then that many bytes of valid UTF-8.
    @inline(__always) mutating func nodeID() -> NodeID? {
        guard let n = u8(), n > 0, let raw = take(Int(n)) else { return nil }
        return NodeID(validatingUTF8: raw)
    }

    /// Length-prefixed bytes; the length must fit in what remains (so a hostile length
    /// cannot make us allocate more than the input holds).
    @inline(__always) mutating func lengthPrefixed() -> [UInt8]? {
        guard let n = varintInt(limit: remaining), let raw = take(n) else { return nil }
        return Array(raw)
    }
}
