#if canImport(Glibc)
import Glibc
#endif

/// Formatting of one log line: logfmt or JSON, with an RFC 3339 UTC timestamp (ms).
enum LogLine {
    static func render(format: LogFormat, ts: String, level: LogLevel, msg: String,
                       context: [(String, String)], fields: [(String, any Sendable)]) -> String {
        switch format {
        case .logfmt:
            var out = "ts=" + ts + " level=" + level.description + " msg=" + quoted(msg)
            for (k, v) in context { out += " " + key(k) + "=" + logfmtValue(v) }
            for (k, v) in fields { out += " " + key(k) + "=" + logfmtValue(text(v)) }
            return out + "\n"
        case .json:
            var out = "{\"ts\":\"" + ts + "\",\"level\":\"" + level.description + "\",\"msg\":" + json(msg)
            for (k, v) in context { out += "," + json(k) + ":" + json(v) }
            for (k, v) in fields { out += "," + json(k) + ":" + jsonValue(v) }
            return out + "}\n"
        }
    }

    /// `2026-12-03T06:40:13.123Z`
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "."
            + pad(Int32(ts.tv_nsec / 1_000_000), 3) + "Z"
    }

    static func text(_ v: any Sendable) -> String {
        switch v {
        case let s as String: return s
        case let s as Substring: return String(s)
        case let c as CustomStringConvertible: return c.description
        default: return String(describing: v)
        }
    }

    /// Keys are identifiers: anything else becomes `_`.
    static func key(_ k: String) -> String {
        String(k.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" ? $0 : "_" })
    }

    /// Bare when it is one plain word, else quoted.
    static func logfmtValue(_ v: String) -> String {
        if v.isEmpty { return "\"\"" }
        let plain = v.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && $0 != "\"" && $0 != "=" && $0 != "\\" }
        return plain ? v : quoted(v)
    }

    /// `"..."` with `\"`, `\\`, `\n`, `\r`, `\t` and other control characters escaped.
    static func quoted(_ v: String) -> String { json(v) }

    static func json(_ v: String) -> String {
        var out = "\""
        for ch in v.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 || ch.value == 0x7f {
                    let hex = String(ch.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    static func jsonValue(_ v: any Sendable) -> String {
        switch v {
        case let b as Bool: return b ? "true" : "false"
        case let i as any BinaryInteger: return String(describing: i)
        case let d as Double where d.isFinite: return String(d)
        default: return json(text(v))
        }
    }
}
