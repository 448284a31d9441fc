import XCTest
import Storage
@testable import Peer

/// PN-counter keys (docs/VERSIONS.md, "Counters"): INCR at a coordinator, the read rules,
/// SET/DEL against concurrent increments, overflow, decimal starts, and record bytes.
final class CounterTests: XCTestCase {
    let x: NodeID = "x", y: NodeID = "y", z: NodeID = "z"
    var counters: [NodeID: UInt64] = [:]

    /// A node-wide dot counter per node, as LocalReplica's lease hands out.
    func next(_ node: NodeID) -> () -> UInt64 {
        { [self] in counters[node, default: 0] += 1; return counters[node, default: 0] }
    }

    @discardableResult
    func incr(_ s: inout KeyState, at node: NodeID, by delta: Int64 = 1, writeID: UInt64 = 0) -> IncrementOutcome {
        s.increment(at: node, by: delta, writeID: writeID, nextCounter: next(node))
    }

    func set(_ s: inout KeyState, at node: NodeID, _ value: String) {
        let outcome = s.write(at: node, context: nil, value: .value(Array(value.utf8)), nextCounter: next(node))
        guard case .written = outcome else { return XCTFail("SET refused: \(outcome)") }
    }

    func del(_ s: inout KeyState, at node: NodeID) {
        let outcome = s.delete(at: node, context: nil, nextCounter: next(node))
        guard case .written = outcome else { return XCTFail("DEL refused: \(outcome)") }
    }

    func reads(_ s: KeyState) -> [String] { s.read().values.map { String(decoding: $0, as: UTF8.self) } }

    func roundTrips(_ s: KeyState, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = KeyRecord.siblings(s).encode()
        XCTAssertEqual(try KeyRecord(decoding: bytes), .siblings(s), file: file, line: line)
    }

    func testIncrementsFromAbsentAndFromADecimalValue() throws {
        var s = KeyState()
        XCTAssertEqual(incr(&s, at: x), .incremented(Dot(actor: x, counter: 1), value: 1))
        incr(&s, at: x, by: 41)
        XCTAssertEqual(reads(s), ["42"])
        XCTAssertEqual(s.siblings.count, 1, "sequential increments never make siblings")
        try roundTrips(s)

        var t = KeyState()
        set(&t, at: x, "10")
        XCTAssertEqual(incr(&t, at: x, by: -3), .incremented(Dot(actor: x, counter: 4), value: 7))
        XCTAssertEqual(reads(t), ["7"])
        set(&t, at: x, "hello")
        XCTAssertEqual(reads(t), ["hello"])
        XCTAssertEqual(incr(&t, at: x), .refused(.notInteger))
        for bad in ["007", " 1", "1.5", "", "9223372036854775808", "+1"] {
            var u = KeyState()
            set(&u, at: x, bad)
            XCTAssertEqual(incr(&u, at: x), .refused(.notInteger), bad)
            XCTAssertEqual(reads(u), [bad], "a refused increment changes nothing")
        }
        XCTAssertEqual(CounterRefusal.notInteger.message, "ERR value is not an integer or out of range")
    }

    func testOverflowIsRefusedAsRedisDoes() throws {
        var s = KeyState()
        set(&s, at: x, "9223372036854775806")
        XCTAssertEqual(incr(&s, at: x), .incremented(Dot(actor: x, counter: 2), value: Int64.max))
        let before = s
        XCTAssertEqual(incr(&s, at: x), .refused(.overflow))
        XCTAssertEqual(s, before)
        XCTAssertEqual(CounterRefusal.overflow.message, "ERR increment or decrement would overflow")
        var m = KeyState()
        set(&m, at: x, "-9223372036854775807")
        XCTAssertEqual(incr(&m, at: x, by: -1), .incremented(Dot(actor: x, counter: 4), value: Int64.min))
        XCTAssertEqual(incr(&m, at: x, by: -1), .refused(.overflow))
        XCTAssertEqual(reads(m), ["-9223372036854775808"])
        // Large alternating increments never overflow an entry while the value stays in range.
        var a = KeyState()
        for _ in 0..<4 {
            XCTAssertNotEqual(incr(&a, at: x, by: Int64.max), .refused(.overflow))
            XCTAssertNotEqual(incr(&a, at: x, by: -Int64.max), .refused(.overflow))
        }
        XCTAssertEqual(reads(a), ["0"])
    }

