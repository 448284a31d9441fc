import XCTest
@testable import Peer

final class HybridClockTests: XCTestCase {
    let n1: NodeID = "n1", n2: NodeID = "n2", n3: NodeID = "n3"

    func testNowFollowsWallClockAndNeverGoesBackwards() {
        var c = HybridClock(node: n1)
        let t1 = c.now(wallMs: 1000)
        XCTAssertEqual(t1, HLCTimestamp(physicalMs: 1000, logical: 0, node: n1))
        let t2 = c.now(wallMs: 1000)
        XCTAssertEqual(t2, HLCTimestamp(physicalMs: 1000, logical: 1, node: n1))
        let t3 = c.now(wallMs: 400)  // the wall clock stepped back
        XCTAssertEqual(t3, HLCTimestamp(physicalMs: 1000, logical: 2, node: n1))
        let t4 = c.now(wallMs: 1001)
        XCTAssertEqual(t4, HLCTimestamp(physicalMs: 1001, logical: 0, node: n1))
    }

    func testObserveMovesPastRemoteTimestampFromAFastClock() {
        var slow = HybridClock(node: n1)
        let remote = HLCTimestamp(physicalMs: 50_000, logical: 7, node: n2)
        let t = slow.observe(remote: remote, wallMs: 1000)
        XCTAssertGreaterThan(t, remote)
        XCTAssertEqual(t, HLCTimestamp(physicalMs: 50_000, logical: 8, node: n1))
        XCTAssertGreaterThan(slow.now(wallMs: 1001), remote, "later local events sort after what was seen")
    }

    func testLogicalOverflowCarriesIntoPhysicalAndTopSaturates() {
        var c = HybridClock(node: n1, floor: HLCTimestamp(physicalMs: 10, logical: UInt32.max, node: n1))
        XCTAssertEqual(c.now(wallMs: 5), HLCTimestamp(physicalMs: 11, logical: 0, node: n1))
        var top = HybridClock(node: n1)
        let hostile = HLCTimestamp(physicalMs: UInt64.max, logical: UInt32.max, node: n2)
        let t = top.observe(remote: hostile, wallMs: 1)
        XCTAssertEqual(t.physicalMs, UInt64.max)
        XCTAssertEqual(top.now(wallMs: 2).physicalMs, UInt64.max, "pinned at the top, no trap")
        XCTAssertFalse(HybridClock.isPlausible(hostile, wallMs: 1000, maxAheadMs: 60_000))
        XCTAssertTrue(HybridClock.isPlausible(HLCTimestamp(physicalMs: 61_000, logical: 0, node: n2), wallMs: 1000, maxAheadMs: 60_000))
    }

    func testFloorKeepsClockAboveTimestampsFromBeforeARestart() {
        var c = HybridClock(node: n1, floor: HLCTimestamp(physicalMs: 9_000, logical: 3, node: n1))
        XCTAssertEqual(c.now(wallMs: 100), HLCTimestamp(physicalMs: 9_000, logical: 4, node: n1))
    }

    /// Three nodes with skewed wall clocks exchange timestamps at random: every clock is
    /// strictly monotonic, and every event after a receive sorts after the message.
    func testMonotonicAndCausalUnderSkewedClocks() {
        let seed: UInt64 = 0x4C0C_4C0C
        var rng = SeededRandom(seed: seed)
        let ids = [n1, n2, n3]
        let skewMs: [Int64] = [0, -5_000, 120_000]
        var clocks = ids.map { HybridClock(node: $0) }
        var last = [HLCTimestamp?](repeating: nil, count: 3)
        var trueMs: Int64 = 1_000_000
        var inFlight: [(to: Int, ts: HLCTimestamp)] = []
        for step in 0..<20_000 {
            trueMs += Int64(rng.int(0..<3))
            let i = rng.int(0..<3)
            // Each node's wall clock is skewed and jittery, and sometimes steps backwards.
            let wall = UInt64(max(0, trueMs + skewMs[i] + Int64(rng.int(-50..<50))))
            let t: HLCTimestamp
            if !inFlight.isEmpty && rng.chance(40) {
                let k = rng.int(0..<inFlight.count)
                let m = inFlight.remove(at: k)
                t = clocks[m.to].observe(remote: m.ts, wallMs: wall)
                XCTAssertGreaterThan(t, m.ts, "receive must move past the message, seed \(seed) step \(step)")
                if let prev = last[m.to] { XCTAssertGreaterThan(t, prev, "seed \(seed) step \(step)") }
                last[m.to] = t
            } else {
                t = clocks[i].now(wallMs: wall)
                if let prev = last[i] { XCTAssertGreaterThan(t, prev, "seed \(seed) step \(step)") }
                last[i] = t
                if rng.chance(50) { inFlight.append((to: (i + 1 + rng.int(0..<2)) % 3, ts: t)) }
            }
            // Logical counters stay small: physical time keeps catching up.
            XCTAssertLessThan(t.logical, 100_000, "seed \(seed)")
        }
    }

    func testLWWMergeKeepsHighestTimestampAndNodeBreaksTies() {
        let v1 = LWWKeyState(timestamp: HLCTimestamp(physicalMs: 5, logical: 0, node: n1), value: .value([1]))
        let v2 = LWWKeyState(timestamp: HLCTimestamp(physicalMs: 5, logical: 0, node: n2), value: .value([2]))
        let v3 = LWWKeyState(timestamp: HLCTimestamp(physicalMs: 4, logical: 9, node: n3), value: .tombstone)
        XCTAssertEqual(v1.merged(with: v2), v2)
        XCTAssertEqual(v2.merged(with: v1), v2)
        XCTAssertEqual(v3.merged(with: v1), v1)
        XCTAssertEqual(v1.merged(with: v2).merged(with: v3), v1.merged(with: v2.merged(with: v3)))
        XCTAssertEqual(v1.merged(with: v1), v1)
    }

    func testLWWWriteWinsOverWhatTheCoordinatorHoldsEvenWithASlowClock() {
        var fast = HybridClock(node: n1), slow = HybridClock(node: n2)
        let first = LWWKeyState.written(.value([1]), over: nil, clock: &fast, wallMs: 1_000_000)
        // n2's wall clock is 10 minutes behind, but it holds n1's write when the next comes.
        let second = LWWKeyState.written(.value([2]), over: first, clock: &slow, wallMs: 400_000)
        XCTAssertGreaterThan(second.timestamp, first.timestamp)
        XCTAssertEqual(first.merged(with: second).read(), [2])
        let deleted = LWWKeyState.written(.tombstone, over: second, clock: &fast, wallMs: 1_000_000)
        XCTAssertTrue(second.merged(with: deleted).isAbsent)
        XCTAssertNil(second.merged(with: deleted).read())
    }
}
