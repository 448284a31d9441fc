#if canImport(Glibc)
import Glibc
#endif

/// Process resource limits a server raises at start.
public enum ResourceLimits {
    /// Raises the soft limit on open files to the hard limit (as Redis does at start), so
    /// `--max-clients` connections plus the store's files fit; returns the limits after
    /// (soft, hard), or nil when they could not be read. Never lowers a limit.
    @discardableResult
    public static func raiseOpenFileLimit() -> (soft: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Connections that fit the open-file soft limit after `reservedFiles` for the store,
    /// peers and listeners: what `--max-clients` can really reach.
    public static func clientsThatFit(reservedFiles: UInt64 = 256) -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let soft = UInt64(limit.rlim_cur)
        return Int(clamping: soft > reservedFiles ? soft - reservedFiles : 0)
    }
}

extension Node {
    /// The client server's bounds from the node's configuration (issue 14): the open-file
    /// soft limit raised to the hard one, `--max-clients` (warning when the file limit
    /// cannot hold that many), the pre-AUTH budget when a password is required, and the
    /// idle timeout.
    func applyClientLimits(_ c: inout RESPServerConfiguration) {
        ResourceLimits.raiseOpenFileLimit()
        c.maxConnections = max(1, config.maxClients)
        if let fit = ResourceLimits.clientsThatFit(), fit < c.maxConnections {
            fputs("level=warn msg=\"max-clients exceeds the open-file limit; connections past it are refused\" max_clients=\(c.maxConnections) fit=\(fit)\n", stderr)
        }
        c.requiresAuth = config.requirePass != nil
        c.idleTimeoutMs = max(0, config.clientIdleTimeoutMs)
        c.maxKeysPerCommand = max(0, config.maxKeysPerCommand)
        c.maxQueuedCommands = max(1, config.maxQueuedCommands)
    }
}
