/// Tunables of the SWIM core. Defaults follow hashicorp/memberlist's LAN profile where it
/// has one, so figures can be set beside it.
public struct GossipConfig: Sendable {
    /// One probe per period (SWIM's T').
    public var probeIntervalMs: UInt64 = 1_000
    /// Wait this long for a direct ack before asking others to probe.
    public var probeTimeoutMs: UInt64 = 500
    /// k: members asked for an indirect probe.
    public var indirectChecks = 3
    /// Each update is retransmitted retransmitMult * ceil(log10(n + 1)) times.
    public var retransmitMult = 4
    /// Suspicion minimum = suspicionMult * max(1, log10(n)) * probe interval.
    public var suspicionMult = 4
    /// Suspicion maximum = suspicionMaxTimeoutMult * minimum (Lifeguard).
    public var suspicionMaxTimeoutMult = 6
    /// Lifeguard local health: timeouts stretch up to this factor when we are slow.
    public var awarenessMaxMultiplier = 8
    /// Extra gossip rounds between probes: updates only, to `gossipNodes` random members.
    public var gossipIntervalMs: UInt64 = 200
    public var gossipNodes = 3
    /// Dead members still receive gossip for this long (so they can learn and refute).
    public var gossipToTheDeadMs: UInt64 = 30_000
    /// Full state exchange with one random live member.
    public var pushPullIntervalMs: UInt64 = 30_000
    public var pushPullTimeoutMs: UInt64 = 5_000
    /// Push-pull with one random dead (not left) member, with probability dead/live (so
    /// the cluster tries each dead member about once per interval): healed partitions merge.
    public var reconnectIntervalMs: UInt64 = 10_000
    /// Dead and left members are forgotten after this long.
    public var deadMemberRetentionMs: UInt64 = 24 * 3_600_000
    /// UDP packet bound, header and MAC included.
    public var maxPacketBytes = 1_400
    /// Join retries back off from the first to the maximum delay, cycling through seeds.
    public var joinRetryInitialMs: UInt64 = 500
    public var joinRetryMaxMs: UInt64 = 30_000
    /// Cluster secret for HMAC-SHA256; nil or empty sends and accepts unsigned packets.
    public var secret: [UInt8]? = nil
    public var maxClockSkewMs: UInt64 = 120_000
    /// Picks between two cluster-state values of one key and the same version; nil uses
    /// `ClusterStateValue.defaultWinner`. Must be deterministic and symmetric.
    public var stateResolver: (@Sendable (ClusterStateValue, ClusterStateValue) -> ClusterStateValue)? = nil
    /// Bounds on what a peer can make us hold.
    public var maxMembers = 65_536
    /// The Peer layer keeps two values per node (a handoff report and a counter lease)
    /// plus the ring and the namespace table, so this allows about 500 nodes.
    public var maxStateKeys = 1_024
    public var maxRelays = 1_024
    public var maxBroadcasts = 8_192
    public var maxConcurrentPushPulls = 4

    public init() {}

    static let nsPerMs: UInt64 = 1_000_000
}
