/// Counters the node layer exports as metrics.
public struct GossipCounters: Sendable, Equatable {
    public var packetsSent: UInt64 = 0
    public var packetsReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    /// Indexed by `DropReason.rawValue`.
    public var dropped = [UInt64](repeating: 0, count: DropReason.allCases.count)
    public var probes: UInt64 = 0
    public var probeAcks: UInt64 = 0
    public var indirectProbes: UInt64 = 0
    public var probeRttSumNs: UInt64 = 0
    public var probeRttCount: UInt64 = 0
    /// Members this node started suspecting.
    public var suspicions: UInt64 = 0
    /// Suspicions of this node that it refuted by raising its incarnation.
    public var falseSuspicionsRefuted: UInt64 = 0
    /// Members this node declared dead by its own suspicion timeout.
    public var deathsDeclared: UInt64 = 0
    public var pushPullsStarted: UInt64 = 0
    public var pushPullsServed: UInt64 = 0
    public var pushPullsFailed: UInt64 = 0
    /// Push-pull frames written (requests and replies), TCP.
    public var pushPullBytesSent: UInt64 = 0
    /// Cluster-state values refused at publish for a key or payload over the bounds.
    public var statesRefused: UInt64 = 0

    public init() {}

    public func dropped(_ reason: DropReason) -> UInt64 { dropped[reason.rawValue] }
    public var droppedTotal: UInt64 { dropped.reduce(0, +) }
    mutating func drop(_ reason: DropReason) { dropped[reason.rawValue] += 1 }
}
