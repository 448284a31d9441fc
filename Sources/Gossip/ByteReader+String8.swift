import Bytes

// The one field of the gossip wire format (PROTOCOL.md) that Bytes does not spell: a node
// id, key or host name as a one-byte length then UTF-8. Integers on the gossip wire are
// big-endian and go through Bytes directly.

extension Array where Element == UInt8 {
    /// A one-byte length then the UTF-8 bytes. Callers guarantee `s.utf8.count <= 255`
    /// (checked where names enter the system); a longer name is cut at 255 bytes.
    mutating func appendString8(_ s: String) {
        let utf8 = Array(s.utf8.prefix(255))
        append(UInt8(utf8.count))
        append(contentsOf: utf8)
    }
}

extension ByteReader {
    /// A string with a one-byte length; nil if truncated or not UTF-8.
    mutating func string8() -> String? {
        guard let n = u8(), let raw = take(Int(n)) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}
