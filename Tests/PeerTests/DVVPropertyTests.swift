import XCTest
@testable import Peer


/// Random histories of writes, reads and merges of one key across 3-5 replicas, checked
/// against the DVV laws and against "no acknowledged write is lost".
final class DVVPropertyTests: XCTestCase {
    override func setUp() { continueAfterFailure = false }

    struct Write {
        let dot: Dot
        /// The context the write superseded: the client's, or the replica's own.
        let effectiveContext: VersionVector
    }

    struct History {
        var replicas: [KeyState]
        var writes: [Write]
        /// States seen along the way, for the merge laws.
        var snapshots: [KeyState]
    }

    static let baseSeed: UInt64 = 0xC0FF_EE00_5EED_0001

    /// One random history. Counters are node-wide with random gaps (other keys' writes).
    func makeHistory(_ rng: inout SeededRandom, steps: Int) -> History {
        let n = rng.int(3..<6)
        let ids = (0..<n).map { NodeID("n\($0)")! }
        var replicas = Array(repeating: KeyState(), count: n)
        var counters = Array(repeating: UInt64(0), count: n)
        var clientContexts: [VersionVector] = []
        var writes: [Write] = []
        var snapshots: [KeyState] = []
        for step in 0..<steps {
            let r = rng.int(0..<n)
            switch rng.int(0..<10) {
            case 0..<4:  // a write
                let ctx: VersionVector?
                switch rng.int(0..<10) {
                case 0..<4: ctx = nil                                            // SET / DEL
                case 4..<7: ctx = clientContexts.isEmpty ? nil : clientContexts[rng.int(0..<clientContexts.count)]  // PUTV, maybe stale
                case 7..<9: ctx = replicas[rng.int(0..<n)].read().context         // PUTV right after a GETV elsewhere
                default: ctx = VersionVector()                                   // PUTV ""
                }
                let effective = ctx ?? replicas[r].context
                let value: SiblingValue = rng.chance(20) ? .tombstone : .value([UInt8(truncatingIfNeeded: step), UInt8(r)])
                let gap = UInt64(rng.int(1..<4))
                let outcome = replicas[r].write(at: ids[r], context: ctx, value: value, siblingLimit: Int.max) { () -> UInt64 in
                    counters[r] += gap
                    return counters[r]
                }
                guard case .written(let dot) = outcome else {
                    XCTFail("write refused: \(outcome)")
                    continue
                }
                writes.append(Write(dot: dot, effectiveContext: effective))
            case 4..<6:  // a client reads somewhere and keeps the context
                clientContexts.append(replicas[r].read().context)
            default:  // replication / repair: one-way or both ways
                let o = rng.int(0..<n)
                replicas[r].merge(replicas[o])
                if rng.chance(50) { replicas[o].merge(replicas[r]) }
            }
            if rng.chance(30) { snapshots.append(replicas[r]) }
        }
        snapshots.append(contentsOf: replicas)
        return History(replicas: replicas, writes: writes, snapshots: snapshots)
    }

