import Ring
import Synchronization

/// What this node believes about the cluster: the ring, the namespace table and each
/// member's liveness and admin state (fed by gossip, or by a test). Thread-safe; requests
/// take an immutable `ClusterSnapshot` and use it throughout.
public final class ClusterView: @unchecked Sendable {
    /// One member as the node layer needs it.
    public struct MemberInfo: Equatable, Sendable {
        public var id: String
        public var isUp: Bool
        public var status: String
        public var admin: String
        public var incarnation: UInt64
        public var clientAddress: String
        public var gossipAddress: String
        public init(id: String, isUp: Bool, status: String, admin: String, incarnation: UInt64, clientAddress: String, gossipAddress: String) {
            self.id = id
            self.isUp = isUp
            self.status = status
            self.admin = admin
            self.incarnation = incarnation
            self.clientAddress = clientAddress
            self.gossipAddress = gossipAddress
        }
    }

    private struct State {
        var ring: Ring?
        var namespaces = NamespaceTable()
        var members: [String: MemberInfo] = [:]
        var lists = PreferenceListCache()
    }

    public let localID: String
    private let state = Mutex(State())

    public init(localID: String) { self.localID = localID }

    public func snapshot() -> ClusterSnapshot {
        state.withLock { ClusterSnapshot(localID: localID, ring: $0.ring, namespaces: $0.namespaces, members: $0.members, lists: $0.lists) }
    }

    /// The ring alone (nil before one is adopted), for checks that need nothing else: cheaper
    /// than a whole snapshot on every peer request.
    public var ring: Ring? { state.withLock { $0.ring } }

    public func update(member: MemberInfo) { state.withLock { $0.members[member.id] = member } }

    /// Adopts `ring` if it is newer (or wins the tie-break); true when the ring changed.
    @discardableResult
    public func adopt(ring: Ring) -> Bool {
        state.withLock { s in
            let next = s.ring.map { Ring.merge($0, ring) } ?? ring
            guard next != s.ring else { return false }
            s.ring = next
            s.lists = PreferenceListCache()
            return true
        }
    }

    @discardableResult
    public func adopt(namespaces: NamespaceTable) -> Bool {
        state.withLock { s in
            let next = NamespaceTable.merge(s.namespaces, namespaces)
            guard next != s.namespaces else { return false }
            s.namespaces = next
            return true
        }
    }
}

/// An immutable view of the cluster for one request.
public struct ClusterSnapshot: Sendable {
    public let localID: String
    public let ring: Ring?
    public let namespaces: NamespaceTable
    public let members: [String: ClusterView.MemberInfo]
    /// This ring's preference lists, shared by every snapshot of the same ring.
    let lists: PreferenceListCache

    public init(localID: String, ring: Ring?, namespaces: NamespaceTable, members: [String: ClusterView.MemberInfo],
                lists: PreferenceListCache = PreferenceListCache()) {
        self.localID = localID
        self.ring = ring
        self.namespaces = namespaces
        self.members = members
        self.lists = lists
    }

    /// A node is up if gossip says alive or suspect (a suspect may still answer); the local
    /// node is always up.
    public func isUp(_ node: String) -> Bool {
        node == localID || (members[node]?.isUp ?? false)
    }

    /// Gossip suspects the node (it may still answer, but is likely slow or gone).
    public func isSuspect(_ node: String) -> Bool {
        node != localID && members[node]?.status == "suspect"
    }

    /// The replicas of a key in preference order, with liveness, for the coordinators.
    public func replicas(namespace: Namespace, key: [UInt8]) -> (partition: Int, replicas: [QuorumReplica], list: PreferenceList)? {
        guard let ring else { return nil }
        let partition = ring.partition(namespace: Array(namespace.name.utf8), key: key)
        let list = lists.list(ring: ring, partition: partition, n: namespace.n, maxFallbacks: 8)
        var out: [QuorumReplica] = []
        for p in list.primaries { out.append(.primary(p, up: isUp(p))) }
        for t in list.transferTargets { out.append(.pendingOwner(t, up: isUp(t))) }
        for f in list.fallbacks { out.append(.fallback(f, up: isUp(f))) }
        return (partition, out, list)
    }
}
