import Gossip

/// What a node knows when its membership policy runs (`MembershipPolicy.onTick`): gossip's
/// members and cluster state as the node has adopted them, its own admin state and
/// handoff progress, and the times. Gathered by the shell (Node, or the deterministic
/// cluster) right before the call; the policy reads nothing else.
struct MembershipFacts {
    /// The members (liveness and admin state), the adopted ring and namespace table.
    var cluster: ClusterSnapshot
    /// This node's own admin state, as it gossips it.
    var admin: AdminState
    /// Partitions of the first ring (`--partitions`), used only when there is no ring yet.
    var partitionCount: Int
    /// Every other node's latest handoff report, as gossiped (`handoff:<id>`).
    var reports: [String: HandoffReport] = [:]
    /// This node's own handoff report, fresh from its handoff core.
    var ownReport: HandoffReport
    /// The counter lease this node has persisted (gossiped as `lease:<id>` when it grows).
    var leasedUpTo: UInt64 = 0
    /// The transfers this node receives, for the operator log.
    var transfers: [TransferStatus] = []
    /// Hints stored here per target node, for the operator log.
    var hintTargets: [String: Int] = [:]
    /// Anti-entropy's running totals of keys sent and received, for the operator log.
    var repairKeysSent: UInt64 = 0
    var repairKeysReceived: UInt64 = 0
    /// Monotonic time (`EventLoop.nowMs`, or virtual time): stalls and durations in the log.
    var nowMs: Int64
    /// The wall clock (Unix ms): the floor of a handoff report's gossip version, so a
    /// restarted node's reports outrank the ones it published before.
    var wallMs: Int64
}