    func testRandomHistoriesKeepInvariantsAndLoseNoWrite() {
        let cases = 3000
        for i in 0..<cases {
            let seed = Self.baseSeed &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, steps: rng.int(5..<60))
            for s in h.snapshots {
                XCTAssertNoThrow(try s.validate(), "seed \(seed)")
            }
            // Full anti-entropy: everyone merges everyone, in a random order.
            var all = KeyState()
            for s in h.replicas.shuffled(using: &rng) { all.merge(s) }
            let converged = h.replicas.map { $0.merged(with: all) }
            XCTAssertTrue(converged.allSatisfy { $0 == all }, "replicas did not converge, seed \(seed)")
            XCTAssertNoThrow(try all.validate(), "seed \(seed)")

            // No acknowledged write lost: each write is a sibling, or a write that saw it
            // superseded it. And exactly those not superseded survive.
            let present = Set(all.dots)
            var expected: Set<Dot> = []
            for w in h.writes {
                let superseded = h.writes.contains { $0.dot != w.dot && $0.effectiveContext.covers(w.dot) }
                if !superseded { expected.insert(w.dot) }
                if !present.contains(w.dot) {
                    XCTAssertTrue(superseded, "write \(w.dot) lost without a successor, seed \(seed)")
                }
                XCTAssertTrue(all.context.covers(w.dot), "context forgot \(w.dot), seed \(seed)")
            }
            XCTAssertEqual(present, expected, "seed \(seed)")
            if !(present == expected) { return }
        }
    }

    func testMergeIsCommutativeAssociativeIdempotent() {
        var checked = 0
        for i in 0..<1500 {
            let seed = Self.baseSeed &+ 1_000_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, steps: rng.int(10..<50))
            let pool = h.snapshots + [KeyState()]
            for _ in 0..<4 {
                let x = pool[rng.int(0..<pool.count)], y = pool[rng.int(0..<pool.count)], z = pool[rng.int(0..<pool.count)]
                XCTAssertEqual(x.merged(with: y), y.merged(with: x), "commutativity, seed \(seed)")
                XCTAssertEqual(x.merged(with: y).merged(with: z), x.merged(with: y.merged(with: z)), "associativity, seed \(seed)")
                XCTAssertEqual(x.merged(with: x), x, "idempotence, seed \(seed)")
                XCTAssertEqual(x.merged(with: KeyState()), x, "identity, seed \(seed)")
                XCTAssertNoThrow(try x.merged(with: y).validate(), "seed \(seed)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 6000)
    }

    func testSequentialHistoriesThroughPrimariesNeverCreateSiblings() {
        // Every write is coordinated by a replica that has received all earlier writes
        // (replication completes between writes): one sibling at every step.
        for i in 0..<500 {
            let seed = Self.baseSeed &+ 2_000_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let n = rng.int(3..<6)
            let ids = (0..<n).map { NodeID("n\($0)")! }
            var replicas = Array(repeating: KeyState(), count: n)
            var counters = Array(repeating: UInt64(0), count: n)
            for step in 0..<rng.int(1..<30) {
                let r = rng.int(0..<n)
                let ctx: VersionVector? = rng.chance(50) ? nil : replicas[rng.int(0..<n)].read().context
                let value: SiblingValue = rng.chance(20) ? .tombstone : .value([UInt8(truncatingIfNeeded: step)])
                counters[r] += UInt64(rng.int(1..<5))
                let outcome = replicas[r].write(at: ids[r], context: ctx, value: value) { counters[r] }
                guard case .written = outcome else { return XCTFail("\(outcome), seed \(seed)") }
                for o in 0..<n where o != r { replicas[o].merge(replicas[r]) }
                XCTAssertTrue(replicas.allSatisfy { $0.siblings.count == 1 && $0 == replicas[r] }, "seed \(seed) step \(step)")
            }
        }
    }

    func testSiblingLimitHoldsForWritesWithoutContextAndNeverBlocksWritesWithOne() {
        var refusals = 0, setRefusals = 0
        for i in 0..<500 {
            let seed = Self.baseSeed &+ 3_000_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let limit = rng.int(1...4)
            let ids: [NodeID] = ["n0", "n1", "n2"]
            var replicas = Array(repeating: KeyState(), count: 3)
            var counters: [UInt64] = [0, 0, 0]
            for step in 0..<40 {
                let r = rng.int(0..<3)
                if rng.chance(30) {
                    replicas[r].merge(replicas[rng.int(0..<3)])
                    continue
                }
                let kind = rng.int(0..<3)
                let ctx: VersionVector? = kind == 0 ? nil : (kind == 1 ? VersionVector() : replicas[rng.int(0..<3)].read().context)
                let before = replicas[r]
                let outcome = replicas[r].write(at: ids[r], context: ctx, value: .value([UInt8(step)]), siblingLimit: limit) { () -> UInt64 in
                    counters[r] += 1
                    return counters[r]
                }
                switch outcome {
                case .written:
                    if ctx?.isEmpty ?? true {
                        XCTAssertLessThanOrEqual(replicas[r].siblings.count, limit, "seed \(seed) step \(step)")
                        XCTAssertLessThanOrEqual(before.siblings.count, limit, "seed \(seed) step \(step)")
                    }
                case .refusedSiblingLimit(let n, let l):
                    XCTAssertTrue(ctx?.isEmpty ?? true, "a write with a context was refused, seed \(seed)")
                    XCTAssertEqual(l, limit)
                    XCTAssertGreaterThan(n, limit)
                    XCTAssertEqual(replicas[r], before, "a refused write changed the state, seed \(seed)")
                    refusals += 1
                    if ctx == nil { setRefusals += 1 }
                default:
                    XCTFail("\(outcome), seed \(seed)")
                }
            }
        }
        XCTAssertGreaterThan(refusals, 100, "the histories must reach the limit")
        XCTAssertGreaterThan(setRefusals, 0, "and SETs on keys already past it")
    }
}
