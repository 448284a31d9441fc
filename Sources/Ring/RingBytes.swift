// Little-endian byte writer and a bounds-checked reader for the Ring encodings. The reader
// never traps: every read returns nil when the bytes run out, and callers turn nil into a
// typed `RingError` naming the offset.

/// Appends little-endian integers, LEB128 varints and length-prefixed strings.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func writeVarint(_ value: Int) { writeVarint(UInt64(value)) }

    mutating func writeString(_ value: String) {
        let utf8 = Array(value.utf8)
        writeVarint(utf8.count)
        bytes.append(contentsOf: utf8)
    }
}

/// Reads what `ByteWriter` wrote; every method returns nil past the end or on a bad varint.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func readByte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= remaining else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readUInt64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        offset += 8
        return value
    }

    /// LEB128, at most 10 bytes; a non-minimal, overlong or overflowing varint is nil.
    mutating func readVarint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let byte = readByte() else { return nil }
            let payload = UInt64(byte & 0x7F)
            if shift == 63 && payload > 1 { return nil }
            value |= payload << shift
            if byte & 0x80 == 0 {
                // A zero final group after the first is a longer spelling of a smaller
                // value; rejecting it keeps every encoding canonical.
                return byte == 0 && shift > 0 ? nil : value
            }
            shift += 7
        }
        return nil
    }

    /// A varint that must fit `0...limit`.
    mutating func readCount(limit: Int) -> Int? {
        guard let raw = readVarint(), raw <= UInt64(limit) else { return nil }
        return Int(raw)
    }

    /// A varint length (at most `maxBytes`) followed by that many bytes of valid UTF-8.
    mutating func readString(maxBytes: Int) -> String? {
        guard let count = readCount(limit: maxBytes), let raw = readBytes(count) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}
