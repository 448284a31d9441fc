// The integer working state of one claim, and the steps that fill it. Members are indices
// into the claim's sorted member table; -1 marks a partition with no member owner (its
// owner left or was removed). Everything here is deterministic: scans run in a fixed
// order and ties break on the smaller index, so every node computes the same ring.
//
// Balance bookkeeping: every member ends with floor(Q/m) or ceil(Q/m) partitions, exactly
// r = Q mod m of them with ceil. Targets start at floor; the r ceil slots (`spareCeil`) are
// handed out lazily. A member at floor target holding more than floor is a "holder": it
// keeps its extra partition only while there are no more holders than spare slots, so the
// members that end at ceil are whichever the moves did not need to touch, and the
// lower bound (ceil slots to the largest holders) is met whenever spacing allows.

/// Mutable owners-by-index, counts and targets for the claim in progress.
struct ClaimLayout {
    let q: Int
    let memberCount: Int
    /// Any `window` consecutive partitions should have distinct owners.
    let window: Int
    /// The owner each partition had before the claim (-1: not a member), to count moves.
    let base: [Int]
    var owner: [Int]
    var count: [Int]
    var target: [Int]
    let floorCount: Int
    var spareCeil: Int

    /// Members at floor target holding more than floor partitions.
    var holders: Int

    init(base: [Int], memberCount m: Int, window: Int) {
        q = base.count
        memberCount = m
        self.window = max(1, min(window, q))
        self.base = base
        owner = base
        count = Array(repeating: 0, count: m)
        floorCount = q / m
        target = Array(repeating: floorCount, count: m)
        spareCeil = q % m
        holders = 0
        recount()
    }

    /// Recomputes counts and holders from `owner` (after the owners were set wholesale).
    mutating func recount() {
        count = Array(repeating: 0, count: memberCount)
        for o in owner where o >= 0 { count[o] += 1 }
        holders = (0..<memberCount).reduce(0) { $0 + (isHolder($1) ? 1 : 0) }
    }

    @inline(__always) func isHolder(_ x: Int) -> Bool { target[x] == floorCount && count[x] > floorCount }

    /// Gives the spare ceil targets to holders, largest first: the end of a claim.
    mutating func promoteHolders() {
        guard spareCeil > 0 else { return }
        let list = (0..<memberCount)
            .filter { isHolder($0) }
            .sorted { (count[$0], -$0) > (count[$1], -$1) }
        for x in list where spareCeil > 0 {
            target[x] = floorCount + 1
            spareCeil -= 1
            holders -= 1
        }
    }

    @inline(__always) func wrap(_ p: Int) -> Int { p >= q ? p - q : (p < 0 ? p + q : p) }

    /// How many of the `window - 1` partitions on each side of `p` `x` owns.
    @inline(__always) func conflicts(_ x: Int, at p: Int) -> Int {
        let reach = window - 1
        if reach == 0 { return 0 }
        var c = 0
        for d in 1...reach {
            if owner[wrap(p + d)] == x { c += 1 }
            if owner[wrap(p - d)] == x { c += 1 }
        }
        return c
    }

    /// 2: must receive (below target); 1: may take an unclaimed ceil slot; 0: full.
    @inline(__always) func want(_ x: Int) -> Int {
        if count[x] < target[x] { return 2 }
        if spareCeil > holders && target[x] == floorCount && count[x] == floorCount { return 1 }
        return 0
    }

    /// May give a partition away: above target by two, or by one when that extra is not
    /// needed to fill the ceil slots.
    @inline(__always) func isDonor(_ y: Int) -> Bool {
        guard y >= 0 else { return false }
        let over = count[y] - target[y]
        return over > 1 || (over == 1 && (target[y] > floorCount || holders > spareCeil))
    }

    mutating func assign(_ p: Int, to x: Int) {
        let y = owner[p]
        var before = isHolder(x) ? 1 : 0
        if y >= 0 {
            before += isHolder(y) ? 1 : 0
            count[y] -= 1
        }
        owner[p] = x
        count[x] += 1
        holders += (isHolder(x) ? 1 : 0) + (y >= 0 && isHolder(y) ? 1 : 0) - before
    }

    /// The fewest moves any balanced layout needs from `base`: what members lack of their
    /// target when the ceil targets go to the largest holders (see RingAudit.minimumMoves).
    static func lowerBound(base: [Int], memberCount m: Int) -> Int {
        let q = base.count
        var held = Array(repeating: 0, count: m)
        for o in base where o >= 0 { held[o] += 1 }
        held.sort(by: >)
        var gains = 0
        for (i, c) in held.enumerated() { gains += max(0, q / m + (i < q % m ? 1 : 0) - c) }
        return gains
    }

    /// Partitions whose owner differs from the owner before the claim.
    var moves: Int {
        var n = 0
        for p in 0..<q where owner[p] != base[p] { n += 1 }
        return n
    }

    /// Windows of `window` consecutive partitions (wrapping) in which some owner repeats.
    var violations: Int { ClaimLayout.violations(owner, window: window) }

    static func violations(_ owner: [Int], window: Int) -> Int {
        let q = owner.count
        let w = min(window, q)
        guard w > 1 else { return 0 }
        var bad = Array(repeating: false, count: q)
        for p in 0..<q where owner[p] >= 0 {
            for d in 1..<w where owner[(p + d) % q] == owner[p] {
                // Windows starting at p+d-w+1 ... p hold both p and p+d.
                for s in (p + d - w + 1)...p { bad[(s % q + q) % q] = true }
            }
        }
        return bad.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// Positions (a, b), b within `window - 1` after a, that hold the same owner.
    func violatingPairs() -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        guard window > 1 else { return pairs }
        for p in 0..<q where owner[p] >= 0 {
            for d in 1..<window where owner[wrap(p + d)] == owner[p] { pairs.append((p, wrap(p + d))) }
        }
        return pairs
    }
}
