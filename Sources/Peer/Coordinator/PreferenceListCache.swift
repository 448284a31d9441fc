import Ring
import Synchronization

/// The preference lists of one ring, computed once per (partition, N, fallbacks): building one
/// walks up to every partition and hashes node ids, about 5% of a node's CPU under SET when it
/// ran per request (perf, 3 peers). A new ring gets a new cache (ClusterView.adopt).
public final class PreferenceListCache: Sendable {
    private let lists = Mutex<[Int: PreferenceList]>([:])
    /// Bounds the entries (partitions x distinct N x fallbacks): past it, lists are computed
    /// and not kept, so a client cannot grow it with odd N values.
    private static let maxEntries = 1 << 16

    public init() {}

    public func list(ring: Ring, partition: Int, n: Int, maxFallbacks: Int) -> PreferenceList {
        let key = (partition << 16) | (min(max(n, 0), 255) << 8) | min(max(maxFallbacks, 0), 255)
        if let hit = lists.withLock({ $0[key] }) { return hit }
        let list = PreferenceList(ring: ring, partition: partition, n: n, maxFallbacks: maxFallbacks)
        lists.withLock { if $0.count < Self.maxEntries { $0[key] = list } }
        return list
    }
}
