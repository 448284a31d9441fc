import Gossip
import Ring

// What the write path refuses for this peer's own faults (SPEC 6, "Clocks", "A full disk"):
// a peer whose wall clock is more than --max-clock-offset from the members' median refuses
// to coordinate lww writes (its hybrid clock would stamp them into the future or the past
// of everyone else's), and a peer whose store cannot make writes durable refuses clients'
// writes until it resumes by itself.

extension NodeEngine {
    /// Why this peer will not take a write in `ns` now, or nil:
    /// - its store cannot make writes durable (SPEC 6, "A full disk"): a client's write is
    ///   refused, never acknowledged. A write another peer forwarded here is still
    ///   coordinated: this replica's copy fails and counts as a failed replica, and the
    ///   others can still meet W;
    /// - its clock is more than --max-clock-offset from the members' median, in an lww
    ///   namespace (siblings namespaces do not depend on clocks).
    func writeRefusal(for ns: Namespace, forwarded: Bool) -> ClientError? {
        if !forwarded, let e = replica.store.writeError { return DiskHealth.refusal(e) }
        return clockGuard.refusal(for: ns)
    }

    /// The node's periodic health check: the store's write state (logged once per change)
    /// and this peer's clock, re-assessed from gossip's offset measurements: only members
    /// the cluster view holds up count, and only samples younger than `maxSampleAgeNs`
    /// (monotonic `nowNs`), so a member that went quiet stops voting.
    public func checkHealth(offsets: [String: ClockOffset], nowNs: UInt64, maxSampleAgeNs: UInt64 = 30_000_000_000) {
        diskHealth.observe(replica.store.writeError, nowMs: Int64(nowNs / 1_000_000))
        let snap = cluster.snapshot()
        let live = Set(snap.members.values.filter(\.isUp).map(\.id))
        let fresh = offsets.filter { nowNs &- $0.value.lastSampleNs <= maxSampleAgeNs }
        clockGuard.update(ClockSkew.assess(selfID: nodeID, offsets: fresh, live: live))
        clockGuard.record(offsets: fresh)
    }
}
