// Per-request quorum options (SPEC section 5): any read or write may end with
//     R n|one|quorum|all    W n|one|quorum|all    STRICT    TIMEOUT ms
// in any order, each at most once, option words in any case.
//
// Two ways to find where the options start:
// - `split(_:positional:)` for commands with a fixed number of positional arguments
//   (`SET key value`, `GET key`, `PUTV key context value`): everything after them must be
//   options, and a bad word is a precise syntax error.
// - `splitVariadic(_:minimumPositional:)` for commands that take any number of keys
//   (`DEL`, `EXISTS`, `MGET`, `MSET`): the options are the longest trailing run that parses
//   completely as options, leaving at least `minimumPositional` arguments. This is the one
//   ambiguity of the grammar: `DEL a W 2` deletes key `a` with W=2, never the keys `W` and
//   `2` (name such keys first, e.g. `DEL W 2 a`, or pass options after them).
// Resolution against the namespace (N and its default R/W) is a separate, later step,
// because the namespace may be chosen by the command itself.

/// Quorum options parsed from a command's trailing arguments; nil fields take the namespace default.
public struct RequestOptions: Equatable, Sendable {
    /// Read replies wanted (`R ...`); nil = the namespace's R.
    public var r: QuorumLevel?
    /// Write acks wanted (`W ...`); nil = the namespace's W.
    public var w: QuorumLevel?
    /// `STRICT`: count primary owners only; never use a fallback (no sloppy quorum).
    public var strict: Bool
    /// `TIMEOUT ms`; nil = the server default.
    public var timeoutMs: Int?

    /// The longest `TIMEOUT` accepted: ten minutes. A bound on how long a request may hold state.
    public static let maxTimeoutMs = 600_000

    public init(r: QuorumLevel? = nil, w: QuorumLevel? = nil, strict: Bool = false, timeoutMs: Int? = nil) {
        self.r = r
        self.w = w
        self.strict = strict
        self.timeoutMs = timeoutMs
    }

    /// The options resolved against a namespace: counts, not levels.
    public struct Resolved: Equatable, Sendable {
        public var spec: QuorumSpec
        public var strict: Bool
        public var timeoutMs: Int
        public init(spec: QuorumSpec, strict: Bool, timeoutMs: Int) {
            self.spec = spec
            self.strict = strict
            self.timeoutMs = timeoutMs
        }
    }

    /// Fills in the namespace's defaults and resolves R and W against its N.
    /// Throws `ERR syntax R must be between 1 and N=3` style errors.
    public func resolve(n: Int, defaultR: QuorumLevel, defaultW: QuorumLevel, defaultTimeoutMs: Int) throws(QuorumOptionError) -> Resolved {
        let spec = try QuorumSpec(n: n, r: r ?? defaultR, w: w ?? defaultW)
        return Resolved(spec: spec, strict: strict, timeoutMs: timeoutMs ?? defaultTimeoutMs)
    }

    /// Parses words that must all be options. An empty sequence gives the defaults.
    public static func parse(_ words: ArraySlice<[UInt8]>) throws(QuorumOptionError) -> RequestOptions {
        var options = RequestOptions()
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            index += 1
            if QuorumLevel.word(word, is: "strict") {
                guard !options.strict else { throw .duplicate(option: "STRICT") }
                options.strict = true
            } else if QuorumLevel.word(word, is: "r") || QuorumLevel.word(word, is: "w") {
                let option: QuorumOptionError.Option = QuorumLevel.word(word, is: "r") ? .r : .w
                guard (option == .r ? options.r : options.w) == nil else { throw .duplicate(option: option.rawValue) }
                guard index < words.endIndex else { throw .missingValue(option: option) }
                let valueWord = words[index]
                index += 1
                guard let level = QuorumLevel(word: valueWord) else { throw .badLevel(option: option, word: valueWord) }
                if option == .r { options.r = level } else { options.w = level }
            } else if QuorumLevel.word(word, is: "timeout") {
                guard options.timeoutMs == nil else { throw .duplicate(option: "TIMEOUT") }
                guard index < words.endIndex else { throw .missingValue(option: .timeout) }
                let valueWord = words[index]
                index += 1
                guard let ms = QuorumLevel.decimal(valueWord, maxDigits: 9), (1...maxTimeoutMs).contains(ms) else {
                    throw .badTimeout(word: valueWord)
                }
                options.timeoutMs = ms
            } else {
                throw .unknownOption(word: word)
            }
        }
        return options
    }

    /// For a command with exactly `positional` positional arguments: the first `positional`
    /// arguments, and the options parsed from the rest (every trailing word must be an option).
    /// With fewer than `positional` arguments, returns them all and no options; the command's
    /// own arity check reports that.
    public static func split(_ args: ArraySlice<[UInt8]>, positional: Int) throws(QuorumOptionError) -> (positional: ArraySlice<[UInt8]>, options: RequestOptions) {
        let cut = min(args.endIndex, args.startIndex + max(0, positional))
        let options = try parse(args[cut...])
        return (args[..<cut], options)
    }

    /// For a command with any number (at least `minimumPositional`) of positional arguments:
    /// the options are the longest trailing run that parses completely as options. Never
    /// throws: a trailing word that does not parse is a positional argument (a key).
    public static func splitVariadic(_ args: ArraySlice<[UInt8]>, minimumPositional: Int) -> (positional: ArraySlice<[UInt8]>, options: RequestOptions) {
        let first = min(args.endIndex, args.startIndex + max(0, minimumPositional))
        // The options take at most 7 words (R x W x TIMEOUT x STRICT), so only the last 7
        // start positions can parse: bounded work however many keys the command carries.
        let earliest = max(first, args.endIndex - 7)
        var cut = earliest
        while cut < args.endIndex {
            if let options = try? parse(args[cut...]) { return (args[..<cut], options) }
            cut += 1
        }
        return (args, RequestOptions())
    }
}
