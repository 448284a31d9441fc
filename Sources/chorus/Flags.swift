/// A tiny command-line flag parser: `--name value`, `--name=value`, `-h HOST`, booleans,
/// and positional arguments. Unknown flags and bad values are one-line errors (exit code 2).
struct Flags {
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    private(set) var values: [String: [String]] = [:]
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
                    values[name, default: []].append(inline)
                    i += 1
                } else {
                    guard i + 1 < args.count else { throw UsageError(description: "flag --\(name) needs a value") }
                    values[name, default: []].append(args[i + 1])
                    i += 2
                }
            } else {
                throw UsageError(description: "unknown flag \(arg)")
            }
        }
    }

    func string(_ name: String) -> String? { values[name]?.last }
    func strings(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { booleans.contains(name) }

    func int(_ name: String, default value: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let raw = string(name) else { return value }
        guard let parsed = Int(String(raw.filter { $0 != "_" })), range.contains(parsed) else {
            throw UsageError(description: "bad value for --\(name): \(raw) (expected an integer in \(range.lowerBound)...\(range.upperBound))")
        }
        return parsed
    }

    private static func isNumber(_ s: String) -> Bool { Int(s) != nil }
}
