import XCTest
@testable import Peer

/// Random histories of one key where forwarded writes are applied twice (a failover) and
/// later writes supersede one of the copies, checked against the merge laws with the
/// superseded set (SupersededWrites.swift, KeyState+Merge.swift) and against "a superseded
/// write never comes back" (docs/FAULTS.md, "Two copies of one write"). DVVPropertyTests is
/// the model; its histories carry no write ids.
final class KeyStateSupersededPropertyTests: XCTestCase {
    override func setUp() { continueAfterFailure = false }

    static let baseSeed: UInt64 = 0x5_0BE2_5EDE_0001
    let ids: [NodeID] = ["a", "b", "c"]

    struct History {
        var replicas: [KeyState]
        var snapshots: [KeyState]
        /// Write ids some write superseded (dropped a sibling carrying it).
        var supersededIDs: Set<UInt64>
        /// Ids written, with every dot each was given.
        var dotsOf: [UInt64: [Dot]]
    }

    /// One history on 3 replicas: SET/DEL (no context) or PUTV (a context read somewhere),
    /// each with a fresh write id 70% of the time; half of those are applied again at a second
    /// coordinator, before or after some replication; merges in between. `retryLate` also
    /// retries a write after later writes, as a duplicate forward would.
    /// Where a PUTV's context was read: at its coordinator just before (as a SET), at its
    /// coordinator some time before, or at any replica.
    enum Contexts { case ownFresh, ownStale, anywhere }

    func makeHistory(_ rng: inout SeededRandom, writes: Int, contexts: Contexts = .ownFresh) -> History {
        var readAt: [[VersionVector]] = [[], [], []]
        var replicas = [KeyState](repeating: KeyState(), count: 3)
        var counters: [UInt64] = [0, 0, 0]
        var nextID: UInt64 = 1
        var h = History(replicas: [], snapshots: [], supersededIDs: [], dotsOf: [:])
        var written: [(id: UInt64, value: SiblingValue, context: VersionVector?)] = []
        func apply(_ r: Int, _ id: UInt64, _ value: SiblingValue, _ ctx: VersionVector?) {
            let before = replicas[r]
            counters[r] += UInt64(rng.int(1...3))
            let n = counters[r]
            let outcome = replicas[r].write(at: ids[r], context: ctx, value: value, siblingLimit: Int.max, writeID: id) { () -> UInt64 in n }
            switch outcome {
            case .written(let dot):
                if before.siblings.contains(where: { $0.dot == dot }) { break }  // a retry met its own copy
                h.dotsOf[id, default: []].append(dot)
                let kept = Set(replicas[r].siblings.map(\.dot))
                for s in before.siblings where s.writeID != 0 && !kept.contains(s.dot) { h.supersededIDs.insert(s.writeID) }
            case .alreadySuperseded:
                XCTAssertEqual(replicas[r], before, "a superseded retry changed the state")
            default:
                XCTFail("write refused: \(outcome)")
            }
        }
        for step in 0..<writes {
            let r = rng.int(0..<3)
            let id: UInt64 = rng.chance(70) ? nextID &* 0x9E37_79B9_7F4A_7C15 : 0
            nextID += 1
            readAt[r].append(replicas[r].read().context)
            var ctx: VersionVector? = nil
            if rng.chance(30) {
                switch contexts {
                case .ownFresh: ctx = replicas[r].read().context
                case .ownStale: ctx = readAt[r][rng.int(0..<readAt[r].count)]
                case .anywhere: ctx = replicas[rng.int(0..<3)].read().context
                }
            }
            let value: SiblingValue = rng.chance(25) ? .tombstone : .value([UInt8(truncatingIfNeeded: step)])
            apply(r, id, value, ctx)
            if id != 0 { written.append((id, value, ctx)) }
            if id != 0 && rng.chance(50) {
                let r2 = (r + rng.int(1...2)) % 3
                if rng.chance(50) { replicas[r2].merge(replicas[r]) }
                apply(r2, id, value, ctx)
            }
            if !written.isEmpty && rng.chance(10) {
                // A duplicate forward of an earlier write, delivered late.
                let w = written[rng.int(0..<written.count)]
                apply(rng.int(0..<3), w.id, w.value, w.context)
            }
            if rng.chance(40) {
                let (i, j) = (rng.int(0..<3), rng.int(0..<3))
                replicas[i].merge(replicas[j])
            }
            if rng.chance(30) { h.snapshots.append(replicas[rng.int(0..<3)]) }
        }
        h.replicas = replicas
        h.snapshots += replicas
        return h
    }

