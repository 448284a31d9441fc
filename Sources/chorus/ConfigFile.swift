#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `chorus serve --config FILE` (SPEC section 2): one flag per line as `name value`, the
/// flag's name without dashes (`sync always`, `seed 127.0.0.1:7946`); blank lines and lines
/// starting with `#` are ignored, and ` #` after a value starts a comment. A repeatable flag
/// (`seed`) may appear on several lines. Every problem is one line naming the file and the
/// line: `FILE:LINE: unknown setting 'foo'`. Values are checked by the same code as the
/// command line's, which names the line too (`Flags.badValue`).
enum ConfigFile {
    /// One `name value` line.
    struct Setting: Equatable {
        let name: String
        let value: String
        /// `FILE:LINE`, for error messages.
        let origin: String
    }

    /// Bound on a config file; anything larger is certainly not one.
    static let maxBytes = 1 << 20

    /// Reads and parses `path`; `known` are the names a line may set.
    static func load(_ path: String, known: Set<String>) throws(Flags.UsageError) -> [Setting] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file"
            throw Flags.UsageError(description: "cannot read config file \(path): \(reason)")
        }
        guard data.count <= maxBytes else {
            throw Flags.UsageError(description: "config file \(path) is larger than \(maxBytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Flags.UsageError(description: "config file \(path) is not UTF-8 text")
        }
        return try parse(text, path: path, known: known)
    }

    static func parse(_ text: String, path: String, known: Set<String>) throws(Flags.UsageError) -> [Setting] {
        var settings: [Setting] = []
        // "\r\n" is one Character in Swift: split on both, so CRLF files read line by line.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (i, raw) in lines.enumerated() {
            let origin = "\(path):\(i + 1)"
            var line = raw
            if let comment = commentStart(line) { line = line[..<comment] }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
            if line.isEmpty { continue }
            let nameEnd = line.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? line.endIndex
            var name = String(line[..<nameEnd])
            // `--sync always` reads as `sync always`; `_` and `-` are the same, as on the command line.
            name = String(name.drop(while: { $0 == "-" }).map { $0 == "_" ? "-" : $0 })
            let value = String(line[nameEnd...].drop(while: { $0 == " " || $0 == "\t" }))
            guard known.contains(name) else {
                let hint = name == "config" ? " (a config file cannot name another)" : ""
                throw Flags.UsageError(description: "\(origin): unknown setting '\(name)'\(hint)")
            }
            guard !value.isEmpty else { throw Flags.UsageError(description: "\(origin): \(name) needs a value") }
            settings.append(Setting(name: name, value: value, origin: origin))
        }
        return settings
    }

    /// A `#` at the start of the line or after a space or tab starts a comment.
    private static func commentStart(_ line: Substring) -> Substring.Index? {
        var previous: Character = " "
        for i in line.indices {
            if line[i] == "#", previous == " " || previous == "\t" { return i }
            previous = line[i]
        }
        return nil
    }
}
