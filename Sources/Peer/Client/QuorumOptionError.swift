// The client-facing errors of quorum options. Each `message` is one RESP error line without
// the leading '-' and without CRLF (the RESP writer adds both), and says what to do.
// Words echoed from the client are cut to 32 bytes and non-printable bytes become '?', so an
// error line can never carry CR/LF or a megabyte of junk back.

/// A bad `R`/`W`/`STRICT`/`TIMEOUT` option or a count out of range for the namespace's N.
public enum QuorumOptionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The option word whose value was bad.
    public enum Option: String, Equatable, Sendable {
        case r = "R"
        case w = "W"
        case timeout = "TIMEOUT"
    }

    /// `R` / `W` / `TIMEOUT` was the last word, with no value after it.
    case missingValue(option: Option)
    /// `R` / `W` followed by something other than one, quorum, all or a number.
    case badLevel(option: Option, word: [UInt8])
    /// `TIMEOUT` followed by something other than 1...maxTimeoutMs.
    case badTimeout(word: [UInt8])
    /// The same option twice in one command.
    case duplicate(option: String)
    /// A trailing word that is not an option.
    case unknownOption(word: [UInt8])
    /// R or W resolved outside 1...N.
    case countOutOfRange(option: Option, value: Int, n: Int)
    /// The namespace's N itself is outside 1...QuorumSpec.maxN.
    case replicationOutOfRange(n: Int)

    /// The RESP error text, e.g. `ERR syntax R must be between 1 and N=3`.
    public var message: String {
        switch self {
        case .missingValue(let option):
            return option == .timeout
                ? "ERR syntax TIMEOUT needs a value in milliseconds"
                : "ERR syntax \(option.rawValue) needs a value: one, quorum, all or a number"
        case .badLevel(let option, let word):
            return "ERR syntax \(option.rawValue) takes one, quorum, all or a number, not '\(QuorumOptionError.printable(word))'"
        case .badTimeout(let word):
            return "ERR syntax TIMEOUT takes milliseconds between 1 and \(RequestOptions.maxTimeoutMs), not '\(QuorumOptionError.printable(word))'"
        case .duplicate(let option):
            return "ERR syntax \(option) given twice"
        case .unknownOption(let word):
            return "ERR syntax unexpected argument '\(QuorumOptionError.printable(word))'; options are R, W, STRICT and TIMEOUT"
        case .countOutOfRange(let option, _, let n):
            return "ERR syntax \(option.rawValue) must be between 1 and N=\(n)"
        case .replicationOutOfRange(let n):
            return "ERR syntax N must be between 1 and \(QuorumSpec.maxN), not \(n)"
        }
    }

    public var description: String { message }

    /// Echo of a client word, safe for a one-line error: at most 32 bytes, printable ASCII only.
    static func printable(_ word: [UInt8]) -> String {
        let cut = word.prefix(32).map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "?" }
        return String(cut) + (word.count > 32 ? "..." : "")
    }
}
