import Gossip
import Ring

// The write path's view of this peer's clock (SPEC 6, "Clocks"): a peer whose wall clock is
// more than --max-clock-offset from the members' median refuses to coordinate lww writes,
// since its hybrid clock would stamp them into the future (or the past) of everyone else's.

extension NodeEngine {
    /// The error for an lww write while this peer's clock is off, nil otherwise (and always
    /// nil for siblings namespaces, which do not depend on clocks).
    func clockRefusal(for ns: Namespace) -> ClientError? {
        clockGuard.refusal(for: ns)
    }

    /// Re-assesses this peer's clock from gossip's offset measurements: only members the
    /// cluster view holds up count, and only samples younger than `maxSampleAgeNs`
    /// (monotonic `nowNs`), so a member that went quiet stops voting.
    public func updateClock(offsets: [String: ClockOffset], nowNs: UInt64, maxSampleAgeNs: UInt64 = 30_000_000_000) {
        let snap = cluster.snapshot()
        let live = Set(snap.members.values.filter(\.isUp).map(\.id))
        let fresh = offsets.filter { nowNs &- $0.value.lastSampleNs <= maxSampleAgeNs }
        clockGuard.update(ClockSkew.assess(selfID: nodeID, offsets: fresh, live: live))
    }
}
