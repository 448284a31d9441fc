// Repairing spacing by swaps. A swap of two partitions' owners keeps every member's count,
// so balance is untouched; it is taken only if neither new position conflicts, so every
// swap removes at least one violating window and creates none. Among valid swaps the one
// adding the fewest moves wins (a partition that already moves in this claim is free to
// move again). The work is bounded: a layout that cannot be fixed (e.g. m == N with N not
// dividing Q) stops after a fixed number of candidate checks.

extension ClaimLayout {
    /// Swaps owners to remove violating windows. With `allowExtraMoves` false only swaps
    /// that add no moves are taken (used when m < N, where spacing is a preference).
    mutating func repairBySwaps(allowExtraMoves: Bool) {
        var budget = 64 * q
        var progress = true
        while progress && budget > 0 {
            progress = false
            let pairs = violatingPairs()
            if pairs.isEmpty { return }
            for (a, b) in pairs where owner[a] == owner[b] {
                // Prefer moving a position that already moves in this claim.
                let order = (owner[b] != base[b] || owner[a] == base[a]) ? [b, a] : [a, b]
                for pos in order {
                    if swapAway(pos, allowExtraMoves: allowExtraMoves, budget: &budget) {
                        progress = true
                        break
                    }
                }
                if budget <= 0 { return }
            }
        }
    }

    /// Finds the cheapest valid swap of position `a` with another; applies it if found.
    mutating func swapAway(_ a: Int, allowExtraMoves: Bool, budget: inout Int) -> Bool {
        let x = owner[a]
        var best = -1
        var bestDelta = Int.max
        for r in 0..<q {
            let y = owner[r]
            guard y >= 0, y != x else { continue }
            budget -= 1
            owner[a] = y
            owner[r] = x
            let fits = conflicts(y, at: a) == 0 && conflicts(x, at: r) == 0
            owner[a] = x
            owner[r] = y
            if fits {
                let before = (x != base[a] ? 1 : 0) + (y != base[r] ? 1 : 0)
                let after = (y != base[a] ? 1 : 0) + (x != base[r] ? 1 : 0)
                let delta = after - before
                if delta < bestDelta {
                    bestDelta = delta
                    best = r
                    if delta <= 0 { break }
                }
            }
            if budget <= 0 { break }
        }
        guard best >= 0, allowExtraMoves || bestDelta <= 0 else { return false }
        owner[a] = owner[best]
        owner[best] = x
        return true
    }
}
