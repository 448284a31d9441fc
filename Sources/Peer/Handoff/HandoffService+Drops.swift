import Ring

// Dropping what moved away: once the ring has no transfers, a range this node holds but
// no longer replicates is deleted after `dropDelayMs`, checked at most every 2 s by `tick`.

extension HandoffService {
    /// Deletes each range this node holds but no longer replicates, once it has been so for
    /// `dropDelayMs` (requests that started under the old ring have finished by then).
    func dropUnneededRanges(_ snap: ClusterSnapshot, ring: Ring, now t: Int64) {
        var unneeded: [TreeID] = []
        for ns in snap.namespaces.namespaces {
            for p in 0..<ring.partitionCount where !HandoffPlan.isReplica(ring: ring, namespace: ns, partition: p, node: nodeID) {
                let id = TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8))
                if (try? replica.holdsData(id)) == true { unneeded.append(id) }
            }
        }
        let due = counters.drops.withLock { d -> [TreeID] in
            let set = Set(unneeded)
            d.unneededSince = d.unneededSince.filter { set.contains($0.key) }
            var due: [TreeID] = []
            for id in unneeded {
                let since = d.unneededSince[id] ?? t
                d.unneededSince[id] = since
                if t - since >= Int64(config.dropDelayMs) { due.append(id) }
            }
            return due
        }
        for id in due {
            if (try? replica.dropRange(id)) != nil {
                counters.rangesDropped.wrappingAdd(1, ordering: .relaxed)
                _ = counters.drops.withLock { $0.unneededSince.removeValue(forKey: id) }
            }
        }
    }
}
