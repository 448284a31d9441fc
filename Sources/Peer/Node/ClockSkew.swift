import Gossip

/// Where this peer's wall clock stands among the members' (SPEC 6, "Clocks"): a pure
/// function of the offsets gossip measured (ClockOffsets.swift in Gossip).
///
/// The reference is the median of every live member's clock, this peer's own included
/// (offset 0). Counting ourselves matters: with the others alone, in a 3-peer cluster with
/// one clock 2 s ahead each good peer would see {0, +2 s} and a median of +1 s, and refuse
/// too. A member's offset from the median is its measured offset minus the median; this
/// peer's is minus the median. With two peers the median is their midpoint, so both are
/// off by half the gap: with two clocks one cannot tell which one is wrong.
public struct ClockSkew: Sendable, Equatable {
    /// Each member's offset from the median (this peer included), signed ms.
    public var memberOffsetsMs: [String: Int64]
    /// This peer's offset from the median, signed ms.
    public var selfOffsetMs: Int64
    /// The error bound of the median's sample (half its round trip), ms.
    public var errorMs: Int64

    /// `offsets`: measured offsets of other members (their clock minus ours); `live`: the
    /// members to count (alive, with a recent sample). Nil when no other member is sampled.
    public static func assess(selfID: String, offsets: [String: ClockOffset], live: Set<String>) -> ClockSkew? {
        var clocks: [(id: String, us: Int64, errorUs: Int64)] = [(selfID, 0, 0)]
        for (id, o) in offsets where id != selfID && live.contains(id) {
            clocks.append((id, o.offsetUs, o.errorUs))
        }
        guard clocks.count > 1 else { return nil }
        clocks.sort { ($0.us, $0.id) < ($1.us, $1.id) }
        let mid = clocks.count / 2
        let medianUs: Int64
        let errorUs: Int64
        if clocks.count % 2 == 1 {
            medianUs = clocks[mid].us
            errorUs = clocks[mid].errorUs
        } else {
            medianUs = clocks[mid - 1].us / 2 + clocks[mid].us / 2
            errorUs = max(clocks[mid - 1].errorUs, clocks[mid].errorUs)
        }
        var members: [String: Int64] = [:]
        for c in clocks { members[c.id] = (c.us - medianUs) / 1_000 }
        return ClockSkew(memberOffsetsMs: members, selfOffsetMs: -medianUs / 1_000, errorMs: errorUs / 1_000)
    }

    /// True when this peer is surely more than `maxOffsetMs` from the median: beyond the
    /// bound even after granting the measurement its error.
    public func exceeds(maxOffsetMs: Int64) -> Bool {
        abs(selfOffsetMs) - errorMs > maxOffsetMs
    }
}
