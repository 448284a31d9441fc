// `chorus bench ring`: grows a simulated cluster one join at a time from 1 node to
// --nodes and shrinks it back by seeded random removals, claiming at every step, and
// prints per step the partitions moved against the lower bound, the ownership spread,
// N-distinct violations and the claim time. Transfers are settled at once (no data).
import Gossip
import Ring

#if canImport(Glibc)
import Glibc
#endif

enum RingBench {
    static let help = """
    usage: chorus bench ring [--nodes 1000] [--partitions 4096] [--n 3] [--seed 1] [--every 1]

    Grows a simulated cluster from 1 to --nodes members and shrinks it back (seeded random
    removals), with Q = --partitions and target N = --n. One line per step (every --every-th
    step; the first, last and any step missing a target are always shown), then a summary
    saying whether each target was met:
      moves within 1.1x of the minimum (summed over all steps, and per step where m > N+1)
      ownership within floor(Q/m)..ceil(Q/m) at every step
      0 N-distinct violations wherever m >= N+1 (m == N is reported: impossible unless N | Q)
      each claim under 50 ms at --nodes members (thread CPU time; wall time is printed too)
    """

    struct Step {
        let index: Int
        let op: String
        let members: Int
        let moved: Int
        let minimum: Int
        let ownMin: Int
        let ownMax: Int
        let bounds: ClosedRange<Int>
        let violations: Int
        /// Thread CPU time of the claim: what it costs, unaffected by other processes.
        let claimMs: Double
        /// Wall time of the claim, which a loaded machine inflates.
        let wallMs: Double
    }

    static func run(_ args: [String]) -> Int32 {
        let flags: Flags
        let nodes, q, n, every: Int
        let seed: UInt64
        do {
            flags = try Flags(args, valued: ["nodes", "partitions", "n", "seed", "every"], boolean: ["help"])
            if flags.has("help") {
                print(help)
                return 0
            }
            nodes = try flags.int("nodes", default: 1000, range: 1...100_000)
            q = try flags.int("partitions", default: 4096, range: 1...65_536)
            n = try flags.int("n", default: 3, range: 1...64)
            seed = UInt64(try flags.int("seed", default: 1, range: 0...Int.max))
            every = try flags.int("every", default: 1, range: 1...Int.max)
        } catch {
            printError("\(error)")
            return 2
        }
        guard (try? Ring.partitionBits(of: q)) != nil else {
            printError("--partitions must be a power of two up to 65536, got \(q)")
            return 2
        }
        let ids = (0..<nodes).map { "10.\($0 / 62_500).\($0 / 250 % 250).\($0 % 250 + 1):7946" }
        guard var ring = try? Ring(partitionCount: q, owner: ids[0], targetN: n) else { return 1 }

        print("bench ring: Q=\(q) N=\(n) nodes 1 -> \(nodes) -> 1, seed \(seed)")
        print(hashFigure())
        print(header)
        var steps: [Step] = []
        var members = [ids[0]]
        var rng = SwimRandom(seed: seed)  // SplitMix64, as every seeded run in the project
        let clock = ContinuousClock()

        func claim(_ op: String) {
            let before = ring.owners
            let minimum = RingAudit.minimumMoves(from: before, members: members)
            var next = ring
            let cpuStart = threadCPUMs()
            let elapsed = clock.measure { next = Claim.next(current: ring, members: members, targetN: n) }
            let cpuMs = threadCPUMs() - cpuStart
            let moved = ring.transitions(to: next).count
            ring = next.settled()
            let counts = ring.ownershipCounts()
            let owned = members.map { counts[$0] ?? 0 }
            let step = Step(index: steps.count + 1, op: op, members: members.count, moved: moved, minimum: minimum,
                            ownMin: owned.min() ?? 0, ownMax: owned.max() ?? 0,
                            bounds: RingAudit.balanceBounds(partitionCount: q, memberCount: members.count),
                            violations: RingAudit.violations(ring.owners, n: n),
                            claimMs: cpuMs,
                            wallMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
            steps.append(step)
            let total = 2 * (nodes - 1)
            if step.index % every == 0 || step.index == 1 || step.index == total || !meets(step, n: n, nodes: nodes) {
                print(line(step))
            }
        }

        for i in 1..<nodes {
            members.append(ids[i])
            claim("join")
        }
        while members.count > 1 {
            let victim = Int(rng.next() % UInt64(members.count))
            members.remove(at: victim)
            claim("remove")
        }
        return summarize(steps, n: n, q: q, nodes: nodes)
    }

    /// CPU time consumed by this thread so far, in milliseconds.
    static func threadCPUMs() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
    }

    /// Key-hash speed on 16-byte keys (the placement hash every request computes).
    static func hashFigure() -> String {
        let keys = 4_000_000
        var key = Array("user:0000000000x".utf8)
        let seed = KeyHash.namespaceSeed("default")
        var sink: UInt64 = 0
        let start = threadCPUMs()
        for i in 0..<keys {
            key[6] = UInt8(truncatingIfNeeded: i)
            key[7] = UInt8(truncatingIfNeeded: i >> 8)
            key[8] = UInt8(truncatingIfNeeded: i >> 16)
            sink ^= KeyHash.hash(seed: seed, key: key)
        }
        let ns = (threadCPUMs() - start) * 1e6 / Double(keys)
        return "key hash: \(fmt(ns, 1)) ns CPU per 16-byte key (XXH64, \(keys) keys, checksum \(sink & 0xFF))"
    }

