// Both ends of a forward's deadline (ForwardDeadline): the sender stamps it, the receiving
// coordinator refuses a forward that arrived after it, applying nothing.

extension NodeEngine {
    /// The `applyByWallMs` of a forward to `node` whose sender stops waiting in `hopMs`.
    func forwardApplyBy(to node: String, hopMs: Int) -> Int64 {
        ForwardDeadline.applyBy(giveUpWallMs: wallNow() + Int64(hopMs), receiverOffset: clockGuard.offset(of: node),
                                maxOffsetMs: clockGuard.maxOffsetMs)
    }

    /// The answer line for a forward that arrived too late to coordinate, or nil to go on.
    /// TIMEOUT, so a sender still waiting fails over to the next candidate at once.
    func lateForwardRefusal(_ m: ForwardWriteMessage) -> String? {
        guard ForwardDeadline.isLate(applyByWallMs: m.applyByWallMs, nowWallMs: wallNow()) else { return nil }
        counters.bump(counters.lateForwardsRefused)
        return "TIMEOUT the forwarded write reached its coordinator after the sender's deadline; not applied"
    }
}
