// The RESP3 types (https://github.com/redis/redis-specifications, RESP3.md) and the RESP2
// form of each, as Redis 7 sends them to a connection that has not sent `HELLO 3`:
//
//   type       RESP3                       RESP2
//   null       _\r\n                       $-1\r\n  (nullArray stays *-1 in RESP2)
//   double     ,<%.17g>\r\n                $len\r\n<%.17g>\r\n   (inf, -inf, nan as text)
//   boolean    #t\r\n  #f\r\n              :1\r\n  :0\r\n
//   big number (<digits>\r\n               $len\r\n<digits>\r\n
//   verbatim   =len\r\ntxt:<text>\r\n      $len\r\n<text>\r\n   (len counts "txt:")
//   map        %n\r\n k1 v1 ... kn vn      *2n\r\n k1 v1 ... kn vn
//   set        ~n\r\n v1 ... vn            *n\r\n v1 ... vn
//   push       >n\r\n v1 ... vn            *n\r\n v1 ... vn
//
// A RESP3 connection also gets `_` for every nil: `nullBulk` and `nullArray` are RESP2's
// two spellings of the one RESP3 null.

#if canImport(Glibc)
import Glibc
#endif

extension RESPWriter {
    /// Appends the encoding of `value` in `version` (recursively for aggregates).
    public static func append(_ value: RESPValue, to out: inout [UInt8], protocol version: RESPProtocolVersion) {
        let resp3 = version == .resp3
        switch value {
        case .simple(let text): appendSimple(text, to: &out)
        case .error(let text): appendError(text, to: &out)
        case .integer(let n): appendInteger(n, to: &out)
        case .bulk(let bytes): appendBulk(bytes, to: &out)
        case .nullBulk, .null:
            if resp3 { appendNull(to: &out) } else { appendNullBulk(to: &out) }
        case .nullArray:
            if resp3 { appendNull(to: &out) } else { appendNullArray(to: &out) }
        case .array(let items):
            appendArrayHeader(items.count, to: &out)
            for item in items { append(item, to: &out, protocol: version) }
        case .double(let d):
            if resp3 {
                out.append(UInt8(ascii: ","))
                appendDoubleText(d, to: &out)
                appendCRLF(to: &out)
            } else {
                var text: [UInt8] = []
                appendDoubleText(d, to: &text)
                appendBulk(text, to: &out)
            }
        case .boolean(let b):
            if resp3 {
                out.append(contentsOf: b ? [0x23, 0x74, 0x0D, 0x0A] as [UInt8] : [0x23, 0x66, 0x0D, 0x0A])
            } else {
                appendInteger(b ? 1 : 0, to: &out)
            }
        case .bigNumber(let digits):
            if resp3 {
                out.append(UInt8(ascii: "("))
                out.append(contentsOf: digits)
                appendCRLF(to: &out)
            } else {
                appendBulk(digits, to: &out)
            }
        case .verbatim(let format, let text):
            if resp3 {
                var tag = Array(format.utf8)
                if tag.count != 3 { tag = Array("txt".utf8) }
                out.append(UInt8(ascii: "="))
                appendDecimal(Int64(text.count + 4), to: &out)
                appendCRLF(to: &out)
                out.append(contentsOf: tag)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: text)
                appendCRLF(to: &out)
            } else {
                appendBulk(text, to: &out)
            }
        case .map(let pairs):
            if resp3 {
                appendHeader(UInt8(ascii: "%"), pairs.count, to: &out)
            } else {
                appendArrayHeader(pairs.count * 2, to: &out)
            }
            for pair in pairs {
                append(pair.key, to: &out, protocol: version)
                append(pair.value, to: &out, protocol: version)
            }
        case .set(let items), .push(let items):
            if resp3 {
                let tag: UInt8
                if case .set = value { tag = UInt8(ascii: "~") } else { tag = UInt8(ascii: ">") }
                appendHeader(tag, items.count, to: &out)
            } else {
                appendArrayHeader(items.count, to: &out)
            }
            for item in items { append(item, to: &out, protocol: version) }
        }
    }

    /// Appends RESP3 `_\r\n`.
    @inlinable
    public static func appendNull(to out: inout [UInt8]) {
        out.append(contentsOf: [0x5F, 0x0D, 0x0A] as [UInt8])
    }

    /// Appends the nil of `version`: `$-1\r\n` or `_\r\n`.
    @inlinable
    public static func appendNil(to out: inout [UInt8], protocol version: RESPProtocolVersion) {
        if version == .resp3 { appendNull(to: &out) } else { appendNullBulk(to: &out) }
    }

    /// Appends `<tag>n\r\n` (an aggregate header: `%`, `~`, `>`).
    static func appendHeader(_ tag: UInt8, _ count: Int, to out: inout [UInt8]) {
        out.append(tag)
        appendDecimal(Int64(count), to: &out)
        appendCRLF(to: &out)
    }

    /// `%.17g`, as Redis 7.0's addReplyDouble (so `3` not `3.0`, `inf`, `-inf`, `nan`).
    static func appendDoubleText(_ d: Double, to out: inout [UInt8]) {
        if d.isNaN { return out.append(contentsOf: Array("nan".utf8)) }
        if d.isInfinite { return out.append(contentsOf: Array((d > 0 ? "inf" : "-inf").utf8)) }
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
            guard let base = buffer.baseAddress else { return }
            let n = withVaList([d]) { vsnprintf(base, 40, "%.17g", $0) }
            guard n > 0 else { return }
            let count = min(Int(n), 39)
            for i in 0..<count { out.append(UInt8(bitPattern: buffer[i])) }
        }
    }
}
