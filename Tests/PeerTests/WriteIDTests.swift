// One client write applied by two coordinators (a forward that timed out, then a failover)
// has one write id under two dots: it must read as one sibling, on every replica, after any
// order of merges (RECORDS.md, "Write ids").
import Storage
import XCTest
@testable import Peer

final class WriteIDTests: XCTestCase {
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c")

    func write(_ s: inout KeyState, at r: NodeID, _ v: String?, id: UInt64, counter: UInt64, context: VersionVector? = nil) -> WriteOutcome {
        s.write(at: r, context: context, value: v.map { .value(Array($0.utf8)) } ?? .tombstone, writeID: id) { () -> UInt64 in counter }
    }

    func testARetryAtTheSameReplicaChangesNothing() {
        var s = KeyState()
        XCTAssertEqual(write(&s, at: a, "x", id: 77, counter: 1), .written(Dot(actor: a, counter: 1)))
        let before = s
        XCTAssertEqual(write(&s, at: a, "x", id: 77, counter: 2), .written(Dot(actor: a, counter: 1)))
        XCTAssertEqual(s, before)
        // A different write, or one without an id, is a new version as always.
        XCTAssertEqual(write(&s, at: a, "y", id: 78, counter: 3), .written(Dot(actor: a, counter: 3)))
        XCTAssertEqual(s.siblings.count, 1)
    }

    func testTwoCoordinatorsOfOneWriteMergeIntoOneSibling() {
        var x = KeyState(), y = KeyState()
        _ = write(&x, at: a, "v", id: 9, counter: 5)
        _ = write(&y, at: b, "v", id: 9, counter: 3)
        let m = x.merged(with: y)
        XCTAssertEqual(m, y.merged(with: x))
        XCTAssertEqual(m.siblings.map(\.dot), [Dot(actor: a, counter: 5)], "the lower dot stays")
        XCTAssertTrue(m.context.covers(Dot(actor: b, counter: 3)), "the folded dot stays covered")
        XCTAssertEqual(m.merged(with: y), m, "the folded copy cannot come back")
        XCTAssertEqual(m.merged(with: m), m)
        // Siblings without ids are never folded, even with equal values.
        var p = KeyState(), q = KeyState()
        _ = write(&p, at: a, "v", id: 0, counter: 1)
        _ = write(&q, at: b, "v", id: 0, counter: 1)
        XCTAssertEqual(p.merged(with: q).siblings.count, 2)
    }

