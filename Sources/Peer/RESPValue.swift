// RESP2 values, as a client sends and a server replies. See PROTOCOL.md, "Client protocol (RESP2)".

/// One RESP2 value: what the writer encodes and the reply parser decodes.
///
/// Bulk strings are bytes, never `String`: keys and values are binary.
public enum RESPValue: Sendable, Equatable {
    /// `+text\r\n`; the text must not contain CR or LF (the writer replaces them with spaces).
    case simple(String)
    /// `-text\r\n`, conventionally `CODE message`; CR/LF are replaced like `simple`.
    case error(String)
    /// `:n\r\n`.
    case integer(Int64)
    /// `$len\r\nbytes\r\n`.
    case bulk([UInt8])
    /// `$-1\r\n` (Redis nil).
    case nullBulk
    /// `*n\r\n` followed by n values (may nest).
    case array([RESPValue])
    /// `*-1\r\n`.
    case nullArray

    /// `+OK`.
    public static let ok = RESPValue.simple("OK")

    /// A bulk string from UTF-8 text (tests, operator commands).
    public static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    /// The bytes of a bulk string, or nil for any other value.
    public var bulkBytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// The text of a bulk (decoded as UTF-8) or simple string, or nil.
    public var text: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

/// Helpers for dispatching on command names without building Strings per command.
public enum RESPCommandName {
    /// True when `argument` equals `name` ignoring ASCII case; `name` must be uppercase ASCII.
    @inlinable
    public static func matches(_ argument: [UInt8], _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard argument.count == count else { return false }
        let base = name.utf8Start
        for i in 0..<count {
            var c = argument[i]
            if c >= 0x61 && c <= 0x7A { c -= 0x20 }
            if c != base[i] { return false }
        }
        return true
    }

    /// The argument uppercased as ASCII (for a switch over a few names).
    public static func uppercased(_ argument: [UInt8]) -> [UInt8] {
        argument.map { ($0 >= 0x61 && $0 <= 0x7A) ? $0 - 0x20 : $0 }
    }
}
