// The integer working state of one claim, and the steps that fill it. Members are indices
// into the claim's sorted member table; -1 marks a partition with no member owner (its
// owner left or was removed). Everything here is deterministic: scans run in a fixed
// order and ties break on the smaller index, so every node computes the same ring.
//
// Balance bookkeeping: every member's target is floor(Q/m) or ceil(Q/m). Members that
// already hold ceil or more keep a ceil target first (largest holders first), which is the
// assignment that moves the fewest partitions; the remaining `spareCeil` slots go to
// whichever floor members can take one more partition without breaking the spacing.

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

    init(base: [Int], memberCount m: Int, window: Int) {
        q = base.count
        memberCount = m
        self.window = max(1, min(window, q))
        self.base = base
        owner = base
        count = Array(repeating: 0, count: m)
        for o in base where o >= 0 { count[o] += 1 }
        floorCount = q / m
        target = Array(repeating: floorCount, count: m)
        spareCeil = q % m
        promoteHolders()
    }

    /// Gives ceil targets to members already holding ceil or more, largest first.
    mutating func promoteHolders() {
        guard spareCeil > 0 else { return }
        let holders = (0..<memberCount)
            .filter { count[$0] > floorCount && target[$0] == floorCount }
            .sorted { (count[$0], -$0) > (count[$1], -$1) }
        for x in holders where spareCeil > 0 {
            target[x] = floorCount + 1
            spareCeil -= 1
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

    /// 2: must receive (below target); 1: may take one spare ceil slot; 0: full.
    @inline(__always) func want(_ x: Int) -> Int {
        if count[x] < target[x] { return 2 }
        if spareCeil > 0 && target[x] == floorCount && count[x] == floorCount { return 1 }
        return 0
    }

    @inline(__always) func isDonor(_ y: Int) -> Bool { y >= 0 && count[y] > target[y] }

    mutating func assign(_ p: Int, to x: Int) {
        let y = owner[p]
        if y >= 0 { count[y] -= 1 }
        owner[p] = x
        count[x] += 1
        if count[x] > target[x] && spareCeil > 0 && target[x] == floorCount {
            target[x] = floorCount + 1
            spareCeil -= 1
        }
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
