import Gossip
import Storage

/// Everything `chorus serve` is told (SPEC section 2), plus tuning the tests use.
public struct NodeConfig: Sendable {
    public var host = "127.0.0.1"
    public var clientPort: UInt16 = 6380
    public var gossipPort: UInt16 = 7946
    public var peerPort: UInt16 = 7947
    public var httpPort: UInt16 = 8080
    /// Gossip addresses of live members to join through; none starts a new cluster.
    public var seeds: [String] = []
    public var dataDirectory: String
    /// Stable identity; default `host:gossipPort`. Kept in the data directory after the first start.
    public var nodeID: String?
    public var partitions = 256
    public var sync: SyncPolicy = .always
    public var clusterSecret: [UInt8]?
    public var requirePass: String?
    public var gossip = GossipConfig()
    public var limits = NodeEngine.Limits()
    public var maxHints = 1_000_000
    /// Bytes of hints kept for one owner (`--max-hint-bytes`); past it new hints are refused.
    public var maxHintBytesPerTarget = 1 << 30
    public var memtableBytes = 4 << 20
    /// Client connections at once; one more gets `-ERR max number of clients reached`.
    public var maxClients = 10_000
    /// A client connection quiet for this long is closed; 0 = never (Redis's `timeout 0`).
    public var clientIdleTimeoutMs = 0
    /// Most keys one MGET, MSET, DEL or EXISTS may name.
    public var maxKeysPerCommand = 10_000
    /// Client commands of all connections waiting in the node at once (`--max-queued-commands`);
    /// at the bound the node stops reading client sockets until replies free room.
    public var maxQueuedCommands = 10_000
    /// Event loops for client and peer connections (`--loops`); nil: one per core.
    public var loops: Int?
    public var logLevel: LogLevel = .info
    public var logFormat: LogFormat = .logfmt

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
}