    /// Random histories where some writes are applied again at a second replica under the
    /// same id: merge stays commutative and idempotent, replicas that exchange states
    /// converge, and the state they converge to holds each client write at most once.
    ///
    /// Not asserted here, because it does not hold for every history: that every merge ORDER
    /// ends in the same state. A write that drops one copy of a retried write records its id
    /// (SupersededWrites.swift), and merge then drops the other copy in any order
    /// (KeyStateSupersededPropertyTests asserts that for SETs, DELs and PUTVs with their
    /// coordinator's context). But a PUTV whose context was read at another replica can cover
    /// a copy its coordinator never held: nothing records the id, and whether the other copy
    /// stays depends on whether it met its twin (folded away) or the PUTV first, like any
    /// concurrent write (SPEC 6). Anti-entropy merges whole states pairwise, so replicas still
    /// end up equal.
    func testRetriedWritesConvergeInEveryMergeOrder() {
        var rng = SeededRandom(seed: 0x5EED_1D00)
        let ids = [a, b, c]
        for round in 0..<300 {
            var replicas = [KeyState](repeating: KeyState(), count: 3)
            var counters: [UInt64] = [0, 0, 0]
            var nextID: UInt64 = 1
            for _ in 0..<rng.int(1...12) {
                let r = rng.int(0..<3)
                let id: UInt64 = rng.chance(70) ? nextID : 0
                nextID += 1
                let ctx: VersionVector? = rng.chance(30) ? replicas[rng.int(0..<3)].context : nil
                let value = "w\(nextID)"
                counters[r] += 1
                _ = write(&replicas[r], at: ids[r], value, id: id, counter: counters[r], context: ctx)
                if id != 0 && rng.chance(50) {
                    // The retry at another coordinator, before or after some replication.
                    let r2 = (r + rng.int(1...2)) % 3
                    if rng.chance(50) { replicas[r2].merge(replicas[r]) }
                    counters[r2] += 1
                    _ = write(&replicas[r2], at: ids[r2], value, id: id, counter: counters[r2], context: ctx)
                }
                if rng.chance(40) {
                    let (i, j) = (rng.int(0..<3), rng.int(0..<3))
                    replicas[i].merge(replicas[j])
                }
            }
            for x in replicas {
                for y in replicas {
                    XCTAssertEqual(x.merged(with: y), y.merged(with: x), "commutative, round \(round)")
                }
                XCTAssertEqual(x.merged(with: x), x, "idempotent, round \(round)")
            }
            // Anti-entropy until nothing changes, in two different orders.
            func converge(_ order: [Int]) -> KeyState {
                var rs = replicas
                for _ in 0..<4 { for i in order { for j in order where i != j { rs[i].merge(rs[j]) } } }
                XCTAssertTrue(rs.allSatisfy { $0 == rs[0] }, "replicas converge, round \(round)")
                return rs[0]
            }
            let one = converge([0, 1, 2]), other = converge([2, 0, 1])
            // Two groups that converged apart meet: one state again, each write once.
            let met = one.merged(with: other)
            XCTAssertEqual(met.merged(with: one), met, "round \(round)")
            XCTAssertEqual(met.merged(with: other), met, "round \(round)")
            for state in [one, other, met] {
                let taggedIDs = state.siblings.map(\.writeID).filter { $0 != 0 }
                XCTAssertEqual(taggedIDs.count, Set(taggedIDs).count, "no client write twice: \(state.siblings), round \(round)")
            }
        }
    }

    /// docs/FAULTS.md, "Two copies of one write": c (the first primary) applied write 9 as
    /// c:4 but its answer was lost; a failed over and applied it again as a:3; a DEL at a
    /// covers a:3 only. c's copy must not come back beside the tombstone, in either order,
    /// nor through a third replica that holds both copies folded into one.
    func testACopyOfASupersededWriteDoesNotComeBack() {
        var atC = KeyState(), atA = KeyState()
        XCTAssertEqual(write(&atC, at: c, "v", id: 9, counter: 4), .written(Dot(actor: c, counter: 4)))
        XCTAssertEqual(write(&atA, at: a, "v", id: 9, counter: 3), .written(Dot(actor: a, counter: 3)))
        var atB = atA  // b got a's replica write
        atB.merge(atC)  // ... and c's, later: one sibling
        XCTAssertEqual(atB.read().values.count, 1)
        XCTAssertEqual(write(&atA, at: a, nil, id: 0, counter: 5), .written(Dot(actor: a, counter: 5)))
        XCTAssertFalse(atA.context.covers(Dot(actor: c, counter: 4)), "the delete never saw c's copy")
        XCTAssertTrue(atA.superseded.contains(9), "the delete remembers the write it superseded")
        for (x, y) in [(atA, atC), (atC, atA), (atA, atB), (atB, atA)] {
            let m = x.merged(with: y)
            XCTAssertTrue(m.read().isAbsent, "the deleted value is back: \(m.siblings)")
            XCTAssertEqual(m.siblings.map(\.dot), [Dot(actor: a, counter: 5)])
            XCTAssertEqual(m.merged(with: atC), m, "and stays gone")
        }
        XCTAssertEqual(atA.merged(with: atC).merged(with: atB), atA.merged(with: atB.merged(with: atC)))
        // Without the set (merge before it existed) c's copy survives as a sibling.
        let bare = KeyState(uncheckedContext: atA.context, siblings: atA.siblings)
        XCTAssertEqual(bare.merged(with: atC).read().values, [Array("v".utf8)])
    }

