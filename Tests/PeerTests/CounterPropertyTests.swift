import XCTest
@testable import Peer

/// Random histories of increments, SETs, DELs and merges of one key across 3-5 replicas:
/// merge is commutative, associative and idempotent on counter states, every state
/// round-trips through its record bytes, and with increments only, every replica reads
/// exactly the sum of all increments once the replicas have exchanged states.
final class CounterPropertyTests: XCTestCase {
    override func setUp() { continueAfterFailure = false }

    static let baseSeed: UInt64 = 0xC0DE_C0DE_0000_0001

    struct History {
        var replicas: [KeyState]
        var snapshots: [KeyState]
        var sum: Int64
    }

    func makeHistory(_ rng: inout SeededRandom, steps: Int, assignments: Bool) -> History {
        let n = rng.int(3..<6)
        let ids = (0..<n).map { NodeID("n\($0)")! }
        var replicas = Array(repeating: KeyState(), count: n)
        var counters = Array(repeating: UInt64(0), count: n)
        var snapshots: [KeyState] = []
        var sum: Int64 = 0
        for _ in 0..<steps {
            let r = rng.int(0..<n)
            let gap = UInt64(rng.int(1..<4))
            switch rng.int(0..<10) {
            case 0..<5:
                let delta = Int64(rng.int(-5...9))
                let outcome = replicas[r].increment(at: ids[r], by: delta, siblingLimit: Int.max) { () -> UInt64 in
                    counters[r] += gap
                    return counters[r]
                }
                if case .incremented = outcome { sum += delta }
            case 5 where assignments:
                let value: SiblingValue = rng.chance(30) ? .tombstone : .value(Array(String(rng.int(-100...100)).utf8))
                _ = replicas[r].write(at: ids[r], context: nil, value: value, siblingLimit: Int.max) { () -> UInt64 in
                    counters[r] += gap
                    return counters[r]
                }
            default:
                let o = rng.int(0..<n)
                if rng.chance(50) {
                    replicas[o].merge(replicas[r])
                } else {
                    let m = replicas[r].merged(with: replicas[o])
                    replicas[r] = m
                    replicas[o] = m
                }
            }
            if rng.chance(30) { snapshots.append(replicas[rng.int(0..<n)]) }
        }
        return History(replicas: replicas, snapshots: snapshots, sum: sum)
    }

