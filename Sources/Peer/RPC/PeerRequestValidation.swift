import Ring
import Synchronization

// Peer requests are checked against the ring before they touch the store (issue 14): a
// peer (or anyone on the network when no cluster secret is set) could push any key into
// any partition's range, where no read would find it and every Merkle exchange would
// carry it, or ask for trees of partitions that do not exist. The partition of a key is a
// fixed hash (SPEC 4), so the check needs no ownership knowledge and holds during
// transfers and sloppy quorum alike. With no ring yet (a node still joining) nothing can
// be checked and requests are served as before.

/// Checks the keys and partitions peer requests name against the ring, and counts refusals.
/// One instance per engine, shared by every service that answers peer requests.
///
/// Thread-safety: any thread; it reads one cluster snapshot per check.
final class PeerRequestCheck: Sendable {
    let cluster: ClusterView
    let maxKeyBytes: Int
    /// Peer requests refused for naming a key or partition the ring cannot hold.
    let refused = Atomic<UInt64>(0)

    init(cluster: ClusterView, maxKeyBytes: Int) {
        self.cluster = cluster
        self.maxKeyBytes = maxKeyBytes
    }

    /// Why `address` cannot be a real key's address in this cluster, or nil.
    func misplaced(_ address: KeyAddress) -> String? {
        if address.key.isEmpty || address.key.count > maxKeyBytes {
            return "ERR peer request for a key of \(address.key.count) bytes (1 to \(maxKeyBytes))"
        }
        guard let ring = cluster.ring else { return nil }
        let p = ring.partition(namespace: address.namespace, key: address.key)
        guard p == Int(address.partition) else {
            refused.wrappingAdd(1, ordering: .relaxed)
            return "ERR peer request puts a key of partition \(p) in partition \(address.partition)"
        }
        return nil
    }

    /// Why `partition` does not exist in this cluster's ring, or nil.
    func unknownPartition(_ partition: UInt32) -> String? {
        guard let ring = cluster.ring, Int(partition) >= ring.partitionCount else { return nil }
        refused.wrappingAdd(1, ordering: .relaxed)
        return "ERR peer request for partition \(partition) of a \(ring.partitionCount)-partition ring"
    }

    /// The entries of a hint or repair batch that are where they belong; the rest are
    /// dropped (counted) so that one bad entry does not stop the batch.
    func placed(_ entries: [(address: KeyAddress, record: [UInt8])]) -> [(address: KeyAddress, record: [UInt8])] {
        entries.filter { misplaced($0.address) == nil }
    }
}