    /// A retry or duplicate forward of a write that was applied and then superseded versions
    /// nothing: versioning it again would put the old value over the newer one.
    func testALateRetryOfASupersededWriteVersionsNothing() {
        var s = KeyState()
        _ = write(&s, at: a, "old", id: 41, counter: 1)
        _ = write(&s, at: a, "new", id: 42, counter: 2)
        XCTAssertTrue(s.superseded.contains(41))
        let before = s
        XCTAssertEqual(write(&s, at: b, "old", id: 41, counter: 7), .alreadySuperseded)
        XCTAssertEqual(s, before)
        XCTAssertEqual(s.read().values, [Array("new".utf8)])
        // The id reaches other replicas with the state: their coordinators refuse it too.
        var other = KeyState()
        other.merge(s)
        XCTAssertEqual(write(&other, at: c, "old", id: 41, counter: 3), .alreadySuperseded)
        // A new write, and a retry of the live one, behave as before.
        XCTAssertEqual(write(&s, at: a, "new", id: 42, counter: 8), .written(Dot(actor: a, counter: 2)))
        XCTAssertEqual(write(&s, at: a, "newer", id: 43, counter: 9), .written(Dot(actor: a, counter: 9)))
    }

    /// Increments carry write ids when forwarded: a duplicate of one that a SET superseded
    /// counts nothing again; the SET's record remembers it.
    func testADuplicateIncrementAfterASetCountsNothing() {
        var s = KeyState()
        guard case .incremented = s.increment(at: a, by: 5, writeID: 70, nextCounter: { () -> UInt64 in 1 }) else { return XCTFail() }
        _ = write(&s, at: a, "10", id: 71, counter: 2)
        XCTAssertTrue(s.superseded.contains(70))
        let before = s
        XCTAssertEqual(s.increment(at: b, by: 5, writeID: 70, nextCounter: { () -> UInt64 in 3 }), .alreadySuperseded(value: 10))
        XCTAssertEqual(s, before)
        // An increment supersedes what its coordinator holds, and remembers it too.
        guard case .incremented(_, let v) = s.increment(at: a, by: 1, writeID: 72, nextCounter: { () -> UInt64 in 4 }) else { return XCTFail() }
        XCTAssertEqual(v, 11)
        XCTAssertTrue(s.superseded.contains(71))
        XCTAssertEqual(try KeyRecord(decoding: KeyRecord.siblings(s).encode()), .siblings(s))
    }

    /// The superseded section (RECORDS.md, "Superseded writes"), pinned byte for byte; a state
    /// without superseded ids encodes as before (the pinned bytes below and in KeyRecordTests).
    func testSupersededSectionBytesAndRefusals() throws {
        var s = KeyState()
        _ = write(&s, at: a, "x", id: 0x0102, counter: 1)
        _ = write(&s, at: a, nil, id: 0, counter: 2)
        let body = Array(KeyRecord.siblings(s).encode()[5...])
        // kind 's', vector {a: 2}, one sibling (a:2, tombstone), section 7: one id, rank 2.
        XCTAssertEqual(body, [0x73, 0x01, 0x01, 0x61, 0x02, 0x01, 0x00, 0x02, 0x01,
                              0x07, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02])
        XCTAssertEqual(try KeyRecord(decoding: record(body)), .siblings(s))
        let head = Array(body[..<9])
        let refused: [[UInt8]] = [
            head + [0x07, 0x00],                                                     // empty section
            head + [0x07, 0x01] + [UInt8](repeating: 0, count: 8) + [0x02],          // id 0
            head + [0x07, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01],  // unsorted
            head + [0x07, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01],  // duplicate
            head + [0x07, 0x09] + (1...9).flatMap { [UInt8($0), 0, 0, 0, 0, 0, 0, 0, 0x01] },       // over the limit
            head + [0x07, 0x01, 0x02, 0x01, 0, 0],                                   // truncated
            head + [0x07, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x07],              // trailing
        ]
        for bad in refused { XCTAssertThrowsError(try KeyRecord(decoding: record(bad)), "\(bad)") }
        // A sibling whose id the section holds is not a state merge can produce.
        var live = KeyState()
        _ = write(&live, at: a, "x", id: 0x0102, counter: 1)
        let liveBody = Array(KeyRecord.siblings(live).encode()[5...])
        XCTAssertThrowsError(try KeyRecord(decoding: record(liveBody + [0x07, 0x01, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0x02])))
        // LWW records have no superseded section.
        let lww: [UInt8] = [0x6c, 0x05, 0x00, 0x01, 0x61, 0x01, 0x07, 0x01, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0x02]
        XCTAssertThrowsError(try KeyRecord(decoding: record(lww)))
    }

