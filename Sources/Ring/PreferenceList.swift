// Preference lists (SPEC section 4). The primaries of a partition are the first N distinct
// owners walking the ring from it; the fallbacks are the distinct nodes after them, in the
// same walk order, standing in for primaries that are down (sloppy quorum, with a hint
// naming the primary). A down node is never skipped in the primaries: ownership does not
// change because a node is down.
//
// During a transfer the replica set is the union of the primaries under the current owners
// and under the owners the transfers lead to, so the node that will hold a replica after
// the switch already receives every write before it. Those extra nodes are
// `transferTargets`.

/// One node a request goes to, and why.
public struct Replica: Sendable, Hashable {
    public enum Role: Sendable, Hashable {
        /// One of the partition's N owners.
        case primary
        /// A node that becomes a primary when a transfer in flight completes.
        case transfer
        /// A stand-in for the down primary `hintFor`.
        case fallback
    }

    public let node: String
    public let role: Role
    /// The primary this fallback stands in for (nil for primaries and transfer targets).
    public let hintFor: String?

    public init(node: String, role: Role, hintFor: String? = nil) {
        self.node = node
        self.role = role
        self.hintFor = hintFor
    }
}

/// The replicas of one partition for a replication factor N: primaries, then fallbacks.
public struct PreferenceList: Sendable, Hashable {
    public let partition: Int
    public let n: Int
    /// The first N distinct owners walking the ring from `partition` (fewer when the ring
    /// has fewer than N nodes: the namespace is then under-replicated).
    public let primaries: [String]
    /// Primaries under the owners the ring's transfers lead to that are not primaries now;
    /// they receive writes as well until the transfers complete.
    public let transferTargets: [String]
    /// Every other node, in walk order after the primaries, at most `maxFallbacks`.
    public let fallbacks: [String]

    /// The preference list of `partition` (taken modulo Q) for N replicas.
    public init(ring: Ring, partition: Int, n: Int, maxFallbacks: Int = Int.max) {
        let q = ring.partitionCount
        let start = ((partition % q) + q) % q
        let want = max(n, 1)
        self.partition = start
        self.n = want
        var primaries: [String] = []
        var seen = Set<String>()
        var i = 0
        while i < q && primaries.count < want {
            let o = ring.owners[(start + i) % q]
            if seen.insert(o).inserted { primaries.append(o) }
            i += 1
        }
        var transfer: [String] = []
        if ring.isTransferring {
            var futureSeen = Set<String>()
            var j = 0
            while j < q && futureSeen.count < want {
                let o = ring.futureOwner(of: (start + j) % q)
                if futureSeen.insert(o).inserted && !seen.contains(o) { transfer.append(o) }
                j += 1
            }
            for t in transfer { seen.insert(t) }
        }
        var fallbacks: [String] = []
        var k = i
        let limit = max(0, maxFallbacks)
        // Owners first, in walk order; then nodes that so far only receive partitions.
        while k < i + q && fallbacks.count < limit {
            let o = ring.owners[(start + k) % q]
            if seen.insert(o).inserted { fallbacks.append(o) }
            k += 1
        }
        if fallbacks.count < limit && ring.isTransferring {
            for k in 0..<q where fallbacks.count < limit {
                if let o = ring.nextOwners[(start + k) % q], seen.insert(o).inserted { fallbacks.append(o) }
            }
        }
        self.primaries = primaries
        self.transferTargets = transfer
        self.fallbacks = fallbacks
    }

    /// The preference list of a key's partition.
    public init(ring: Ring, namespace: [UInt8], key: [UInt8], n: Int, maxFallbacks: Int = Int.max) {
        self.init(ring: ring, partition: ring.partition(namespace: namespace, key: key), n: n, maxFallbacks: maxFallbacks)
    }

    /// Fewer than N distinct nodes exist to hold the replicas.
    public var isUnderReplicated: Bool { primaries.count < n }

    /// Where a request goes given liveness: each up primary; for each down primary the
    /// next up fallback not yet used, with a hint naming that primary; then each up
    /// transfer target. A down primary with no up fallback left gets no stand-in.
    public func replicas(isUp: (String) -> Bool) -> [Replica] {
        var out: [Replica] = []
        var nextFallback = 0
        for p in primaries {
            if isUp(p) {
                out.append(Replica(node: p, role: .primary))
                continue
            }
            while nextFallback < fallbacks.count && !isUp(fallbacks[nextFallback]) { nextFallback += 1 }
            if nextFallback < fallbacks.count {
                out.append(Replica(node: fallbacks[nextFallback], role: .fallback, hintFor: p))
                nextFallback += 1
            }
        }
        for t in transferTargets where isUp(t) { out.append(Replica(node: t, role: .transfer)) }
        return out
    }
}