    func testConcurrentIncrementsOnBothSidesAllCount() throws {
        var base = KeyState()
        incr(&base, at: x, by: 5)
        var a = base, b = base, c = base
        incr(&a, at: x, by: 2)
        incr(&a, at: x, by: 1)
        incr(&b, at: y, by: 10)
        incr(&c, at: z, by: -4)
        let merged = a.merged(with: b).merged(with: c)
        XCTAssertEqual(reads(merged), ["14"], "5 + 3 + 10 - 4")
        XCTAssertEqual(merged.siblings.count, 3, "three concurrent increment siblings, one value")
        try roundTrips(merged)
        // The next increment at any coordinator supersedes them all.
        var d = merged
        XCTAssertEqual(incr(&d, at: y), .incremented(Dot(actor: y, counter: counters[y]!), value: 15))
        XCTAssertEqual(d.siblings.count, 1)
        XCTAssertEqual(reads(d.merged(with: a).merged(with: base)), ["15"], "stale copies add nothing")
    }

    /// The rule: a SET or DEL replaces the counter and the increments it has seen; the
    /// increments it has not seen (concurrent ones) stay on top.
    func testSetAndDeleteAgainstConcurrentIncrements() throws {
        var base = KeyState()
        incr(&base, at: x, by: 5)

        var setSide = base, incrSide = base
        set(&setSide, at: x, "100")
        incr(&incrSide, at: y, by: 3)
        let afterSet = setSide.merged(with: incrSide)
        XCTAssertEqual(reads(afterSet), ["103"], "SET 100 replaced the 5; the concurrent +3 is on top")
        XCTAssertEqual(afterSet, incrSide.merged(with: setSide))
        try roundTrips(afterSet)
        var next = afterSet
        XCTAssertEqual(incr(&next, at: x), .incremented(Dot(actor: x, counter: counters[x]!), value: 104))

        var delSide = base, incrSide2 = base
        del(&delSide, at: x)
        XCTAssertTrue(delSide.isAbsent)
        incr(&incrSide2, at: y, by: 2)
        incr(&incrSide2, at: y, by: 2)
        let afterDel = delSide.merged(with: incrSide2)
        XCTAssertFalse(afterDel.isAbsent)
        XCTAssertEqual(reads(afterDel), ["4"], "DEL replaced the 5; the concurrent +4 is kept")
        try roundTrips(afterDel)

        // A DEL that saw every increment stays absent, whatever stale copy comes back.
        var gone = afterDel
        del(&gone, at: y)
        XCTAssertTrue(gone.merged(with: incrSide2).merged(with: base).isAbsent)
        // ...and a later INCR starts from 0.
        var fresh = gone
        XCTAssertEqual(incr(&fresh, at: z, by: 7), .incremented(Dot(actor: z, counter: counters[z]!), value: 7))
        XCTAssertEqual(reads(fresh.merged(with: gone).merged(with: afterDel)), ["7"])

        // A SET of a non-integer concurrent with an INCR: the value reads as set.
        var word = base, plus = base
        set(&word, at: x, "hello")
        incr(&plus, at: y)
        XCTAssertEqual(reads(word.merged(with: plus)), ["hello"])
        // Two concurrent SETs with an increment: two siblings, each with the increment on top.
        var s1 = base, s2 = base, s3 = base
        set(&s1, at: x, "10")
        set(&s2, at: y, "20")
        incr(&s3, at: z)
        let both = s1.merged(with: s2).merged(with: s3)
        XCTAssertEqual(Set(reads(both)), ["11", "21"])
        var refused = both
        XCTAssertEqual(incr(&refused, at: x), .refused(.conflict(siblings: 2)))
    }

    func testAKeyWithoutACounterKeepsItsBytes() throws {
        var s = KeyState()
        set(&s, at: x, "007")
        XCTAssertTrue(s.counter.isEmpty)
        XCTAssertEqual(reads(s), ["007"])
        // Old records decode to states without a counter and re-encode byte for byte.
        let bytes = KeyRecord.siblings(s).encode()
        // ...'s', vector {x: 1}, 1 sibling (#0, 1, value "007"), and nothing after it.
        XCTAssertEqual(Array(bytes[5...]), [0x73, 0x01, 0x01, 0x78, 0x01, 0x01, 0x00, 0x01, 0x00, 0x03, 0x30, 0x30, 0x37])
        XCTAssertEqual(try KeyRecord(decoding: bytes).encode(), bytes)
        var setOverCounter = KeyState()
        incr(&setOverCounter, at: x)
        set(&setOverCounter, at: x, "007")
        XCTAssertEqual(reads(setOverCounter), ["007"], "a SET that saw every increment reads as written")
        try roundTrips(setOverCounter)
    }

