/// Bounds-checked big-endian reads over bytes from the network: every read returns nil
/// when the bytes run out, so a truncated or hostile packet can never trap.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }

    mutating func u8() -> UInt8? {
        guard offset < end else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }

    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }

    /// A string with a one-byte length; nil if truncated or not UTF-8.
    mutating func string8() -> String? {
        guard let n = u8(), let raw = take(Int(n)) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}

/// Big-endian appends, the writing half of `ByteReader`.
extension Array where Element == UInt8 {
    mutating func put(_ v: UInt8) { append(v) }
    mutating func put(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(truncatingIfNeeded: v)) }
    mutating func put(_ v: UInt32) { for i in (0..<4).reversed() { append(UInt8(truncatingIfNeeded: v >> (UInt32(i) * 8))) } }
    mutating func put(_ v: UInt64) { for i in (0..<8).reversed() { append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) } }
    /// Callers guarantee `s.utf8.count <= 255` (checked where names enter the system).
    mutating func putString8(_ s: String) {
        let utf8 = Array(s.utf8.prefix(255))
        append(UInt8(utf8.count))
        append(contentsOf: utf8)
    }
}
