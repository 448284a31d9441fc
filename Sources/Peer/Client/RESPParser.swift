// Incremental RESP2 command parser for the client port. See PROTOCOL.md, "Client protocol (RESP2)".
//
// Contract:
// - Feed bytes with `append` as they arrive; call `next()` until it returns nil (needs more
//   bytes). Each call returns one complete command: its arguments as byte arrays.
// - Partial state is kept across feeds: a half-read bulk is not rescanned, and the search for a
//   line end resumes where it stopped (`scanFrom`), so feeding one byte at a time is linear.
// - Bounds (`RESPLimits`) are checked as soon as a header declares a length, before its bytes
//   arrive, so a client can never make the parser buffer more than one bounded command plus
//   what the server read after it.
// - After a thrown `RESPProtocolError` the parser is poisoned: `next()` rethrows it. The server
//   answers `-ERR protocol error: ...` and closes the connection.
// - Not thread-safe: one parser per connection, used on that connection's loop thread.

#if canImport(Glibc)
import Glibc
#endif

/// Bounds enforced by the command parser; protocol bounds, not the key/value limits of SPEC.
public struct RESPLimits: Sendable, Equatable {
    /// Longest bulk string a client may send (Redis: 512 MiB; values are at most 16 MiB).
    public var maxBulkBytes: Int = 32 << 20
    /// Most arguments in one multibulk command.
    public var maxArrayLength: Int = 1 << 20
    /// Longest inline command line (the telnet form), excluding the line end.
    public var maxInlineBytes: Int = 64 << 10
    /// Most payload bytes (sum of bulk lengths) in one command.
    public var maxCommandBytes: Int = 64 << 20

    public init() {}

    public init(maxBulkBytes: Int = 32 << 20, maxArrayLength: Int = 1 << 20,
                maxInlineBytes: Int = 64 << 10, maxCommandBytes: Int = 64 << 20) {
        self.maxBulkBytes = maxBulkBytes
        self.maxArrayLength = maxArrayLength
        self.maxInlineBytes = maxInlineBytes
        self.maxCommandBytes = maxCommandBytes
    }
}

/// A malformed or over-bound frame; the connection that sent it is closed.
public enum RESPProtocolError: Error, Equatable, Sendable {
    case invalidMultibulkLength
    case invalidBulkLength
    /// A multibulk element did not start with `$`; carries the byte found.
    case expectedBulk(UInt8)
    /// A line or bulk body was not terminated by CR LF.
    case missingCRLF
    /// A `*` or `$` header line longer than any valid number.
    case headerTooLong
    case inlineTooLong
    case unbalancedQuotes
    /// The sum of bulk lengths in one command exceeds `maxCommandBytes`.
    case commandTooLarge
    /// A reply nested deeper than the reply parser allows.
    case nestingTooDeep
    /// A reply started with a byte that is no RESP2 or RESP3 type.
    case unknownType(UInt8)
    case invalidInteger
    /// A RESP3 double, boolean, big number, null or verbatim string that is not well formed.
    case invalidValue

    /// The message after `protocol error: `.
    public var message: String {
        switch self {
        case .invalidMultibulkLength: return "invalid multibulk length"
        case .invalidBulkLength: return "invalid bulk length"
        case .expectedBulk(let byte): return "expected '$', got byte \(byte)"
        case .missingCRLF: return "missing CRLF"
        case .headerTooLong: return "header line too long"
        case .inlineTooLong: return "too big inline request"
        case .unbalancedQuotes: return "unbalanced quotes in request"
        case .commandTooLarge: return "command too large"
        case .nestingTooDeep: return "nesting too deep"
        case .unknownType(let byte): return "unknown type byte \(byte)"
        case .invalidInteger: return "invalid integer"
        case .invalidValue: return "invalid RESP3 value"
        }
    }

    /// The reply the server sends before closing: `ERR protocol error: <message>`.
    /// Exactly SPEC section 5's words; the detail is in `message` (and the server's counters).
    public var replyText: String { "ERR protocol error" }
}

/// Incremental, bounded parser of client commands (multibulk and inline).
public struct RESPParser {
    /// A `*n`/`$n` line never needs more bytes than this (sign, 19 digits, CR).
    static let maxHeaderBytes = 64

    public let limits: RESPLimits

    private var buffer: [UInt8] = []
    /// First unconsumed byte.
    private var pos = 0
    /// Where the next search for LF starts (bytes before it, from `pos`, hold no LF).
    private var scanFrom = 0
    /// Arguments of the multibulk command being read.
    private var arguments: [[UInt8]] = []
    /// Arguments still to read in the current multibulk; 0 between commands.
    private var remaining = 0
    /// Length of the bulk whose body is awaited, or -1 when its `$` header is awaited.
    private var bulkLength = -1
    private var commandBytes = 0
    private var failure: RESPProtocolError?

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// Bytes received and not yet returned as part of a command.
    public var bufferedBytes: Int { buffer.count - pos }

