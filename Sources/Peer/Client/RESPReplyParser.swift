// Parses one complete RESP2 or RESP3 value (a reply, for the client) from the front of a
// buffer. RESP3: null `_`, double `,`, boolean `#`, big number `(`, verbatim `=`, blob
// error `!` (read as `.error`), map `%`, set `~`, push `>`. Not parsed (Redis never sends
// them to its clients): attributes `|` and streamed aggregates (`*?`, `$?`).
//
// Unlike RESPParser this is not incremental: it parses from the start each time and returns
// nil when the value is incomplete. A client calls it once per read, and a bulk body is
// skipped by its length (never scanned), so a 16 MiB value costs one length check per read.
// Bounds: bulk length, aggregate length (a map of n pairs counts 2n) and nesting depth;
// nothing here traps on any input.

#if canImport(Glibc)
import Glibc
#endif

/// Decodes RESP2 and RESP3 values (replies) with bounds; throws on malformed input.
public struct RESPReplyParser: Sendable {
    public var maxBulkBytes: Int
    public var maxArrayLength: Int
    public var maxDepth: Int

    public init(maxBulkBytes: Int = 512 << 20, maxArrayLength: Int = 1 << 24, maxDepth: Int = 32) {
        self.maxBulkBytes = maxBulkBytes
        self.maxArrayLength = maxArrayLength
        self.maxDepth = maxDepth
    }

    /// The value at the front of `bytes` and how many bytes it used, or nil if incomplete.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
        let p = bytes.bindMemory(to: UInt8.self)
        var pos = 0
        guard let value = try parseValue(p, &pos, depth: 0) else { return nil }
        return (value, pos)
    }

    /// Convenience over an array.
    public func parse(_ bytes: [UInt8]) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(RESPProtocolError) in try parse(raw) }
        }
        return try result.get()
    }

    /// The line starting at `pos` (without CR LF), advancing `pos` past it; nil if incomplete.
    private func line(_ p: UnsafeBufferPointer<UInt8>, _ pos: inout Int) throws(RESPProtocolError) -> Range<Int>? {
        let start = pos
        guard start < p.count, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + start, 0x0A, p.count - start) else { return nil }
        let lf = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
        guard lf > start, p[lf - 1] == 0x0D else { throw .missingCRLF }
        pos = lf + 1
        return start..<(lf - 1)
    }

    private func integer(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(RESPProtocolError) -> Int64 {
        var i = range.lowerBound
        var negative = false
        if i < range.upperBound && p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < range.upperBound, range.upperBound - i <= 19 else { throw .invalidInteger }
        var value: UInt64 = 0
        while i < range.upperBound {
            let digit = UInt64(p[i]) &- 0x30
            guard digit <= 9 else { throw .invalidInteger }
            value = value * 10 + digit
            i += 1
        }
        if negative {
            guard value <= UInt64(1) << 63 else { throw .invalidInteger }
            return value == UInt64(1) << 63 ? Int64.min : -Int64(value)
        }
        guard value <= UInt64(Int64.max) else { throw .invalidInteger }
        return Int64(value)
    }

    /// A RESP3 double: `inf`, `-inf`, `nan`, or a decimal number with an optional exponent.
    private func double(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(RESPProtocolError) -> Double {
        guard !range.isEmpty, range.count <= 64 else { throw .invalidValue }
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[range]), as: UTF8.self)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        // Swift's Double(String) also takes hex floats and "infinity": allow digits only.
        let allowed = p[range].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 == 0x45 || $0 == 0x65 }
        guard allowed, let d = Double(text), d.isFinite else { throw .invalidValue }
        return d
    }

    private func parseValue(_ p: UnsafeBufferPointer<UInt8>, _ pos: inout Int, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard pos < p.count else { return nil }
        let type = p[pos]
        var cursor = pos + 1
        guard let header = try line(p, &cursor) else { return nil }
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let text = String(decoding: UnsafeBufferPointer(rebasing: p[header]), as: UTF8.self)
            pos = cursor
            return type == UInt8(ascii: "+") ? .simple(text) : .error(text)
        case UInt8(ascii: ":"):
            let n = try integer(p, header)
            pos = cursor
            return .integer(n)
        case UInt8(ascii: "$"):
            let n = try integer(p, header)
            if n == -1 { pos = cursor; return .nullBulk }
            guard n >= 0 && n <= maxBulkBytes else { throw .invalidBulkLength }
            let length = Int(n)
            guard p.count - cursor >= length + 2 else { return nil }
            guard p[cursor + length] == 0x0D && p[cursor + length + 1] == 0x0A else { throw .missingCRLF }
            let bytes = Array(UnsafeBufferPointer(rebasing: p[cursor..<(cursor + length)]))
            pos = cursor + length + 2
            return .bulk(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            let n = try integer(p, header)
            if n == -1 && type == UInt8(ascii: "*") { pos = cursor; return .nullArray }
            let isMap = type == UInt8(ascii: "%")
            guard n >= 0 && n <= (isMap ? maxArrayLength / 2 : maxArrayLength) else { throw .invalidMultibulkLength }
            guard depth < maxDepth else { throw .nestingTooDeep }
            let count = Int(n) * (isMap ? 2 : 1)
            var items: [RESPValue] = []
            // Each element takes at least 3 bytes; do not reserve more than could have arrived.
            items.reserveCapacity(min(count, (p.count - cursor) / 3 + 1))
            for _ in 0..<count {
                guard let item = try parseValue(p, &cursor, depth: depth + 1) else { return nil }
                items.append(item)
            }
            pos = cursor
            switch type {
            case UInt8(ascii: "~"): return .set(items)
            case UInt8(ascii: ">"): return .push(items)
            case UInt8(ascii: "%"):
                return .map(stride(from: 0, to: items.count, by: 2).map { RESPPair(items[$0], items[$0 + 1]) })
            default: return .array(items)
            }
        case UInt8(ascii: "_"):
            guard header.isEmpty else { throw .invalidValue }
            pos = cursor
            return .null
        case UInt8(ascii: "#"):
            guard header.count == 1, p[header.lowerBound] == UInt8(ascii: "t") || p[header.lowerBound] == UInt8(ascii: "f") else {
                throw .invalidValue
            }
            pos = cursor
            return .boolean(p[header.lowerBound] == UInt8(ascii: "t"))
        case UInt8(ascii: ","):
            let d = try double(p, header)
            pos = cursor
            return .double(d)
        case UInt8(ascii: "("):
            let digits = Array(UnsafeBufferPointer(rebasing: p[header]))
            let body = digits.first == UInt8(ascii: "-") ? digits.dropFirst() : digits[...]
            guard !body.isEmpty, body.count <= maxBulkBytes, body.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .invalidValue }
            pos = cursor
            return .bigNumber(digits)
        case UInt8(ascii: "="), UInt8(ascii: "!"):
            let n = try integer(p, header)
            guard n >= 0 && n <= maxBulkBytes else { throw .invalidBulkLength }
            let length = Int(n)
            guard p.count - cursor >= length + 2 else { return nil }
            guard p[cursor + length] == 0x0D && p[cursor + length + 1] == 0x0A else { throw .missingCRLF }
            let body = UnsafeBufferPointer(rebasing: p[cursor..<(cursor + length)])
            pos = cursor + length + 2
            if type == UInt8(ascii: "!") { return .error(String(decoding: body, as: UTF8.self)) }
            guard length >= 4, body[3] == UInt8(ascii: ":") else { throw .invalidValue }
            return .verbatim(format: String(decoding: body[0..<3], as: UTF8.self), text: Array(body[4...]))
        default:
            throw .unknownType(type)
        }
    }
}
