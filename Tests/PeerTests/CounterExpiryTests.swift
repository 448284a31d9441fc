import XCTest
import Storage
@testable import Peer

/// Counters and expiry together (docs/VERSIONS.md, "Expiry" and "Counters"): INCR keeps a
/// key's expiry as Redis does, an expired counter reads as absent and counts again from 0,
/// a SET with an expiry over a counter replaces it until it expires, and increments that
/// the expired write had not seen stay counted.
final class CounterExpiryTests: XCTestCase {
    let x: NodeID = "x", y: NodeID = "y"
    let t0: UInt64 = 1_700_000_000_000
    var counters: [NodeID: UInt64] = [:]

    func next(_ node: NodeID) -> () -> UInt64 {
        { [self] in counters[node, default: 0] += 1; return counters[node, default: 0] }
    }

    func incr(_ s: inout KeyState, at node: NodeID, by delta: Int64 = 1, nowMs: UInt64) -> IncrementOutcome {
        s.increment(at: node, by: delta, nowMs: nowMs, nextCounter: next(node))
    }

    func set(_ s: inout KeyState, at node: NodeID, _ value: String, expiresAtMs: UInt64) {
        let outcome = s.write(at: node, context: nil, value: .value(Array(value.utf8)), expiresAtMs: expiresAtMs, nextCounter: next(node))
        guard case .written = outcome else { return XCTFail("SET refused: \(outcome)") }
    }

    func reads(_ s: KeyState, atMs now: UInt64) -> [String] { s.read(atMs: now).values.map { String(decoding: $0, as: UTF8.self) } }

    func testIncrKeepsTheExpiryAndAnExpiredCounterStartsAgainFromZero() throws {
        var s = KeyState()
        set(&s, at: x, "10", expiresAtMs: t0 + 1_000)
        guard case .incremented(_, value: 11) = incr(&s, at: x, nowMs: t0) else { return XCTFail("\(s)") }
        XCTAssertEqual(s.live(atMs: t0), [LiveValue(bytes: Array("11".utf8), expiresAtMs: t0 + 1_000)], "INCR keeps the TTL")
        XCTAssertEqual(try KeyRecord(decoding: KeyRecord.siblings(s).encode()), .siblings(s), "an expiring increment round-trips")
        XCTAssertEqual(KeyRecord.siblings(s).absentFromMs, t0 + 1_000, "reaped like a tombstone once it expired")

        XCTAssertEqual(reads(s, atMs: t0 + 1_000), [], "expired: absent")
        XCTAssertTrue(s.isAbsent(atMs: t0 + 1_000))
        // Redis: INCR on an expired key starts from 0, and the new value has no expiry.
        guard case .incremented(_, value: 1) = incr(&s, at: x, nowMs: t0 + 1_000) else { return XCTFail("\(s)") }
        XCTAssertEqual(s.live(atMs: t0 + 5_000), [LiveValue(bytes: Array("1".utf8), expiresAtMs: 0)])
        XCTAssertNil(KeyRecord.siblings(s).absentFromMs)
    }

    func testSetWithAnExpiryOverACounterReplacesItUntilItExpires() throws {
        var s = KeyState()
        for _ in 0..<3 { _ = incr(&s, at: x, nowMs: t0) }
        set(&s, at: x, "hello", expiresAtMs: t0 + 10)
        XCTAssertEqual(reads(s, atMs: t0), ["hello"])
        guard case .refused(.notInteger) = incr(&s, at: x, nowMs: t0) else { return XCTFail("INCR on a string") }
        XCTAssertEqual(reads(s, atMs: t0 + 10), [], "the SET saw every increment: nothing is left once it expired")
        XCTAssertEqual(KeyRecord.siblings(s).absentFromMs, t0 + 10)
    }

    func testIncrementsTheExpiredWriteHadNotSeenStayCounted() throws {
        // x sets 5 with an expiry while y increments concurrently (a partition); after the
        // merge the SET is the base until it expires, and y's increment counts on top both
        // before and after.
        var base = KeyState()
        _ = incr(&base, at: x, nowMs: t0)
        var atX = base, atY = base
        set(&atX, at: x, "5", expiresAtMs: t0 + 100)
        guard case .incremented = incr(&atY, at: y, by: 2, nowMs: t0) else { return XCTFail() }
        let merged = atX.merged(with: atY)
        XCTAssertEqual(merged, atY.merged(with: atX))
        XCTAssertEqual(reads(merged, atMs: t0), ["7"], "the SET replaces what it saw; y's +2 is on top")
        XCTAssertEqual(reads(merged, atMs: t0 + 100), ["2"], "expired SET: only the increment it had not seen is left")
        XCTAssertNil(KeyRecord.siblings(merged).absentFromMs, "never reaped: an acknowledged increment is on it")
    }

    func testLWWIncrKeepsTheExpiryAndAnExpiredOneCountsFromZero() throws {
        func ts(_ ms: UInt64, _ n: NodeID) -> HLCTimestamp { HLCTimestamp(physicalMs: t0 + ms, logical: 0, node: n) }
        let set = LWWKeyState(timestamp: ts(1, x), value: .value(Array("4".utf8)), expiresAtMs: t0 + 50)
        guard case .success(let one) = LWWKeyState.incremented(by: 1, at: x, over: set, timestamp: ts(2, x), nowMs: t0 + 2, newEpoch: { 1 }) else { return XCTFail() }
        XCTAssertEqual(one.value, 5)
        XCTAssertEqual(one.state.expiresAtMs, t0 + 50, "INCR keeps the TTL")
        XCTAssertEqual(try KeyRecord(decoding: KeyRecord.lww(one.state).encode()), .lww(one.state))
        XCTAssertEqual(one.state.read(atMs: t0 + 49), Array("5".utf8))
        XCTAssertNil(one.state.read(atMs: t0 + 50))
        XCTAssertEqual(KeyRecord.lww(one.state).absentFromMs, t0 + 50)
        guard case .success(let again) = LWWKeyState.incremented(by: 1, at: x, over: one.state, timestamp: ts(60, x), nowMs: t0 + 60, newEpoch: { 2 }) else { return XCTFail() }
        XCTAssertEqual(again.value, 1, "an expired counter starts from 0")
        XCTAssertEqual(again.state.expiresAtMs, 0)
        XCTAssertEqual(KeyRecord.lww(again.state).live(atMs: t0 + 60), [LiveValue(bytes: Array("1".utf8), expiresAtMs: 0)])
    }
}
