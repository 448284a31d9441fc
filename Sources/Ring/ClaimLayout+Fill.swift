// Filling a claim: orphaned partitions first (their owner is no longer a member, so they
// must move), then members below target take partitions from members above it. Each
// placement keeps the new owner out of the `window - 1` partitions on either side of it
// whenever any choice allows; when none does, a two-step chain is tried, and only then a
// placement with the fewest conflicts (repaired afterwards by swaps, see +Repair).

extension ClaimLayout {
    /// Gives every unowned partition to a member. First a bipartite matching (augmenting
    /// paths) of orphans to the receivers' free slots where the receiver fits: below-target
    /// slots first, then the spare ceil slots. Whatever the matching leaves goes greedily
    /// to the best-fitting member, repaired later.
    mutating func assignOrphans() {
        matchOrphans()
        for p in 0..<q where owner[p] < 0 {
            var best = -1
            var bestKey = (Int.max, Int.max, Int.max, Int.max)
            for x in 0..<memberCount {
                let c = conflicts(x, at: p)
                let wanted = want(x)
                // Fit first; then must-receive, may-receive, then the least over target.
                let key = (c > 0 ? 1 : 0, 2 - wanted, wanted > 0 ? -(target[x] - count[x]) : count[x] - target[x], c)
                if key < bestKey {
                    bestKey = key
                    best = x
                }
            }
            assign(p, to: best)
        }
    }

    /// Kuhn's augmenting-path matching with capacities, bounded in work. Orphans near each
    /// other may still collide on one receiver; those are checked when applied and left to
    /// the greedy pass.
    mutating func matchOrphans() {
        let orphans = (0..<q).filter { owner[$0] < 0 }
        guard !orphans.isEmpty else { return }
        var capacity = (0..<memberCount).map { max(0, target[$0] - count[$0]) }
        let optional = (0..<memberCount).filter { target[$0] == floorCount && count[$0] <= floorCount }
        let unclaimed = max(0, spareCeil - holders)
        var matched: [[Int]] = Array(repeating: [], count: memberCount) // orphan slots per member
        var fits: [[Int]] = orphans.map { p in (0..<memberCount).filter { conflicts($0, at: p) == 0 } }
        var budget = 256 * q + 64 * memberCount

        func augment(_ i: Int, _ visited: inout [Bool]) -> Bool {
            // A free slot directly first: most orphans need no augmenting path.
            budget -= fits[i].count
            for x in fits[i] where !visited[x] && matched[x].count < capacity[x] {
                matched[x].append(i)
                return true
            }
            for x in fits[i] where !visited[x] && capacity[x] > 0 {
                budget -= 1
                if budget <= 0 { return false }
                visited[x] = true
                for (slot, other) in matched[x].enumerated() where augment(other, &visited) {
                    matched[x][slot] = i
                    return true
                }
            }
            return false
        }

        // Each success fills one slot; with no free slot left no path can exist.
        var freeSlots = capacity.reduce(0, +)
        var unmatched: [Int] = []
        for i in orphans.indices {
            var visited = Array(repeating: false, count: memberCount)
            if freeSlots > 0 && budget > 0 && augment(i, &visited) {
                freeSlots -= 1
            } else {
                unmatched.append(i)
            }
        }
        // Spare ceil slots: one more for each member at floor, at most spareCeil in all.
        if !unmatched.isEmpty && unclaimed > 0 && budget > 0 {
            let mandatory = capacity
            for x in optional { capacity[x] += 1 }
            func optionalUsed() -> Int {
                (0..<memberCount).reduce(0) { $0 + max(0, matched[$1].count - mandatory[$1]) }
            }
            for i in unmatched where budget > 0 && optionalUsed() < unclaimed {
                // (optionalUsed is O(m); this loop runs at most spareCeil + unmatched times.)
                var visited = Array(repeating: false, count: memberCount)
                _ = augment(i, &visited)
            }
        }
        fits = []
        for x in 0..<memberCount {
            for i in matched[x].sorted() {
                let p = orphans[i]
                if owner[p] < 0 && conflicts(x, at: p) == 0 { assign(p, to: x) }
            }
        }
    }