    /// The merge laws hold exactly while the superseded ids fit the set (nothing evicted);
    /// the histories are sized so that most do, and those that do not are skipped here
    /// (SupersededWritesTests-style checks of eviction are below).
    func testMergeIsCommutativeAssociativeIdempotentWithSupersededCopies() {
        var checked = 0, withSuperseded = 0
        for i in 0..<2000 {
            let seed = Self.baseSeed &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, writes: rng.int(2...10))
            guard h.supersededIDs.count <= SupersededWrites.limit else { continue }
            let pool = h.snapshots + [KeyState()]
            for _ in 0..<4 {
                let x = pool[rng.int(0..<pool.count)], y = pool[rng.int(0..<pool.count)], z = pool[rng.int(0..<pool.count)]
                XCTAssertEqual(x.merged(with: y), y.merged(with: x), "commutativity, seed \(seed)")
                XCTAssertEqual(x.merged(with: y).merged(with: z), x.merged(with: y.merged(with: z)), "associativity, seed \(seed)")
                XCTAssertEqual(x.merged(with: x), x, "idempotence, seed \(seed)")
                XCTAssertEqual(x.merged(with: KeyState()), x, "identity, seed \(seed)")
                XCTAssertNoThrow(try x.merged(with: y).validate(), "seed \(seed)")
                XCTAssertEqual(try KeyRecord(decoding: KeyRecord.siblings(x).encode()), .siblings(x), "record round trip, seed \(seed)")
                checked += 1
                if !x.superseded.isEmpty { withSuperseded += 1 }
            }
        }
        XCTAssertGreaterThan(checked, 6000, "most histories fit the set")
        XCTAssertGreaterThan(withSuperseded, 2000, "and many states carry superseded ids")
    }

    /// Replicas that exchange states in any order end in one state, which holds no write a
    /// later write superseded and each client write at most once.
    func testEveryMergeOrderConvergesAndNoSupersededWriteComesBack() {
        var histories = 0, backWithoutTheSet = 0
        for i in 0..<2000 {
            let seed = Self.baseSeed &+ 1_000_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, writes: rng.int(2...10))
            guard h.supersededIDs.count <= SupersededWrites.limit else { continue }
            histories += 1
            var orders: [[Int]] = [[0, 1, 2], [2, 0, 1], [1, 2, 0]]
            orders.append((0..<3).shuffled(using: &rng))
            var ends: [KeyState] = []
            for order in orders {
                var rs = h.replicas
                for _ in 0..<3 { for i in order { for j in order where i != j { rs[i].merge(rs[j]) } } }
                XCTAssertTrue(rs.allSatisfy { $0 == rs[0] }, "replicas converge, seed \(seed)")
                ends.append(rs[0])
            }
            XCTAssertTrue(ends.allSatisfy { $0 == ends[0] }, "every merge order ends in one state, seed \(seed)")
            let end = ends[0]
            let tagged = end.siblings.map(\.writeID).filter { $0 != 0 }
            XCTAssertEqual(tagged.count, Set(tagged).count, "no client write twice: \(end.siblings), seed \(seed)")
            for s in end.siblings where s.writeID != 0 {
                XCTAssertFalse(h.supersededIDs.contains(s.writeID), "superseded write \(s.writeID) is back as \(s.dot), seed \(seed)")
            }
            // The same history without the set (what merge did before) lets some come back.
            var bare = h.replicas.map { KeyState(uncheckedContext: $0.context, siblings: $0.siblings, counter: $0.counter) }
            for _ in 0..<3 { for i in 0..<3 { for j in 0..<3 where i != j { bare[i].merge(bare[j]) } } }
            if bare[0].siblings.contains(where: { h.supersededIDs.contains($0.writeID) }) { backWithoutTheSet += 1 }
        }
        XCTAssertGreaterThan(histories, 1500)
        XCTAssertGreaterThan(backWithoutTheSet, 10, "the histories do produce superseded copies that a set-less merge keeps")
    }

    /// PUTVs whose context was read earlier or at another replica: such a context can cover
    /// one copy of a retried write that its coordinator never held, so nothing records the
    /// id, and whether the other copy survives depends on whether it met its twin (folded)
    /// first. Merge then stays commutative and idempotent and replicas that exchange states
    /// converge (WriteIDTests), but associativity is not asserted: it still fails in a few
    /// histories, as before the set (docs/VERSIONS.md, "Merge").
    func testContextsReadElsewhereKeepCommutativityIdempotenceAndConvergence() {
        for (n, contexts) in [Contexts.ownStale, .anywhere].enumerated() {
            for i in 0..<1000 {
                let seed = Self.baseSeed &+ 3_000_000 &+ UInt64(n * 1000 + i)
                var rng = SeededRandom(seed: seed)
                let h = makeHistory(&rng, writes: rng.int(2...10), contexts: contexts)
                guard h.supersededIDs.count <= SupersededWrites.limit else { continue }
                let pool = h.snapshots + [KeyState()]
                for _ in 0..<4 {
                    let x = pool[rng.int(0..<pool.count)], y = pool[rng.int(0..<pool.count)]
                    XCTAssertEqual(x.merged(with: y), y.merged(with: x), "commutativity, \(contexts), seed \(seed)")
                    XCTAssertEqual(x.merged(with: x), x, "idempotence, \(contexts), seed \(seed)")
                    XCTAssertNoThrow(try x.merged(with: y).validate(), "\(contexts), seed \(seed)")
                }
                var rs = h.replicas
                for _ in 0..<3 { for i in 0..<3 { for j in 0..<3 where i != j { rs[i].merge(rs[j]) } } }
                XCTAssertTrue(rs.allSatisfy { $0 == rs[0] }, "replicas converge, \(contexts), seed \(seed)")
                for s in rs[0].siblings where s.writeID != 0 {
                    XCTAssertFalse(h.supersededIDs.contains(s.writeID), "superseded write back, \(contexts), seed \(seed)")
                }
            }
        }
    }

    /// The set alone: merge is commutative, associative and idempotent even when it evicts,
    /// keeps at most `limit` entries, per id the highest rank, and the top ranks.
    func testSupersededSetMergeLawsHoldWithEviction() {
        var rng = SeededRandom(seed: Self.baseSeed &+ 2_000_000)
        func randomSet() -> SupersededWrites {
            SupersededWrites((0..<rng.int(0...12)).map { _ in SupersededWrite(writeID: UInt64(rng.int(1...20)), rank: UInt64(rng.int(1...30))) })
        }
        var evicted = 0
        for _ in 0..<3000 {
            let x = randomSet(), y = randomSet(), z = randomSet()
            XCTAssertEqual(x.merged(with: y), y.merged(with: x))
            XCTAssertEqual(x.merged(with: y).merged(with: z), x.merged(with: y.merged(with: z)))
            XCTAssertEqual(x.merged(with: x), x)
            XCTAssertEqual(x.merged(with: SupersededWrites()), x)
            let m = x.merged(with: y)
            XCTAssertNoThrow(try m.validate())
            var best: [UInt64: UInt64] = [:]
            for e in x.entries + y.entries { best[e.writeID] = max(best[e.writeID] ?? 0, e.rank) }
            let expected = best.map { SupersededWrite(writeID: $0.key, rank: $0.value) }
                .sorted(by: SupersededWrite.ranksAbove).prefix(SupersededWrites.limit)
            XCTAssertEqual(Set(m.entries), Set(expected))
            if best.count > SupersededWrites.limit { evicted += 1 }
        }
        XCTAssertGreaterThan(evicted, 500, "the sets overflow often enough to test eviction")
    }
}
