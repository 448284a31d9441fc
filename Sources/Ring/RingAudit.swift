// Measurements of a ring against the claim's promises, shared by the tests and by
// `chorus bench ring` so both judge the same way.

/// Checks a ring's owners against the claim's balance, spacing and movement promises.
public enum RingAudit {
    /// The windows of `n` consecutive partitions (wrapping; Q windows in all) in which
    /// some owner appears twice. 0 means every N consecutive partitions are distinct.
    public static func violations(_ owners: [String], n: Int) -> Int {
        var index: [String: Int] = [:]
        let ids = owners.map { id -> Int in
            if let i = index[id] { return i }
            index[id] = index.count
            return index.count - 1
        }
        return ClaimLayout.violations(ids, window: n)
    }

    /// floor(Q/m)...ceil(Q/m): what every member must own after a claim.
    public static func balanceBounds(partitionCount q: Int, memberCount m: Int) -> ClosedRange<Int> {
        precondition(m > 0, "balance needs a member")
        return (q / m)...((q + m - 1) / m)
    }

    /// The fewest partitions any balanced assignment of `members` must move starting from
    /// `owners`: every partition of a non-member, plus every partition a member lacks to
    /// reach its target when ceil targets go to the largest holders (the optimum).
    public static func minimumMoves(from owners: [String], members: [String]) -> Int {
        let sorted = Ring.sortedIDs(members)
        guard !sorted.isEmpty else { return 0 }
        let q = owners.count
        let m = sorted.count
        var count: [String: Int] = [:]
        for o in owners { count[o, default: 0] += 1 }
        let held = sorted.map { count[$0] ?? 0 }.sorted(by: >)
        var gains = 0
        for (i, c) in held.enumerated() {
            let target = q / m + (i < q % m ? 1 : 0)
            gains += max(0, target - c)
        }
        return gains
    }

    /// Partitions whose owner differs between two owner lists of the same length.
    public static func moved(_ a: [String], _ b: [String]) -> Int {
        zip(a, b).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
    }
}
