// The striped layout: the claim's fallback when incremental moves leave spacing
// violations, and the layout of a ring built from scratch. Members are laid round-robin,
// which keeps any `window` consecutive partitions distinct except where the ring wraps.
// When r = Q mod m is between 1 and window-1, the last two rounds are reshaped so the wrap
// is clean too (possible when m >= 2*window - r); otherwise up to window-1 windows at the
// wrap repeat an owner, which is the case m == N with N not dividing Q, where no layout
// at all can avoid it. Labels are then matched to members to keep as many partitions
// where they already are as the pattern allows.

extension ClaimLayout {
    /// The stripe pattern as labels 0..<min(m, Q); labels 0..<r hold ceil(Q/m) partitions.
    static func stripeLabels(q: Int, m: Int, window: Int) -> [Int] {
        if m >= q { return Array(0..<q) }
        let k = q / m
        let r = q % m
        let s = window - r
        if r == 0 || r >= window || m < 2 * window - r {
            return (0..<q).map { $0 % m }
        }
        // k-1 full rounds, then round A = 0..<(m-s), then B = 0..<r followed by (m-s)..<m.
        var labels: [Int] = []
        labels.reserveCapacity(q)
        for _ in 0..<(k - 1) { labels.append(contentsOf: 0..<m) }
        labels.append(contentsOf: 0..<(m - s))
        labels.append(contentsOf: 0..<r)
        labels.append(contentsOf: (m - s)..<m)
        return labels
    }

    /// Below N members: the stripe of N members with the slots of the missing N - m
    /// spread over the m present ones (round-robin, within floor/ceil quotas). A later join
    /// up to N members can then take exactly those slots, so growing to N moves only the
    /// minimum; shrinking below N vacates whole slots the same way.
    static func preparedLabels(q: Int, m: Int, n: Int) -> [Int] {
        guard m < n, m < q else { return stripeLabels(q: q, m: m, window: min(n, m)) }
        var labels = stripeLabels(q: q, m: min(n, q), window: min(n, q))
        var slotCount = Array(repeating: 0, count: m)
        for l in labels where l < m { slotCount[l] += 1 }
        // Ceil targets go to the slots that already hold the most.
        let order = (0..<m).sorted { (slotCount[$0], -$0) > (slotCount[$1], -$1) }
        var quota = Array(repeating: 0, count: m)
        for (rank, l) in order.enumerated() { quota[l] = q / m + (rank < q % m ? 1 : 0) - slotCount[l] }
        var next = 0
        for p in 0..<q where labels[p] >= m {
            while quota[next] <= 0 { next = (next + 1) % m }
            labels[p] = next
            quota[next] -= 1
            next = (next + 1) % m
        }
        return labels
    }

    /// A striped layout over `base`, relabelled to keep the most partitions in place.
    /// With `targetN` larger than m, the stripe is the prepared one (see above).
    static func striped(base: [Int], memberCount m: Int, window: Int, targetN: Int = 0) -> ClaimLayout {
        let q = base.count
        let labels = targetN > m ? preparedLabels(q: q, m: m, n: targetN) : stripeLabels(q: q, m: m, window: min(window, m))
        let labelCount = min(m, q)
        // overlap[l * m + x]: partitions with label l now owned by member x.
        var overlap = Array(repeating: 0, count: labelCount * m)
        for p in 0..<q where base[p] >= 0 { overlap[labels[p] * m + base[p]] += 1 }
        var pairs: [(Int, Int, Int)] = []
        for l in 0..<labelCount {
            for x in 0..<m where overlap[l * m + x] > 0 { pairs.append((overlap[l * m + x], l, x)) }
        }
        pairs.sort { ($0.0, -$0.1, -$0.2) > ($1.0, -$1.1, -$1.2) }
        var memberOfLabel = Array(repeating: -1, count: labelCount)
        var taken = Array(repeating: false, count: m)
        for (_, l, x) in pairs where memberOfLabel[l] < 0 && !taken[x] {
            memberOfLabel[l] = x
            taken[x] = true
        }
        var free = (0..<m).filter { !taken[$0] }.makeIterator()
        for l in 0..<labelCount where memberOfLabel[l] < 0 { memberOfLabel[l] = free.next() ?? 0 }

        var layout = ClaimLayout(base: base, memberCount: m, window: window)
        for p in 0..<q { layout.owner[p] = memberOfLabel[labels[p]] }
        // The stripe is balanced by construction: its counts are the targets.
        layout.recount()
        layout.target = layout.count
        layout.spareCeil = 0
        layout.holders = 0
        return layout
    }
}
