import Foundation

/// Where `serve` takes its secrets from (issue 14, low): a flag's value on the command line
/// is readable by every local user in /proc/<pid>/cmdline, so each secret may also come
/// from a file (`--cluster-secret-file`, `--requirepass-file`: the first line, owner-only
/// permissions advised), the environment (CHORUS_CLUSTER_SECRET, CHORUS_REQUIREPASS) or the
/// config file; one given on the command line still works, with a warning.
enum SecretSources {
    /// The secret flags, with their file flag and environment variable.
    static let secrets: [(flag: String, file: String, environment: String)] = [
        ("cluster-secret", "cluster-secret-file", "CHORUS_CLUSTER_SECRET"),
        ("requirepass", "requirepass-file", "CHORUS_REQUIREPASS"),
    ]

    static var fileFlags: Set<String> { Set(secrets.map(\.file)) }

    /// The value of `flag`: the flag itself, else its file, else its environment variable.
    static func value(_ flag: String, _ flags: Flags, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        guard let s = secrets.first(where: { $0.flag == flag }) else { return flags.string(flag) }
        if let v = flags.string(flag) {
            if flags.string(s.file) != nil { throw Flags.UsageError(description: "--\(flag) and --\(s.file) both given") }
            return v
        }
        if let path = flags.string(s.file) { return try read(path, flag: s.file) }
        return environment[s.environment]
    }

    /// The first line of `path`, without its line end; an empty or unreadable file is an error.
    static func read(_ path: String, flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Flags.UsageError(description: "--\(flag): cannot read \(path)")
        }
        // "\r\n" is one Character in Swift: split on any line end.
        let value = String(String(decoding: data, as: UTF8.self).split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first ?? "")
        guard !value.isEmpty else { throw Flags.UsageError(description: "--\(flag): \(path) is empty") }
        return value
    }

    /// The secret flags given on the command line itself (not from --config), for a warning.
    static func onCommandLine(_ args: [String]) -> [String] {
        secrets.map(\.flag).filter { flag in args.contains { $0 == "--\(flag)" || $0.hasPrefix("--\(flag)=") } }
    }

    /// The warning for each secret on the command line, and for admin commands open to
    /// every client (no password on a client port others can reach; docs/SECURITY.md).
    static func warnings(_ args: [String], requirePass: String?, host: String) -> [String] {
        var out = onCommandLine(args).map { flag in
            let s = secrets.first { $0.flag == flag }
            return "--\(flag) on the command line is visible to local users in /proc; use --\(s?.file ?? flag) FILE, \(s?.environment ?? "the environment") or --config"
        }
        let loopback = host.hasPrefix("127.") || host == "localhost" || host == "::1"
        if requirePass == nil, !loopback {
            out.append("no --requirepass: any client that reaches \(host) may run LEAVE, REMOVE, NS.CREATE and REPAIR (docs/SECURITY.md)")
        }
        return out
    }
}