    func testARetriedIncrementAtTheSameCoordinatorCountsOnce() throws {
        var s = KeyState()
        incr(&s, at: x, by: 2, writeID: 77)
        let again = incr(&s, at: x, by: 2, writeID: 77)
        XCTAssertEqual(again, .incremented(Dot(actor: x, counter: 1), value: 2))
        XCTAssertEqual(reads(s), ["2"])
    }

    func testCounterSectionBytes() throws {
        var s = KeyState()
        XCTAssertEqual(incr(&s, at: x, by: -2), .incremented(Dot(actor: x, counter: 1), value: -2))
        let bytes = KeyRecord.siblings(s).encode()
        // body: 's', vector {x:1}, 1 sibling (#0, 1, value "-2"), section: 1 entry x (epoch 1, applied 1,
        // zigzag(-2)=3), 1 mark (#0, incremented, seen: 1 entry, the same).
        XCTAssertEqual(Array(bytes[5...]), [0x73, 0x01, 0x01, 0x78, 0x01, 0x01, 0x00, 0x01, 0x00, 0x02, 0x2d, 0x32,
                                            0x06, 0x01, 0x01, 0x78, 0x01, 0x01, 0x03, 0x01, 0x00, 0x01, 0x01, 0x01, 0x78, 0x01, 0x01, 0x03])
        // Damage is refused with a typed error, never a trap.
        func resealed(_ b: [UInt8]) -> [UInt8] {
            var out = b
            let crc = CRC32C.mask(CRC32C.checksum(out[5...]))
            for i in 0..<4 { out[1 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
            return out
        }
        for cut in 6..<bytes.count where cut != 17 {
            XCTAssertThrowsError(try KeyRecord(decoding: resealed(Array(bytes[..<cut]))), "cut at \(cut)")
        }
        // Without its section the record is the plain value it was before counters existed.
        guard case .siblings(let plain) = try KeyRecord(decoding: resealed(Array(bytes[..<17]))) else { return XCTFail() }
        XCTAssertTrue(plain.counter.isEmpty)
        // Absolute offsets: section tag 17, entry count 18, entry 19...23 (epoch 21), mark
        // count 24, mark index 25, kind 26, seen count 27, seen entry 28...32 (applied 31).
        // Two marks, a mark index past the siblings, a mark of kind 2, a section without
        // entries, an entry of epoch 0, a mark that saw nothing and one that saw more than
        // the entries hold are refused.
        for (at, byte) in [(24, UInt8(2)), (25, UInt8(1)), (26, UInt8(2)), (18, UInt8(0)), (21, UInt8(0)), (27, UInt8(0)), (31, UInt8(2))] {
            var bad = bytes
            bad[at] = byte
            XCTAssertThrowsError(try KeyRecord(decoding: resealed(bad)), "byte \(at) = \(byte)")
        }
    }

    func testLWWCounters() throws {
        var clock = HybridClock(node: x)
        func ts(_ ms: UInt64, _ node: NodeID) -> HLCTimestamp { HLCTimestamp(physicalMs: ms, logical: 0, node: node) }
        guard case .success(let one) = LWWKeyState.incremented(by: 5, at: x, over: nil, timestamp: ts(10, x), newEpoch: { 1 }) else { return XCTFail() }
        XCTAssertEqual(one.value, 5)
        guard case .success(let a) = LWWKeyState.incremented(by: 2, at: x, over: one.state, timestamp: ts(20, x), newEpoch: { 1 }),
              case .success(let b) = LWWKeyState.incremented(by: 10, at: y, over: one.state, timestamp: ts(21, y), newEpoch: { 1 }) else { return XCTFail() }
        let m = a.state.merged(with: b.state)
        XCTAssertEqual(m, b.state.merged(with: a.state))
        XCTAssertEqual(m.read().map { String(decoding: $0, as: UTF8.self) }, "17", "a later timestamp never drops an increment")
        // A SET with the later timestamp replaces what it saw; the concurrent increment is on top.
        let set = LWWKeyState.written(.value(Array("100".utf8)), over: one.state, clock: &clock, wallMs: 30)
        XCTAssertEqual(set.merged(with: a.state).read().map { String(decoding: $0, as: UTF8.self) }, "102")
        let del = LWWKeyState.written(.tombstone, over: one.state, clock: &clock, wallMs: 40)
        XCTAssertTrue(del.isAbsent)
        XCTAssertEqual(del.merged(with: b.state).read().map { String(decoding: $0, as: UTF8.self) }, "10")
        XCTAssertTrue(del.merged(with: one.state).isAbsent)
        for state in [m, set, del, del.merged(with: b.state)] {
            XCTAssertEqual(try KeyRecord(decoding: KeyRecord.lww(state).encode()), .lww(state))
        }
        guard case .failure(.notInteger) = LWWKeyState.incremented(by: 1, at: x, over: LWWKeyState(timestamp: ts(1, x), value: .value([0x61])),
                                                                     timestamp: ts(2, x), newEpoch: { 1 }) else { return XCTFail() }
    }

    func testMergeEntriesTakesTheEntryWithMoreIncrements() throws {
        let a = try CounterEntries([CounterEntry(node: y, applied: 1, total: -1), CounterEntry(node: x, applied: 3, total: 9)])
        let b = try CounterEntries([CounterEntry(node: x, applied: 2, total: 100), CounterEntry(node: z, applied: 4, total: 4)])
        let m = a.merged(with: b)
        XCTAssertEqual(m, b.merged(with: a))
        XCTAssertEqual(m.entries.map(\.total), [9, -1, 4])
        XCTAssertEqual(m.sum, CounterSum(applied: 8, total: 12))
        XCTAssertThrowsError(try CounterEntries([CounterEntry(node: x, applied: 0, total: 0)]))
        XCTAssertThrowsError(try CounterEntries([CounterEntry(node: x, applied: 1, total: 0), CounterEntry(node: x, applied: 2, total: 0)]))
        XCTAssertThrowsError(try CounterEntries([CounterEntry(node: x, epoch: 0, applied: 1, total: 0)]))
        // Two epochs of one node are two entries; the newest is the one it continues.
        let epochs = try CounterEntries([CounterEntry(node: x, epoch: 9, applied: 1, total: 5), CounterEntry(node: x, epoch: 2, applied: 4, total: 1)])
        XCTAssertEqual(epochs.entries.map(\.epoch), [2, 9])
        XCTAssertEqual(epochs[x]?.epoch, 9)
        XCTAssertEqual(epochs.adding(1, at: x, newEpoch: 50)?.entries.map(\.applied), [4, 2])
        XCTAssertEqual(epochs.adding(1, at: y, newEpoch: 50)?.entries.last, CounterEntry(node: y, epoch: 50, applied: 1, total: 1))
        for v: Int64 in [0, 1, -1, Int64.max, Int64.min, 12345, -98765] { XCTAssertEqual(ZigZag.decode(ZigZag.encode(v)), v) }
    }

    /// A coordinator that no longer holds its own entry (its copy of the key was dropped after
    /// an ownership handoff, and it coordinates again before the data comes back) starts a new
    /// epoch: the old copy of its entry, still held elsewhere, and the new one both count.
    func testACoordinatorThatLostItsEntryStartsANewEpoch() throws {
        var s = KeyState()
        for _ in 0..<3 { incr(&s, at: x, by: 10) }
        let elsewhere = s  // y still holds x's entry (epoch 1, applied 3, total 30)
        var lost = KeyState()  // x's own copy is gone
        incr(&lost, at: x, by: 5)
        XCTAssertEqual(lost.counter.entries.entries.map(\.epoch), [4], "the new epoch is the dot's counter")
        let merged = lost.merged(with: elsewhere)
        XCTAssertEqual(merged, elsewhere.merged(with: lost))
        XCTAssertEqual(reads(merged), ["35"], "30 from the old epoch + 5 from the new one")
        var next = merged
        XCTAssertEqual(incr(&next, at: x), .incremented(Dot(actor: x, counter: counters[x]!), value: 36))
        XCTAssertEqual(next.counter.entries.entries.map(\.applied), [3, 2], "x continues its newest epoch")
        try roundTrips(next)
        // The same in an lww namespace.
        func ts(_ ms: UInt64) -> HLCTimestamp { HLCTimestamp(physicalMs: ms, logical: 0, node: x) }
        guard case .success(let old) = LWWKeyState.incremented(by: 30, at: x, over: nil, timestamp: ts(1), newEpoch: { 1 }),
              case .success(let fresh) = LWWKeyState.incremented(by: 5, at: x, over: nil, timestamp: ts(2), newEpoch: { 7 }) else { return XCTFail() }
        XCTAssertEqual(old.state.merged(with: fresh.state).read().map { String(decoding: $0, as: UTF8.self) }, "35")
    }

    /// Every single-byte change to a record with a counter section is refused with a typed
    /// error or decodes to a state that re-encodes to exactly those bytes (canonical): never
    /// a trap, never two encodings of one state.
    func testEveryByteFlipOfACounterRecordIsRefusedOrCanonical() throws {
        var s = KeyState()
        incr(&s, at: x, by: 300)
        var other = s
        incr(&other, at: y, by: -70)
        set(&s, at: x, "12")
        let merged = s.merged(with: other)
        let bytes = KeyRecord.siblings(merged).encode()
        func resealed(_ b: [UInt8]) -> [UInt8] {
            var out = b
            let crc = CRC32C.mask(CRC32C.checksum(out[5...]))
            for i in 0..<4 { out[1 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
            return out
        }
        var refused = 0, decoded = 0
        for at in 5..<bytes.count {
            for v in 0...255 where UInt8(v) != bytes[at] {
                var bad = bytes
                bad[at] = UInt8(v)
                let sealed = resealed(bad)
                do {
                    let record = try KeyRecord(decoding: sealed)
                    XCTAssertEqual(record.encode(), sealed, "byte \(at) = \(v) decoded to a state that encodes differently")
                    decoded += 1
                } catch {
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(decoded, 0, "some flips are other valid states (a total, a value byte)")
        // The lww form too.
        guard case .success(let l) = LWWKeyState.incremented(by: 9, at: x, over: nil, timestamp: HLCTimestamp(physicalMs: 5, logical: 0, node: x),
                                                             newEpoch: { 3 }) else { return XCTFail() }
        let lwwBytes = KeyRecord.lww(l.state).encode()
        for at in 5..<lwwBytes.count {
            for v in 0...255 where UInt8(v) != lwwBytes[at] {
                var bad = lwwBytes
                bad[at] = UInt8(v)
                let sealed = resealed(bad)
                if let record = try? KeyRecord(decoding: sealed) { XCTAssertEqual(record.encode(), sealed, "lww byte \(at) = \(v)") }
            }
        }
    }

    /// Observed-remove: concurrent DELs (or SETs), each after increments on its own side,
    /// replace every increment one of them had seen; only increments none had seen are kept.
    func testConcurrentAssignmentsReplaceEveryIncrementOneOfThemSaw() throws {
        var base = KeyState()
        incr(&base, at: z, by: 1)
        var left = base, right = base, late = base
        for _ in 0..<5 { incr(&left, at: x, by: 10) }
        del(&left, at: x)
        for _ in 0..<3 { incr(&right, at: y, by: 100) }
        del(&right, at: y)
        let both = left.merged(with: right)
        XCTAssertTrue(both.isAbsent, "each DEL saw its own side's increments: nothing is left, \(reads(both))")
        XCTAssertEqual(both, right.merged(with: left))
        try roundTrips(both)
        // An increment neither DEL saw (concurrent with both) is kept, alone.
        incr(&late, at: z, by: 7)
        XCTAssertEqual(reads(both.merged(with: late)), ["7"])
        // The same with two SETs: each sibling is its own value, plus only the unseen +7.
        var l2 = base, r2 = base
        for _ in 0..<5 { incr(&l2, at: x, by: 10) }
        set(&l2, at: x, "1000")
        for _ in 0..<3 { incr(&r2, at: y, by: 100) }
        set(&r2, at: y, "2000")
        XCTAssertEqual(Set(reads(l2.merged(with: r2))), ["1000", "2000"])
        XCTAssertEqual(Set(reads(l2.merged(with: r2).merged(with: late))), ["1007", "2007"])
        // lww: the later DEL is the base; increments it saw are gone, the other side's stay.
        var clock = HybridClock(node: x)
        guard case .success(let one) = LWWKeyState.incremented(by: 4, at: y, over: nil,
                                                               timestamp: HLCTimestamp(physicalMs: 1, logical: 0, node: y), newEpoch: { 1 }) else { return XCTFail() }
        let gone = LWWKeyState.written(.tombstone, over: one.state, clock: &clock, wallMs: 50)
        XCTAssertTrue(gone.merged(with: one.state).isAbsent)
    }
}
