// The claim: how ownership changes when membership changes on purpose (join, leave,
// remove) or the replication target changes. Never called because a node is merely down.
//
// Promises, for m joined members and target N (tested in ClaimPropertyTests):
//  (a) balance: every member will own floor(Q/m) or ceil(Q/m) partitions, always.
//  (b) spacing: any N consecutive partitions (wrapping) have N distinct owners whenever
//      m >= N + 1 and the striped fallback can do it (r = Q mod m is 0, or r >= N, or
//      m >= 2N - r: for N = 3 and Q a power of two that is every m >= 4), or m >= Q, or
//      m == N with N dividing Q. With m == N and N not dividing Q no layout can do it (the
//      (N-1)-th power of a Q-cycle needs N + 1 colours); then at most N - 1 windows repeat
//      an owner, all at one spot. Below N members spacing is a preference that costs no move.
//  (c) movement: partitions move from departed owners and from members above target to
//      members below it. The lower bound (RingAudit.minimumMoves) is met by every single
//      join with m > N + 1 and every single removal with m > 2N in the tested sequences.
//      In smaller clusters an orphan's 2(N-1) neighbours can be all the other members, so
//      spacing forces extra moves; there the whole ring is re-solved (Viterbi pass, or the
//      stripe) for the fewest moves that keep (a) and (b).
//  (d) determinism: members are sorted by the bytes of their id and every tie breaks on
//      that order, so every node computes the same ring from the same input.

/// Computes the next ring from the current ring and the joined members.
public enum Claim {
    /// The member that decides ring changes: the lowest node id by bytes.
    public static func claimant<S: Sequence>(members: S) -> String? where S.Element == String {
        Ring.sortedIDs(members).first
    }

    /// A new ring over `members`, striped from scratch (version 1, no transfers).
    public static func initial<S: Sequence>(partitionCount: Int = Ring.defaultPartitionCount, members: S,
                                            targetN: Int = Ring.defaultTargetN) throws(RingError) -> Ring where S.Element == String {
        let sorted = Ring.sortedIDs(members.filter(Ring.isValidNodeID))
        guard !sorted.isEmpty else { throw .invalidOwners("no members") }
        _ = try Ring.partitionBits(of: partitionCount)
        let n = clampN(targetN)
        let layout = ClaimLayout.striped(base: Array(repeating: -1, count: partitionCount), memberCount: sorted.count,
                                         window: min(n, sorted.count), targetN: n)
        var fixed = layout
        fixed.repairBySwaps(allowExtraMoves: true)
        return try Ring(partitionCount: partitionCount, version: 1, targetN: n, owners: fixed.owner.map { sorted[$0] })
    }

    /// The next ring: owners unchanged, and every partition whose owner must change marked
    /// with its next owner (so the node layer can hand it off), version + 1. The claim
    /// starts from where transfers in flight will land. If nothing changes, or `members`
    /// has no valid id, `current` comes back as it is. `targetN` nil keeps the ring's own;
    /// values outside 1...64 are clamped.
    public static func next<S: Sequence>(current: Ring, members: S, targetN: Int? = nil) -> Ring where S.Element == String {
        // Ids a ring cannot hold (empty, over 1024 bytes) are not members.
        let sorted = Ring.sortedIDs(members.filter(Ring.isValidNodeID))
        guard !sorted.isEmpty else { return current }
        let n = clampN(targetN ?? current.targetN)
        let future = assignment(base: current.futureOwners, members: sorted, targetN: n)
        var ring = current
        ring.targetN = n
        for p in 0..<current.partitionCount {
            ring.nextOwners[p] = future[p] == current.owners[p] ? nil : future[p]
        }
        guard ring.nextOwners != current.nextOwners || ring.targetN != current.targetN else { return current }
        ring.version = current.version + 1
        return ring
    }

    static func clampN(_ n: Int) -> Int { min(max(n, 1), RingFormat.maxReplicas) }

    /// The owner of every partition after the claim, given the owners it starts from and
    /// the members sorted by `Ring.sortedIDs`.
    static func assignment(base owners: [String], members: [String], targetN: Int) -> [String] {
        let m = members.count
        let q = owners.count
        var index: [String: Int] = [:]
        index.reserveCapacity(m)
        for (i, id) in members.enumerated() { index[id] = i }
        let base = owners.map { index[$0] ?? -1 }
        let window = min(targetN, m)
        let spacingRequired = m >= targetN

        var layout: ClaimLayout
        if !base.contains(where: { $0 >= 0 }) {
            layout = ClaimLayout.striped(base: base, memberCount: m, window: window, targetN: targetN)
            layout.repairBySwaps(allowExtraMoves: true)
        } else {
            let anchors = members.map { Int(KeyHash.xxh64(Array($0.utf8)) % UInt64(q)) }
            layout = incremental(base: base, memberCount: m, window: window, anchors: anchors, spacingRequired: spacingRequired)
            // Where the moves did not meet the bound, spreading the receivers' new partitions
            // from other starting points sometimes does; a few deterministic retries.
            let bound = ClaimLayout.lowerBound(base: base, memberCount: m)
            var retry: UInt64 = 1
            // (Spacing left broken in a small cluster goes to the Viterbi pass instead.)
            let solvable = spacingRequired && ClaimLayout.viterbiStates(memberCount: m, window: window) <= ClaimLayout.maxViterbiStates
            while retry <= 3 && ((layout.violations > 0 && !solvable) || (layout.violations == 0 && layout.moves > bound)) {
                let shifted = anchors.map { Int((UInt64($0) &+ retry &* 0x9E37_79B9_7F4A_7C15) % UInt64(q)) }
                let other = incremental(base: base, memberCount: m, window: window, anchors: shifted, spacingRequired: spacingRequired)
                if (other.violations, other.moves) < (layout.violations, layout.moves) { layout = other }
                retry += 1
            }
            if !spacingRequired {
                // Below N members, prefer the prepared stripe when it moves no more.
                let prepared = ClaimLayout.striped(base: base, memberCount: m, window: window, targetN: targetN)
                if prepared.moves <= layout.moves { layout = prepared }
            } else if layout.violations > 0 {
                var stripe = ClaimLayout.striped(base: base, memberCount: m, window: window)
                stripe.repairBySwaps(allowExtraMoves: true)
                if (stripe.violations, stripe.moves) < (layout.violations, layout.moves) { layout = stripe }
                // Small clusters: solve the whole ring, starting where the best layout starts.
                let start = Array(layout.owner.prefix(window - 1))
                if let solved = ClaimLayout.viterbi(base: base, memberCount: m, window: window, start: start, anchors: anchors),
                   (solved.violations, solved.moves) < (layout.violations, layout.moves) {
                    layout = solved
                }
            }
        }
        return layout.owner.map { members[$0] }
    }

    /// Orphans first, then receivers from donors, then swaps for what is left.
    static func incremental(base: [Int], memberCount m: Int, window: Int, anchors: [Int], spacingRequired: Bool) -> ClaimLayout {
        var layout = ClaimLayout(base: base, memberCount: m, window: window)
        layout.assignOrphans()
        layout.fillReceivers(anchors: anchors)
        layout.repairBySwaps(allowExtraMoves: spacingRequired)
        return layout
    }
}