    func testRecordsCarryWriteIDsAndOldRecordsAreUnchanged() throws {
        var s = KeyState()
        _ = write(&s, at: a, "hi", id: 0x0102_0304_0506_0708, counter: 5)
        var t = KeyState()
        _ = write(&t, at: b, nil, id: 3, counter: 2)
        let state = s.merged(with: t)
        let bytes = KeyRecord.siblings(state).encode()
        XCTAssertEqual(try KeyRecord(decoding: bytes), .siblings(state))
        // Body after the header: kind 's', vector {a:5, b:2}, two siblings.
        XCTAssertEqual(Array(bytes[5...]), [0x73, 0x02, 0x01, 0x61, 0x05, 0x01, 0x62, 0x02, 0x02,
                                            0x00, 0x05, 0x02, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x02, 0x68, 0x69,
                                            0x01, 0x02, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        // Without ids the bytes are the ones written before ids existed (tags 0 and 1).
        var plain = KeyState()
        _ = write(&plain, at: a, "hi", id: 0, counter: 5)
        XCTAssertEqual(Array(KeyRecord.siblings(plain).encode()[5...]), [0x73, 0x01, 0x01, 0x61, 0x05, 0x01, 0x00, 0x05, 0x00, 0x02, 0x68, 0x69])
    }

    func testTaggedPayloadWithoutAnIdIsRefused() {
        var body: [UInt8] = [0x73, 0x01, 0x01, 0x61, 0x05, 0x01, 0x00, 0x05, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]
        XCTAssertThrowsError(try KeyRecord(decoding: record(body)))
        body = [0x73, 0x01, 0x01, 0x61, 0x05, 0x01, 0x00, 0x05, 0x03, 1, 0, 0]  // truncated id
        XCTAssertThrowsError(try KeyRecord(decoding: record(body)))
        // LWW records have no write ids.
        let lww: [UInt8] = [0x6c, 0x05, 0x00, 0x01, 0x61, 0x02, 1, 0, 0, 0, 0, 0, 0, 0, 0x00]
        XCTAssertThrowsError(try KeyRecord(decoding: record(lww)))
    }

    func record(_ body: [UInt8]) -> [UInt8] {
        let crc = CRC32C.mask(CRC32C.checksum(body))
        return [VersionFormat.recordVersion1] + (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(8 * $0)) } + body
    }

    func testForwardedWritesCarryTheirID() throws {
        let m = ForwardWriteMessage(namespace: Array("ns".utf8), key: [1, 2], context: [], value: [9], w: 2, strict: true, timeoutMs: 700,
                                    writeID: 0xDEAD_BEEF_0000_0001)
        XCTAssertEqual(try ForwardWriteMessage(decoding: m.encode()), m)
        let plain = ForwardWriteMessage(namespace: [], key: [1], context: nil, value: nil, w: 1, strict: false, timeoutMs: 1)
        XCTAssertEqual(try ForwardWriteMessage(decoding: plain.encode()), plain)
        var flaggedZero = plain.encode()
        flaggedZero[3] |= 8
        flaggedZero += [0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertThrowsError(try ForwardWriteMessage(decoding: flaggedZero))
        var unknownFlag = plain.encode()
        unknownFlag[3] |= 32  // 16 is the deadline (ForwardDeadlineTests)
        XCTAssertThrowsError(try ForwardWriteMessage(decoding: unknownFlag))
    }
}
