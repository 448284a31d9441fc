// Target selection for one request: which nodes to ask, and which of them stand in for a
// down primary (sloppy quorum, Dynamo section 4.6).
//
// Rules, in order:
// 1. Every up primary is a target. The local node is always up.
// 2. Writes also go to every up pending owner (ownership transfer); reads never do.
// 3. Without STRICT, each down primary, in preference order, takes the next up fallback not
//    yet chosen; that target carries `hintFor: <the down primary>`. A down primary for
//    which no fallback is left is "unserved". A down pending owner gets no fallback: the
//    ownership handoff, not a hint, brings it the data.
// 4. With STRICT, fallbacks are never targets.
// Fallbacks not chosen stay as spares: when a target fails during the request (a nack or a
// refused connection the failure detector has not noticed yet), `replace(failed:)` sends
// the same copy to the next spare, with the hint naming the intended owner.
// Every list is bounded by the preference list, itself bounded by the ring size.

/// The targets of one request, chosen from a preference list.
public struct QuorumPlan: Equatable, Sendable {
    /// What the request does; decides whether pending owners are targets.
    public enum Purpose: Equatable, Sendable { case read, write }

    /// Targets in send order: owners in preference order, then fallbacks in the order they were chosen.
    public private(set) var targets: [QuorumTarget]
    /// Down primaries left without a fallback.
    public private(set) var unserved: [String]
    /// Up fallbacks not chosen yet, in preference order, never the local node (empty with STRICT).
    public private(set) var spares: [String]
    public let strict: Bool

    public init(replicas: [QuorumReplica], purpose: Purpose, strict: Bool, localNode: String?) {
        self.strict = strict
        var owners: [QuorumTarget] = []
        var downPrimaries: [String] = []
        var upFallbacks: [String] = []
        owners.reserveCapacity(replicas.count)
        // Duplicates (a node listed twice) keep their first place. A linear scan: lists are a
        // handful of nodes, and a Set would hash and allocate on every request.
        for (index, replica) in replicas.enumerated() where !replicas[..<index].contains(where: { $0.node == replica.node }) {
            let up = replica.isUp || replica.node == localNode
            switch replica.role {
            case .primary:
                if up { owners.append(QuorumTarget(node: replica.node, role: .primary)) } else { downPrimaries.append(replica.node) }
            case .pendingOwner:
                if up && purpose == .write { owners.append(QuorumTarget(node: replica.node, role: .pendingOwner)) }
            case .fallback:
                if up && !strict { upFallbacks.append(replica.node) }
            }
        }
        var fallbacks: [QuorumTarget] = []
        var unserved: [String] = []
        for primary in downPrimaries {
            if upFallbacks.isEmpty {
                unserved.append(primary)
            } else {
                fallbacks.append(QuorumTarget(node: upFallbacks.removeFirst(), role: .fallback, hintFor: primary))
            }
        }
        self.targets = owners + fallbacks
        self.unserved = unserved
        // The local node never stands in later: by then it has versioned and stored the
        // write (or not) as what it already is, and it never sends to itself.
        self.spares = upFallbacks.filter { $0 != localNode }
    }

    /// Number of pending owners among the targets; a write needs W plus this many acks, so
    /// W of the key's owners hold it both before and after the transfer (as Cassandra does).
    public var pendingOwnerCount: Int { targets.lazy.filter { $0.role == .pendingOwner }.count }

    public func target(_ node: String) -> QuorumTarget? { targets.first { $0.node == node } }

    /// Sloppy-quorum replacement for a target that failed: the next spare fallback takes the
    /// failed target's copy, hinted for its intended owner. Nil with STRICT, for a pending
    /// owner, for an unknown node, or when no spare is left.
    public mutating func replace(failed node: String) -> QuorumTarget? {
        guard !strict, let failed = target(node), failed.role != .pendingOwner, !spares.isEmpty else { return nil }
        let replacement = QuorumTarget(node: spares.removeFirst(), role: .fallback, hintFor: failed.hintFor ?? failed.node)
        targets.append(replacement)
        return replacement
    }
}
