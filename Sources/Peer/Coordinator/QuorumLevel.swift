// How many replicas a request needs, as a client or a namespace wrote it: `one`, `quorum`,
// `all` or a number. It only becomes a count against a namespace's N (see QuorumSpec),
// because `quorum` of N=3 is 2 and of N=5 is 3. Pure value type; no I/O.

/// A replica count as written by a client (`R quorum`) or a namespace setting, not yet resolved against N.
public enum QuorumLevel: Equatable, Hashable, Sendable, CustomStringConvertible {
    case one
    case quorum
    case all
    /// An explicit number. Parsed as any decimal number; checked against 1...N when resolved.
    case count(Int)

    /// The most digits accepted in a numeric level: bounds the parse, far above any N.
    public static let maxDigits = 6

    /// Parses `one`, `quorum`, `all` (any case) or a decimal number of at most `maxDigits`
    /// digits. Returns nil for anything else; never traps on client bytes.
    public init?(word: [UInt8]) {
        if QuorumLevel.word(word, is: "one") {
            self = .one
        } else if QuorumLevel.word(word, is: "quorum") {
            self = .quorum
        } else if QuorumLevel.word(word, is: "all") {
            self = .all
        } else {
            guard let value = QuorumLevel.decimal(word, maxDigits: QuorumLevel.maxDigits) else { return nil }
            self = .count(value)
        }
    }

    /// Convenience for tests and configuration text.
    public init?(_ text: String) { self.init(word: Array(text.utf8)) }

    /// The count this level stands for among `n` replicas: one = 1, quorum = n/2+1, all = n,
    /// a number = itself (possibly out of 1...n; QuorumSpec rejects that).
    public func required(n: Int) -> Int {
        switch self {
        case .one: return 1
        case .quorum: return QuorumSpec.majority(of: n)
        case .all: return n
        case .count(let value): return value
        }
    }

    public var description: String {
        switch self {
        case .one: return "one"
        case .quorum: return "quorum"
        case .all: return "all"
        case .count(let value): return String(value)
        }
    }

    /// True when `word` equals the lower-case ASCII `keyword` in any letter case. No allocation:
    /// option words are matched on every request.
    static func word(_ word: [UInt8], is keyword: StaticString) -> Bool {
        guard word.count == keyword.utf8CodeUnitCount else { return false }
        return keyword.withUTF8Buffer { expected in
            for index in 0..<expected.count {
                let byte = word[index]
                let lower = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
                if lower != expected[index] { return false }
            }
            return true
        }
    }

    /// A plain decimal number (digits only, no sign) of 1...maxDigits digits, else nil.
    static func decimal(_ word: [UInt8], maxDigits: Int) -> Int? {
        guard !word.isEmpty, word.count <= maxDigits else { return nil }
        var value = 0
        for byte in word {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}
