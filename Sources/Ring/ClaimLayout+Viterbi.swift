// The small-cluster fallback. With few members (say 4 to 8 for N = 3) the spacing leaves
// so little freedom that moving partitions one by one often gets stuck, and the plain
// stripe moves most of the ring. Here the ring is solved as a whole: a Viterbi pass over
// the partitions whose state is the last N-1 owners (so every window is distinct by
// construction) picks the layout closest to the current owners. Balance enters as a price
// per member (Lagrangian relaxation), adjusted over a bounded number of passes; whatever
// imbalance is left is fixed by the ordinary donor-to-receiver moves and swaps.
//
// Cost: O(Q * states * members) per pass, states = m!/(m-N+1)!; used only when that is
// at most `maxStates`, and only when the incremental claim left violations.

extension ClaimLayout {
    static let maxViterbiStates = 64
    static let viterbiPasses = 24

    /// m!/(m-w+1)!: the Viterbi states for m members and window w (capped, no overflow).
    static func viterbiStates(memberCount m: Int, window w: Int) -> Int {
        var states = 1
        for i in 0..<max(0, w - 1) {
            states *= max(0, m - i)
            if states > maxViterbiStates { return maxViterbiStates + 1 }
        }
        return states
    }

    /// A spaced, balanced layout near `base`, or nil when the shape is too large or none fits.
    static func viterbi(base: [Int], memberCount m: Int, window w: Int, start: [Int], anchors: [Int]) -> ClaimLayout? {
        let q = base.count
        guard w >= 2, m >= w, q >= 2 * w else { return nil }
        // States: sequences of w-1 distinct members.
        var states: [[Int]] = [[]]
        for _ in 0..<(w - 1) {
            var longer: [[Int]] = []
            for s in states { for x in 0..<m where !s.contains(x) { longer.append(s + [x]) } }
            states = longer
            if states.count > maxViterbiStates { return nil }
        }
        var index: [[Int]: Int] = [:]
        for (i, s) in states.enumerated() { index[s] = i }
        guard start.count == w - 1, let startState = index[start] else { return nil }
        // Successors: append x not in the state, drop the oldest. Every state has exactly
        // m - (w - 1) of them, stored flat so the inner loop touches no nested arrays.
        let fanout = m - (w - 1)
        var succX: [Int] = []
        var succTo: [Int] = []
        for st in states {
            for x in 0..<m where !st.contains(x) {
                succX.append(x)
                succTo.append(index[Array(st.dropFirst()) + [x]] ?? 0)
            }
        }
        let lastOwner = states.map { $0.last ?? 0 }
        // Final states whose owners, followed by the start again, keep every window distinct.
        let closes: [Bool] = states.map { f in
            for i in 0..<(w - 1) {
                for j in 0..<(w - 1) where (w - 1 - i) + j < w && f[i] == start[j] { return false }
            }
            return true
        }

        var targets = Array(repeating: q / m, count: m)
        var held = Array(repeating: 0, count: m)
        for o in base where o >= 0 { held[o] += 1 }
        for (rank, x) in (0..<m).sorted(by: { (held[$0], -$0) > (held[$1], -$1) }).enumerated() where rank < q % m {
            targets[x] += 1
        }

        var price = Array(repeating: 0.0, count: m)
        var back = Array(repeating: UInt8(0), count: q * states.count)
        var best: [Int]? = nil
        var bestKey = (Int.max, Int.max)
        var step = 0.5
        for _ in 0..<viterbiPasses {
            guard let owners = pass(base: base, stateCount: states.count, fanout: fanout, succX: succX, succTo: succTo,
                                    lastOwner: lastOwner, closes: closes, start: start, startState: startState,
                                    price: price, back: &back) else { return nil }
            var counts = Array(repeating: 0, count: m)
            for o in owners { counts[o] += 1 }
            let imbalance = (0..<m).reduce(0) { $0 + abs(counts[$1] - targets[$1]) }
            let moves = (0..<q).reduce(0) { $0 + (owners[$1] != base[$1] ? 1 : 0) }
            if (imbalance, moves) < bestKey {
                bestKey = (imbalance, moves)
                best = owners
            }
            if imbalance == 0 { break }
            let scale = Double(max(1, q / m))
            for x in 0..<m { price[x] += step * Double(counts[x] - targets[x]) / scale }
            step *= 0.8
        }
        guard let owners = best else { return nil }
        var layout = ClaimLayout(base: base, memberCount: m, window: w)
        layout.owner = owners
        layout.recount()
        layout.fillReceivers(anchors: anchors)
        layout.repairBySwaps(allowExtraMoves: true)
        return layout
    }

    /// One Viterbi pass: the cheapest valid sequence under `price`, or nil if none closes.
    private static func pass(base: [Int], stateCount s: Int, fanout: Int, succX: [Int], succTo: [Int], lastOwner: [Int],
                             closes: [Bool], start: [Int], startState: Int, price: [Double], back: inout [UInt8]) -> [Int]? {
        let q = base.count
        let w1 = start.count
        var dp = Array(repeating: Double.infinity, count: s)
        dp[startState] = (0..<w1).reduce(0.0) { $0 + (start[$1] == base[$1] ? 0 : 1) + price[start[$1]] }
        var next = dp
        for p in w1..<q {
            let here = base[p]
            for t in 0..<s { next[t] = .infinity }
            for from in 0..<s where dp[from] < .infinity {
                let d = dp[from]
                for j in (from * fanout)..<(from * fanout + fanout) {
                    let x = succX[j]
                    let to = succTo[j]
                    let c = d + (x == here ? 0 : 1) + price[x]
                    if c < next[to] {
                        next[to] = c
                        back[p * s + to] = UInt8(truncatingIfNeeded: from)
                    }
                }
            }
            swap(&dp, &next)
        }
        var final = -1
        for t in 0..<s where closes[t] && dp[t] < .infinity && (final < 0 || dp[t] < dp[final]) { final = t }
        guard final >= 0 else { return nil }
        var owners = Array(repeating: 0, count: q)
        for j in 0..<w1 { owners[j] = start[j] }
        var state = final
        var p = q - 1
        while p >= w1 {
            owners[p] = lastOwner[state]
            state = Int(back[p * s + state])
            p -= 1
        }
        return owners
    }
}
