// RESP2 and RESP3 values, as a client sends and a server replies. See PROTOCOL.md,
// "Client protocol". The RESP3-only cases have a RESP2 form (RESPWriter writes it for a
// connection that has not sent `HELLO 3`), the one Redis 7 uses:
//   null -> $-1   map -> flat array k1 v1 k2 v2 ...   set, push -> array
//   double -> bulk string of the number   boolean -> :1 / :0
//   bigNumber -> bulk string of the digits   verbatim -> bulk string of the text

/// Which protocol a connection speaks: RESP2 until `HELLO 3`.
public enum RESPProtocolVersion: UInt8, Sendable, Equatable {
    case resp2 = 2
    case resp3 = 3
}

/// One key/value entry of a RESP3 map.
public struct RESPPair: Sendable, Equatable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// One RESP value: what the writer encodes and the reply parser decodes.
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
    /// RESP3 `_\r\n`. The writer also sends `nullBulk` and `nullArray` as `_` to a RESP3 connection.
    case null
    /// RESP3 `,1.5\r\n` (`inf`, `-inf`, `nan` included), formatted as Redis 7.0 does (`%.17g`).
    case double(Double)
    /// RESP3 `#t\r\n` / `#f\r\n`.
    case boolean(Bool)
    /// RESP3 `(digits\r\n`: an integer of any size, as decimal ASCII with an optional `-`.
    case bigNumber([UInt8])
    /// RESP3 `=len\r\nfmt:text\r\n`; `format` is three bytes (`txt`, `mkd`).
    case verbatim(format: String, text: [UInt8])
    /// RESP3 `%n\r\n` followed by n key/value pairs.
    case map([RESPPair])
    /// RESP3 `~n\r\n` followed by n values.
    case set([RESPValue])
    /// RESP3 `>n\r\n` followed by n values (out-of-band data; Redis sends it for pub/sub).
    case push([RESPValue])

    /// `+OK`.
    public static let ok = RESPValue.simple("OK")

    /// A bulk string from UTF-8 text (tests, operator commands).
    public static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    /// The bytes of a bulk string, or nil for any other value.
    public var bulkBytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// The text of a bulk (decoded as UTF-8), simple or verbatim string, or nil.
    public var text: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .verbatim(_, let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// A map from text keys (HELLO, CONFIG GET, NS.INFO).
    public static func map(_ pairs: KeyValuePairs<String, RESPValue>) -> RESPValue {
        .map(pairs.map { RESPPair(.bulk($0.key), $0.value) })
    }

    /// Nil in either protocol (`$-1`, `*-1` or `_`).
    public var isNull: Bool {
        switch self {
        case .nullBulk, .nullArray, .null: return true
        default: return false
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

    /// The argument lowercased as ASCII.
    public static func lowercased(_ argument: [UInt8]) -> [UInt8] {
        argument.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 }
    }

    /// The argument uppercased as ASCII (for a switch over a few names).
    public static func uppercased(_ argument: [UInt8]) -> [UInt8] {
        argument.map { ($0 >= 0x61 && $0 <= 0x7A) ? $0 - 0x20 : $0 }
    }
}
