import Ring

// Tombstone reaping: a tombstone goes once every other primary has compared equal with
// this replica since it was stored and its namespace's grace period is over, so no replica
// can hand the deleted value back.

extension AntiEntropyService {
    /// An absent record every primary has confirmed (a comparison found the trees equal
    /// after this replica stored it) and whose grace period is over.
    /// An expired record the reaper's sweep has not timed yet counts as timed from its
    /// expiry, as the sweep will time it (LocalReplica.indexExpired).
    func isReapable(_ address: KeyAddress, record: KeyRecord, ns: Namespace) throws -> Bool {
        guard let absentFrom = record.absentFromMs else { return false }
        let clock = try replica.tombstoneTime(address)
        guard let since = clock ?? (absentFrom <= UInt64(max(0, wallNow())) ? absentFrom : nil) else { return false }
        return isReapable(TreeID(partition: address.partition, namespace: address.namespace), since: since, ns: ns)
    }

    func isReapable(_ id: TreeID, since: UInt64, ns: Namespace) -> Bool {
        let t = UInt64(max(0, wallNow()))
        guard t >= since, Int64(t - since) >= ns.tombstoneGraceMs else { return false }
        guard let ring = cluster.snapshot().ring else { return false }
        let primaries = PreferenceList(ring: ring, partition: Int(id.partition), n: ns.n, maxFallbacks: 0).primaries
        let others = primaries.filter { $0 != nodeID }
        return repairState.confirmedAt(id, peers: others) > since
    }

    /// Removes every tombstone that is reapable now; returns how many. First times the
    /// records that expired since they were written (LocalReplica.indexExpired), in the
    /// trees where one is due, so that a later round can reap them.
    @discardableResult
    public func reapTombstones() -> Int {
        let snap = cluster.snapshot()
        var reaped = 0
        for t in replicatedTrees(snap) {
            _ = try? replica.indexExpired(t.id)
            guard let list = try? replica.tombstones(t.id) else { continue }
            for entry in list where isReapable(t.id, since: entry.since, ns: t.ns) {
                let address = KeyAddress(namespace: t.id.namespace, partition: t.id.partition, key: entry.key)
                if (try? replica.reap(address, since: entry.since)) == true { reaped += 1 }
            }
        }
        repairState.tombstonesReaped.wrappingAdd(UInt64(reaped), ordering: .relaxed)
        return reaped
    }
}
