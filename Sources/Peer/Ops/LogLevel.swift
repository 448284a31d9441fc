/// How much a peer logs: an event is written when its level is at least the configured one.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case debug = 0, info, warn, error

    /// `debug`, `info`, `warn` (or `warning`), `error`; nil for anything else.
    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warn: return "warn"
        case .error: return "error"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The shape of a log line: logfmt (`ts=... level=info msg="..."`) or one JSON object.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt, json
}