    func testMergeLawsAndRecordRoundTrip() throws {
        for i in 0..<300 {
            let seed = Self.baseSeed &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, steps: 60, assignments: true)
            let states = h.snapshots + h.replicas
            for _ in 0..<20 {
                let a = states[rng.int(0..<states.count)], b = states[rng.int(0..<states.count)], c = states[rng.int(0..<states.count)]
                XCTAssertEqual(a.merged(with: b), b.merged(with: a), "commutative, seed \(seed)")
                XCTAssertEqual(a.merged(with: b).merged(with: c), a.merged(with: b.merged(with: c)), "associative, seed \(seed)")
                XCTAssertEqual(a.merged(with: a), a, "idempotent, seed \(seed)")
                XCTAssertEqual(a.merged(with: b).read(), b.merged(with: a).read(), "reads agree, seed \(seed)")
            }
            for s in states {
                XCTAssertNoThrow(try s.validate())
                XCTAssertNoThrow(try s.counter.validate())
                XCTAssertEqual(try KeyRecord(decoding: KeyRecord.siblings(s).encode()), .siblings(s), "seed \(seed)")
            }
        }
    }

    func testEveryIncrementCountsOnceAfterExchange() throws {
        for i in 0..<300 {
            let seed = Self.baseSeed &+ 10_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeHistory(&rng, steps: 80, assignments: false)
            let all = h.replicas.reduce(KeyState()) { $0.merged(with: $1) }
            let expected: [[UInt8]] = h.sum == 0 && all.counter.isEmpty ? [] : [Array(String(h.sum).utf8)]
            XCTAssertEqual(all.read().values, expected, "seed \(seed)")
            // In any order of exchange.
            let reversed = h.replicas.reversed().reduce(KeyState()) { $0.merged(with: $1) }
            XCTAssertEqual(reversed, all, "seed \(seed)")
        }
    }

    /// The same laws for lww states: random increments, SETs, DELs and merges across
    /// replicas, each replica stamping with its own hybrid clock (wall clocks that drift).
    func makeLWWHistory(_ rng: inout SeededRandom, steps: Int, assignments: Bool) -> (replicas: [LWWKeyState?], snapshots: [LWWKeyState], sum: Int64) {
        let n = rng.int(3..<6)
        let ids = (0..<n).map { NodeID("n\($0)")! }
        var clocks = ids.map { HybridClock(node: $0) }
        var walls = (0..<n).map { _ in UInt64(rng.int(1_000...1_050)) }
        var replicas: [LWWKeyState?] = Array(repeating: nil, count: n)
        var snapshots: [LWWKeyState] = []
        var sum: Int64 = 0
        for _ in 0..<steps {
            let r = rng.int(0..<n)
            walls[r] += UInt64(rng.int(0...3))
            switch rng.int(0..<10) {
            case 0..<5:
                let delta = Int64(rng.int(-5...9))
                let ts = replicas[r].map { clocks[r].observe(remote: $0.timestamp, wallMs: walls[r]) } ?? clocks[r].now(wallMs: walls[r])
                if case .success(let done) = LWWKeyState.incremented(by: delta, at: ids[r], over: replicas[r], timestamp: ts, newEpoch: { UInt64(r + 1) }) {
                    replicas[r] = done.state
                    sum += delta
                }
            case 5 where assignments:
                let value: SiblingValue = rng.chance(30) ? .tombstone : .value(Array(String(rng.int(-100...100)).utf8))
                replicas[r] = LWWKeyState.written(value, over: replicas[r], clock: &clocks[r], wallMs: walls[r])
            default:
                let o = rng.int(0..<n)
                guard let from = replicas[r] else { continue }
                replicas[o] = replicas[o].map { $0.merged(with: from) } ?? from
            }
            if rng.chance(30), let s = replicas[rng.int(0..<n)] { snapshots.append(s) }
        }
        return (replicas, snapshots, sum)
    }

    func testLWWMergeLawsAndEveryIncrementCounts() throws {
        for i in 0..<300 {
            let seed = Self.baseSeed &+ 20_000 &+ UInt64(i)
            var rng = SeededRandom(seed: seed)
            let h = makeLWWHistory(&rng, steps: 60, assignments: true)
            let states = h.snapshots + h.replicas.compactMap { $0 }
            guard !states.isEmpty else { continue }
            for _ in 0..<20 {
                let a = states[rng.int(0..<states.count)], b = states[rng.int(0..<states.count)], c = states[rng.int(0..<states.count)]
                XCTAssertEqual(a.merged(with: b), b.merged(with: a), "commutative, seed \(seed)")
                XCTAssertEqual(a.merged(with: b).merged(with: c), a.merged(with: b.merged(with: c)), "associative, seed \(seed)")
                XCTAssertEqual(a.merged(with: a), a, "idempotent, seed \(seed)")
            }
            for s in states { XCTAssertEqual(try KeyRecord(decoding: KeyRecord.lww(s).encode()), .lww(s), "seed \(seed)") }

            let only = makeLWWHistory(&rng, steps: 80, assignments: false)
            let all = only.replicas.compactMap { $0 }
            guard let first = all.first else { continue }
            let merged = all.dropFirst().reduce(first) { $0.merged(with: $1) }
            XCTAssertEqual(merged.read().map { String(decoding: $0, as: UTF8.self) }, String(only.sum), "seed \(seed)")
            XCTAssertEqual(all.reversed().dropFirst().reduce(all.last ?? first) { $0.merged(with: $1) }, merged, "any order, seed \(seed)")
        }
    }
}