    /// True when no command is partly read (a clean point to close or hand over).
    public var isIdle: Bool { remaining == 0 && pos == buffer.count }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Drops consumed bytes: all of them when everything was consumed (the common case with
    /// pipelined batches), else when they are most of the buffer, so moves stay amortised O(1).
    private mutating func compact() {
        if pos == buffer.count {
            if pos != 0 {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
                pos = 0
                scanFrom = 0
            }
        } else if pos >= 4096 && pos * 2 >= buffer.count {
            buffer.removeSubrange(0..<pos)
            scanFrom -= pos
            pos = 0
        }
    }

    /// The next complete command, or nil when more bytes are needed.
    public mutating func next() throws(RESPProtocolError) -> [[UInt8]]? {
        if let failure { throw failure }
        do {
            return try parseNext()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func parseNext() throws(RESPProtocolError) -> [[UInt8]]? {
        while true {
            if remaining == 0 {
                guard pos < buffer.count else { return nil }
                if buffer[pos] == UInt8(ascii: "*") {
                    guard let n = try readHeaderLine() else { return nil }
                    guard n <= limits.maxArrayLength else { throw .invalidMultibulkLength }
                    if n <= 0 { continue } // `*0` and `*-1` are ignored, as Redis does.
                    remaining = n
                    bulkLength = -1
                    commandBytes = 0
                    arguments = []
                    arguments.reserveCapacity(min(n, 16))
                } else {
                    guard let command = try readInline() else { return nil }
                    if command.isEmpty { continue } // blank lines are ignored.
                    return command
                }
            }
            if bulkLength < 0 {
                guard pos < buffer.count else { return nil }
                let first = buffer[pos]
                guard first == UInt8(ascii: "$") else { throw .expectedBulk(first) }
                guard let n = try readHeaderLine() else { return nil }
                guard n >= 0 && n <= limits.maxBulkBytes else { throw .invalidBulkLength }
                commandBytes += n
                guard commandBytes <= limits.maxCommandBytes else { throw .commandTooLarge }
                bulkLength = n
                // Room for the whole body now, rather than doubling repeatedly while it arrives.
                let needed = pos + n + 2
                if needed > buffer.capacity { buffer.reserveCapacity(needed) }
            }
            let length = bulkLength
            guard buffer.count - pos >= length + 2 else { return nil }
            guard buffer[pos + length] == 0x0D && buffer[pos + length + 1] == 0x0A else {
                throw .missingCRLF
            }
            arguments.append(Array(buffer[pos..<(pos + length)]))
            pos += length + 2
            scanFrom = pos
            bulkLength = -1
            remaining -= 1
            if remaining == 0 {
                let command = arguments
                arguments = []
                return command
            }
        }
    }

    /// Index of the next LF at or after `scanFrom`, or nil (and `scanFrom` moves to the end).
    private mutating func findLineFeed() -> Int? {
        let start = max(scanFrom, pos)
        let count = buffer.count
        guard start < count else { return nil }
        let found: Int? = buffer.withUnsafeBytes { raw in
            guard let base = raw.baseAddress,
                  let hit = memchr(base + start, 0x0A, count - start) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        if found == nil { scanFrom = count }
        return found
    }

    /// Parses the integer of a `*n` or `$n` line at `pos`; nil when the line is incomplete.
    private mutating func readHeaderLine() throws(RESPProtocolError) -> Int? {
        let isArray = buffer[pos] == UInt8(ascii: "*")
        guard let lf = findLineFeed() else {
            if buffer.count - pos > RESPParser.maxHeaderBytes { throw .headerTooLong }
            return nil
        }
        if lf - pos > RESPParser.maxHeaderBytes { throw .headerTooLong }
        guard lf >= pos + 2, buffer[lf - 1] == 0x0D else { throw .missingCRLF }
        let value: Int? = buffer.withUnsafeBufferPointer { p in
            RESPParser.parseInteger(p, from: pos + 1, to: lf - 1)
        }
        guard let value else { throw isArray ? .invalidMultibulkLength : .invalidBulkLength }
        pos = lf + 1
        scanFrom = pos
        return value
    }

    /// A decimal with an optional leading `-`; at most 18 digits, so it cannot overflow.
    static func parseInteger(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        var negative = false
        if i < to && p[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < to, to - i <= 18 else { return nil }
        var value = 0
        while i < to {
            let digit = Int(p[i]) &- 0x30
            guard digit >= 0 && digit <= 9 else { return nil }
            value = value * 10 + digit
            i += 1
        }
        return negative ? -value : value
    }

    /// Reads one inline command line; nil when the line is incomplete.
    private mutating func readInline() throws(RESPProtocolError) -> [[UInt8]]? {
        guard let lf = findLineFeed() else {
            if buffer.count - pos > limits.maxInlineBytes { throw .inlineTooLong }
            return nil
        }
        if lf - pos > limits.maxInlineBytes { throw .inlineTooLong }
        var end = lf
        if end > pos && buffer[end - 1] == 0x0D { end -= 1 }
        let start = pos
        let words = try buffer.withUnsafeBufferPointer { p in
            Result { () throws(RESPProtocolError) in
                try RESPInline.split(UnsafeBufferPointer(rebasing: p[start..<end]))
            }
        }.get()
        pos = lf + 1
        scanFrom = pos
        return words
    }
}