    /// Moves partitions from members above target to members below it until all are at
    /// target. `anchors` spreads each receiver's new partitions around the ring.
    mutating func fillReceivers(anchors: [Int]) {
        var guardSteps = q * 4 + memberCount * 4 // each pass places at least one partition
        while guardSteps > 0 {
            guardSteps -= 1
            var receivers = (0..<memberCount).filter { want($0) == 2 }
            if receivers.isEmpty {
                guard (0..<memberCount).contains(where: { isDonor($0) }) else { return }
                receivers = (0..<memberCount).filter { want($0) == 1 }
                guard !receivers.isEmpty else { return }
            }
            receivers.sort { (target[$0] - count[$0], -$0) > (target[$1] - count[$1], -$1) }
            for x in receivers {
                let need = max(1, target[x] - count[x])
                fixViolations(with: x, limit: need)
                let still = want(x) == 2 ? target[x] - count[x] : (want(x) == 1 ? 1 : 0)
                for i in 0..<still {
                    guard want(x) > 0 else { break }
                    let ideal = (anchors[x] + i * q / still) % q
                    place(x, near: ideal)
                }
            }
        }
    }

    /// Lets receiver `x` take donor partitions that sit in a violating window, where `x` fits.
    mutating func fixViolations(with x: Int, limit: Int) {
        var taken = 0
        for (a, b) in violatingPairs() where taken < limit && want(x) > 0 {
            for p in [b, a] where isDonor(owner[p]) && owner[p] != x && conflicts(x, at: p) == 0 {
                assign(p, to: x)
                taken += 1
                break
            }
        }
    }

    /// Gives `x` the donor partition nearest `ideal` that fits; else a chain; else the
    /// donor partition with the fewest conflicts.
    mutating func place(_ x: Int, near ideal: Int) {
        for d in 0..<q {
            for p in d == 0 ? [ideal] : [wrap(ideal + d), wrap(ideal - d)] {
                let y = owner[p]
                if y != x && isDonor(y) && conflicts(x, at: p) == 0 {
                    assign(p, to: x)
                    return
                }
            }
            if 2 * d >= q { break }
        }
        if chain(x, near: ideal) { return }
        var best = -1
        var bestConflicts = Int.max
        for p in 0..<q where owner[p] != x && isDonor(owner[p]) {
            let c = conflicts(x, at: p)
            if c < bestConflicts {
                bestConflicts = c
                best = p
            }
        }
        if best >= 0 { assign(best, to: x) }
    }

    /// Two-step move for when no donor partition fits `x`: `x` takes a fitting partition
    /// p from some member y, and y takes a donor partition that fits y. Costs one extra
    /// move; bounded work so a hopeless search ends quickly.
    mutating func chain(_ x: Int, near ideal: Int) -> Bool {
        var budget = 64 * q
        let donorPartitions = (0..<q).filter { isDonor(owner[$0]) }
        guard !donorPartitions.isEmpty else { return false }
        for d in 0..<q {
            for p in d == 0 ? [ideal] : [wrap(ideal + d), wrap(ideal - d)] {
                let y = owner[p]
                guard y >= 0, y != x, !isDonor(y), conflicts(x, at: p) == 0 else { continue }
                owner[p] = x // tentatively, so y's fit below sees the new neighbour
                for r in donorPartitions where owner[r] != y && owner[r] != x {
                    budget -= 1
                    if conflicts(y, at: r) == 0 {
                        owner[p] = y
                        assign(r, to: y)
                        assign(p, to: x)
                        return true
                    }
                    if budget <= 0 { break }
                }
                owner[p] = y
                if budget <= 0 { return false }
            }
            if 2 * d >= q { break }
        }
        return false
    }
}
