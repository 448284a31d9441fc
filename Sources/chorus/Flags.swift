/// A tiny command-line flag parser: `--name value`, `--name=value`, `-h HOST`, booleans,
/// and positional arguments. Unknown flags and bad values are one-line errors (exit code 2).
struct Flags {
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    private(set) var values: [String: [String]] = [:]
    /// Where each value of `values` came from: "" for the command line, `FILE:LINE` for a
    /// config file (`merging(file:)`), so errors can name it.
    private(set) var origins: [String: [String]] = [:]
    private(set) var positional: [String] = []
    private(set) var booleans: Set<String> = []

    /// `valued` names flags that take a value; `boolean` names flags that do not. Names are
    /// given without dashes; `_` and `-` are interchangeable (`--key_size` = `--key-size`).
    init(_ args: [String], valued: Set<String>, boolean: Set<String> = []) throws {
        var i = 0
        while i < args.count {
            let arg = args[i]
            guard arg.hasPrefix("-"), arg != "-", arg.count > 1, !Flags.isNumber(arg) else {
                positional.append(arg)
                i += 1
                continue
            }
            var name = String(arg.drop(while: { $0 == "-" }))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            name = String(name.map { $0 == "_" ? "-" : $0 })
            if boolean.contains(name) {
                if inline != nil { throw UsageError(description: "flag --\(name) takes no value") }
                booleans.insert(name)
                i += 1
            } else if valued.contains(name) {
                if let inline {
                    append(name, inline, origin: "")
                    i += 1
                } else {
                    guard i + 1 < args.count else { throw UsageError(description: "flag --\(name) needs a value") }
                    append(name, args[i + 1], origin: "")
                    i += 2
                }
            } else {
                throw UsageError(description: "unknown flag \(arg)")
            }
        }
    }

    private mutating func append(_ name: String, _ value: String, origin: String) {
        values[name, default: []].append(value)
        origins[name, default: []].append(origin)
    }

    /// These flags plus a config file's settings for every name the command line did not
    /// give: the command line wins, and a repeatable flag given there replaces the file's list.
    func merging(file settings: [ConfigFile.Setting]) -> Flags {
        var merged = self
        for s in settings where values[s.name] == nil { merged.append(s.name, s.value, origin: s.origin) }
        return merged
    }

    /// How an error names the last value of `name`: `--name` from the command line,
    /// `FILE:LINE: name` from a config file.
    func source(_ name: String) -> (prefix: String, flag: String) {
        let origin = origins[name]?.last ?? ""
        return origin.isEmpty ? ("", "--\(name)") : ("\(origin): ", name)
    }

    /// `bad value for --name: VALUE (why)`, or `FILE:LINE: bad value for name: ...`.
    func badValue(_ name: String, _ why: String) -> UsageError {
        let (prefix, flag) = source(name)
        return UsageError(description: "\(prefix)bad value for \(flag): \(string(name) ?? "") (\(why))")
    }

    /// Like `badValue`, for one value of a repeatable flag (index into `strings(name)`).
    func badValue(_ name: String, at index: Int, _ why: String) -> UsageError {
        let origin = origins[name].map { index < $0.count ? $0[index] : "" } ?? ""
        let value = strings(name).indices.contains(index) ? strings(name)[index] : ""
        return origin.isEmpty ? UsageError(description: "bad value for --\(name): \(value) (\(why))")
                              : UsageError(description: "\(origin): bad value for \(name): \(value) (\(why))")
    }

    func string(_ name: String) -> String? { values[name]?.last }
    func strings(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { booleans.contains(name) }

    func int(_ name: String, default value: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let raw = string(name) else { return value }
        guard let parsed = Int(String(raw.filter { $0 != "_" })), range.contains(parsed) else {
            throw badValue(name, "expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    private static func isNumber(_ s: String) -> Bool { Int(s) != nil }
}
