/// What the SWIM core asks its shell to do. The shell performs actions in order.
public enum GossipAction: Sendable, Equatable {
    /// Send one UDP datagram.
    case send(to: Endpoint, bytes: [UInt8])
    /// Open a TCP connection, write `bytes` (one push-pull frame), read one frame back and
    /// hand it to `onPushPullReply`; on any failure call `onPushPullFailed`.
    case pushPull(to: Endpoint, bytes: [UInt8])
    /// Deliver an event to the node layer.
    case emit(GossipEvent)
    /// A direct probe of `member` was acked after `rttNs` (monotonic): for the node
    /// layer's per-peer round-trip estimates. Nothing to perform on the network.
    case roundTrip(member: String, rttNs: UInt64)
}

/// Membership and cluster-state news for the node layer.
public enum GossipEvent: Sendable, Equatable {
    /// First seen alive.
    case memberUp(Member)
    case memberSuspect(Member)
    /// Declared dead by failure detection.
    case memberDown(Member)
    /// Alive again after being suspect, dead or left.
    case memberRecovered(Member)
    /// Left gracefully.
    case memberLeft(Member)
    /// Administratively removed.
    case memberRemoved(Member)
    /// Admin state or addresses changed while alive.
    case memberUpdated(Member)
    /// A cluster-state value was adopted (newer version, or tie-break winner).
    case stateChanged(ClusterStateValue)
}
