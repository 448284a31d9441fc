import Storage

/// What a peer tells clients about itself: HELLO, CONFIG GET and CLIENT LIST read these.
/// Filled from the node's flags by `Node`; the defaults are `chorus serve`'s.
public struct ClientSettings: Sendable, Equatable {
    /// HELLO's `version`: the Redis version whose client protocol Chorus follows (7.2 added
    /// CLIENT SETINFO), so clients that choose features by version take their Redis 7 paths.
    /// Chorus's own version is INFO's `chorus_version`.
    public static let redisVersion = "7.2.0"

    public var host = "127.0.0.1"
    public var port: UInt16 = 6380
    public var sync: SyncPolicy = .always
    public var maxClients = 10_000
    public var maxBulkBytes = RESPLimits().maxBulkBytes
    /// Idle connections are closed after this many seconds (0 = never): CONFIG GET timeout.
    public var idleTimeoutSeconds = 0

    public init() {}

    /// `host:port` of the client port (CLIENT LIST's `laddr`).
    public var localAddress: String { "\(host):\(port)" }

    /// CONFIG GET's parameters, Redis 7 names and value spellings, in the order Redis lists
    /// them. Persistence maps onto Chorus's write-ahead log: there are no RDB snapshots
    /// (`save` is empty), every write is logged (`appendonly yes`), and `appendfsync`
    /// names the `--sync` policy's Redis counterpart.
    public var configParameters: [(name: String, value: String)] {
        let fsync: String
        switch sync {
        case .always: fsync = "always"
        case .periodic: fsync = "everysec"
        case .never: fsync = "no"
        }
        return [
            ("save", ""), ("appendonly", "yes"), ("appendfsync", fsync), ("databases", "1"),
            ("maxmemory", "0"), ("maxmemory-policy", "noeviction"), ("maxclients", String(maxClients)),
            ("timeout", String(idleTimeoutSeconds)), ("port", String(port)), ("bind", host),
            ("cluster-enabled", "no"), ("proto-max-bulk-len", String(maxBulkBytes)),
            ("notify-keyspace-events", ""), ("replica-read-only", "yes"), ("slave-read-only", "yes"),
        ]
    }
}