    static let header = " step  op       m    moved      min  ratio   own min..max  bound      viol    cpu ms  wall ms"

    static func line(_ s: Step) -> String {
        let ratio = s.minimum == 0 ? (s.moved == 0 ? "1.00" : "  inf") : fmt(Double(s.moved) / Double(s.minimum), 2)
        var out = pad(s.index, 5) + "  "
        out += padRight(s.op, 6)
        out += pad(s.members, 6) + pad(s.moved, 9) + pad(s.minimum, 9)
        out += " " + pad(ratio, 6) + "   "
        out += pad("\(s.ownMin)..\(s.ownMax)", 12) + "  "
        out += padRight("\(s.bounds.lowerBound)..\(s.bounds.upperBound)", 9)
        out += pad(s.violations, 6) + pad(fmt(s.claimMs, 2), 10) + pad(fmt(s.wallMs, 2), 9)
        return out
    }

    /// Whether a step meets the per-step targets (moves judged only where m > N+1).
    static func meets(_ s: Step, n: Int, nodes: Int) -> Bool {
        let balanced = s.bounds.contains(s.ownMin) && s.bounds.contains(s.ownMax)
        let spaced = s.members < n + 1 || s.violations == 0
        let moves = s.members <= n + 1 || Double(s.moved) <= 1.1 * Double(s.minimum)
        return balanced && spaced && moves
    }

    static func summarize(_ steps: [Step], n: Int, q: Int, nodes: Int) -> Int32 {
        let moved = steps.reduce(0) { $0 + $1.moved }
        let minimum = steps.reduce(0) { $0 + $1.minimum }
        let totalRatio = minimum == 0 ? 1 : Double(moved) / Double(minimum)
        let large = steps.filter { $0.members > n + 1 }
        let overMoves = large.filter { Double($0.moved) > 1.1 * Double($0.minimum) }
        let worstLarge = large.map { $0.minimum == 0 ? ($0.moved == 0 ? 1 : .infinity) : Double($0.moved) / Double($0.minimum) }.max() ?? 1
        let unbalanced = steps.filter { !($0.bounds.contains($0.ownMin) && $0.bounds.contains($0.ownMax)) }
        let spacedSteps = steps.filter { $0.members >= n + 1 }
        let violating = spacedSteps.filter { $0.violations > 0 }
        let atN = steps.filter { $0.members == n }
        let atMax = steps.filter { $0.members >= nodes - nodes / 100 }
        let maxMsAtMax = atMax.map(\.claimMs).max() ?? 0
        let maxMs = steps.map(\.claimMs).max() ?? 0
        let meanMs = steps.isEmpty ? 0 : steps.reduce(0) { $0 + $1.claimMs } / Double(steps.count)
        let wallAtMax = atMax.map(\.wallMs).max() ?? 0

        func verdict(_ ok: Bool) -> String { ok ? "MET" : "NOT MET" }
        let movesOK = totalRatio <= 1.1 && overMoves.isEmpty
        let balanceOK = unbalanced.isEmpty
        let spacingOK = violating.isEmpty
        let timeOK = maxMsAtMax < 50
        print("")
        print("summary: \(steps.count) claims, Q=\(q), N=\(n), up to \(nodes) nodes")
        print("  moves: \(moved) moved vs \(minimum) minimum = \(fmt(totalRatio, 3))x overall; worst step with m > N+1: \(fmt(worstLarge, 3))x; steps over 1.1x with m > N+1: \(overMoves.count) -> \(verdict(movesOK))")
        if let over = overMoves.first { print("    first over: \(line(over))") }
        let smallSteps = steps.filter { $0.members <= n + 1 }
        print("    steps with m <= N+1 (not judged, spacing forces re-striping): " + smallSteps.map { "m=\($0.members) \($0.moved)/\($0.minimum)" }.joined(separator: ", "))
        print("  balance: \(unbalanced.count) steps outside floor..ceil -> \(verdict(balanceOK))")
        print("  N-distinct: \(violating.count) steps with violations where m >= N+1 -> \(verdict(spacingOK)); at m == N: " + atN.map { "\($0.violations)" }.joined(separator: ", ") + " violating windows (\(q % n == 0 ? "N divides Q" : "N does not divide Q: at least one is unavoidable; bound N-1"))")
        print("  claim time (thread CPU): max \(fmt(maxMsAtMax, 2)) ms at m >= \(nodes - nodes / 100), max \(fmt(maxMs, 2)) ms overall, mean \(fmt(meanMs, 3)) ms -> \(verdict(timeOK)); wall max at m >= \(nodes - nodes / 100): \(fmt(wallAtMax, 2)) ms")
        let all = movesOK && balanceOK && spacingOK && timeOK
        print("result: " + (all ? "all targets met" : "some targets NOT met"))
        return all ? 0 : 1
    }

    static func pad(_ v: Int, _ width: Int) -> String { pad(String(v), width) }
    static func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    static func padRight(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
    static func fmt(_ v: Double, _ digits: Int) -> String {
        if v.isInfinite { return "inf" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var s = String(r)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        }
        return s
    }
}
