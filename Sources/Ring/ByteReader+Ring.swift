import Bytes

// The one field of the Ring encodings (FORMAT.md) that Bytes does not spell: a node id or
// namespace name, as a varint byte count then UTF-8. Decoders turn nil into a `RingError`
// naming the offset.

extension ByteWriter {
    /// A varint byte count, then the string's UTF-8.
    mutating func string(_ value: String) {
        lengthPrefixed(Array(value.utf8))
    }
}

extension ByteReader {
    /// A varint length (at most `maxBytes`) then that many bytes of valid UTF-8.
    mutating func string(maxBytes: Int) -> String? {
        guard let count = varintInt(limit: maxBytes), let raw = take(count) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}
