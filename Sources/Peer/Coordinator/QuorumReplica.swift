// The coordinator's view of a key's preference list: who the replicas are, in ring-walk
// order, and what the failure detector says about each. Built by the node layer from the
// ring and gossip; the coordinator never asks anyone.

/// One node of a key's preference list as the coordinator sees it.
public struct QuorumReplica: Equatable, Hashable, Sendable {
    /// Where a replica stands in the preference list.
    public enum Role: Equatable, Hashable, Sendable {
        /// One of the N owners of the key's partition and the next ones on the ring.
        case primary
        /// The incoming owner during an ownership transfer: writes reach it as well as the
        /// current owners (SPEC section 4); reads do not ask it (it may not hold the data yet).
        case pendingOwner
        /// A node after the primaries in the ring walk: used for a down primary (sloppy quorum).
        case fallback
    }

    /// Node id (stable identity).
    public var node: String
    public var role: Role
    /// The failure detector's view: alive (or suspect) = up, dead = down. The local node is
    /// always treated as up, whatever this says.
    public var isUp: Bool

    public init(node: String, role: Role, isUp: Bool) {
        self.node = node
        self.role = role
        self.isUp = isUp
    }

    public static func primary(_ node: String, up: Bool = true) -> QuorumReplica { .init(node: node, role: .primary, isUp: up) }
    public static func pendingOwner(_ node: String, up: Bool = true) -> QuorumReplica { .init(node: node, role: .pendingOwner, isUp: up) }
    public static func fallback(_ node: String, up: Bool = true) -> QuorumReplica { .init(node: node, role: .fallback, isUp: up) }
}

/// A node one request is sent to, and for whom it holds the data.
public struct QuorumTarget: Equatable, Hashable, Sendable {
    public var node: String
    public var role: QuorumReplica.Role
    /// For a fallback: the down primary this copy is meant for. The fallback keeps it in its
    /// durable hint store and hands it over when that owner is back. Nil for owners.
    public var hintFor: String?

    public init(node: String, role: QuorumReplica.Role, hintFor: String? = nil) {
        self.node = node
        self.role = role
        self.hintFor = hintFor
    }
}
