import XCTest
@testable import Peer

/// A node-wide counter for tests: strictly increasing, as CounterLease guarantees.
final class TestCounters {
    private var next: [NodeID: UInt64] = [:]
    /// Counters advance by `stride` so that they are not contiguous per key, as in a real
    /// node whose counter is shared by all keys.
    var stride: UInt64 = 1
    func take(_ node: NodeID) -> UInt64 {
        let n = (next[node] ?? 0) + stride
        next[node] = n
        return n
    }
}

final class DVVTests: XCTestCase {
    let a: NodeID = "a", b: NodeID = "b", c: NodeID = "c"
    var counters = TestCounters()

    override func setUp() { counters = TestCounters() }

    /// Writes at `replica` and fails the test unless the write is applied.
    @discardableResult
    func put(_ s: inout KeyState, at replica: NodeID, _ value: String?, context: VersionVector? = nil,
             file: StaticString = #filePath, line: UInt = #line) -> Dot {
        let v: SiblingValue = value.map { .value(Array($0.utf8)) } ?? .tombstone
        let outcome = s.write(at: replica, context: context, value: v) { counters.take(replica) }
        guard case .written(let dot) = outcome else {
            XCTFail("write refused: \(outcome)", file: file, line: line)
            return Dot(actor: replica, counter: 0)
        }
        XCTAssertNoThrow(try s.validate(), file: file, line: line)
        return dot
    }

    func strings(_ s: KeyState) -> [String] { s.read().values.map { String(decoding: $0, as: UTF8.self) } }

    func testSequentialWritesThroughDifferentReplicasNeverCreateSiblings() {
        // Each write is coordinated at a primary that has the previous write (replication
        // happened in between), so each supersedes the last.
        var ra = KeyState(), rb = KeyState(), rc = KeyState()
        let order: [NodeID] = [a, b, c, b, a, c, c, a]
        for (i, coordinator) in order.enumerated() {
            switch coordinator {
            case a: put(&ra, at: a, "v\(i)"); rb.merge(ra); rc.merge(ra)
            case b: put(&rb, at: b, "v\(i)"); ra.merge(rb); rc.merge(rb)
            default: put(&rc, at: c, "v\(i)"); ra.merge(rc); rb.merge(rc)
            }
            XCTAssertEqual(ra.siblings.count, 1, "after write \(i)")
            XCTAssertEqual(strings(ra), ["v\(i)"])
            XCTAssertEqual(ra, rb)
            XCTAssertEqual(rb, rc)
        }
        // The context names each coordinator's last write and nothing else.
        XCTAssertEqual(ra.context, VersionVector([a: 3, b: 2, c: 3]))
    }

    func testSequentialPutvWithReadContextsThroughAnyReplicaNeverCreateSiblings() {
        // A client reads (GETV) and writes back with the context, each time via another
        // coordinator that may be behind: the context covers what the client saw.
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "1")
        let ctx1 = ra.read().context
        put(&rb, at: b, "2", context: ctx1)   // rb never saw "1", the context did
        ra.merge(rb); rb.merge(ra)
        XCTAssertEqual(strings(ra), ["2"])
        let ctx2 = rb.read().context
        put(&ra, at: a, "3", context: ctx2)
        rb.merge(ra)
        XCTAssertEqual(strings(rb), ["3"])
    }

    func testConcurrentWritesAlwaysCreateSiblings() {
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "x"); rb.merge(ra)
        // Partition: both sides write without a context.
        let da = put(&ra, at: a, "from-a")
        let db = put(&rb, at: b, "from-b")
        let ab = ra.merged(with: rb), ba = rb.merged(with: ra)
        XCTAssertEqual(ab, ba)
        XCTAssertEqual(ab.dots, [da, db])
        XCTAssertEqual(Set(strings(ab)), ["from-a", "from-b"])
        XCTAssertFalse(strings(ab).contains("x"), "the value both sides superseded is gone")
    }

    func testPutvWithContextResolvesSiblings() {
        var ra = KeyState(), rb = KeyState(), rc = KeyState()
        put(&ra, at: a, "1"); put(&rb, at: b, "2"); put(&rc, at: c, "3")
        var merged = ra.merged(with: rb).merged(with: rc)
        XCTAssertEqual(merged.siblings.count, 3)
        let ctx = merged.read().context
        // Resolved through replica b, which has only its own sibling locally.
        put(&rb, at: b, "resolved", context: ctx)
        XCTAssertEqual(strings(rb), ["resolved"])
        merged.merge(rb)
        XCTAssertEqual(strings(merged), ["resolved"])
        XCTAssertEqual(strings(ra.merged(with: rb)), ["resolved"])
    }

    func testPutvWithStaleContextKeepsTheSiblingItDidNotSee() {
        var ra = KeyState()
        put(&ra, at: a, "1")
        let stale = ra.read().context
        put(&ra, at: a, "2")
        put(&ra, at: a, "3-from-stale-reader", context: stale)
        XCTAssertEqual(strings(ra), ["2", "3-from-stale-reader"])
    }

    func testPutvWithEmptyContextAddsASibling() {
        var ra = KeyState()
        put(&ra, at: a, "1")
        put(&ra, at: a, "2", context: VersionVector())
        XCTAssertEqual(strings(ra), ["1", "2"])
    }

    func testDelvTombstoneReadsAbsentButKeepsContext() {
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "1"); put(&rb, at: b, "2")
        ra.merge(rb)
        let ctx = ra.read().context
        put(&ra, at: a, nil, context: ctx)
        let read = ra.read()
        XCTAssertTrue(read.isAbsent)
        XCTAssertTrue(ra.isAbsent)
        XCTAssertEqual(read.tombstones, 1)
        XCTAssertTrue(read.context.descends(ctx))
        XCTAssertFalse(read.context.isEmpty)
        XCTAssertEqual(ra.siblings.count, 1)
    }

    func testStaleReplicaStateAfterDeleteDoesNotResurrect() {
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "old"); rb.merge(ra)         // b holds "old" (e.g. a hint or a slow replica)
        put(&ra, at: a, nil)                         // DEL without context at a
        XCTAssertTrue(ra.isAbsent)
        let afterRepair = ra.merged(with: rb)        // read repair / handoff / anti-entropy
        XCTAssertTrue(afterRepair.isAbsent)
        XCTAssertTrue(rb.merged(with: ra).isAbsent)
        // A SET after the delete through b, once b has caught up, is a normal write.
        rb.merge(ra)
        put(&rb, at: b, "new")
        XCTAssertEqual(strings(rb.merged(with: ra)), ["new"])
    }

    func testWriteConcurrentWithDeleteSurvivesAsAValue() {
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "v"); rb.merge(ra)
        put(&ra, at: a, nil)
        put(&rb, at: b, "concurrent")
        let m = ra.merged(with: rb)
        XCTAssertEqual(m.read().values.map { String(decoding: $0, as: UTF8.self) }, ["concurrent"])
        XCTAssertEqual(m.read().tombstones, 1)
        XCTAssertFalse(m.isAbsent)
    }

    func testSiblingLimitRefusesWriteWithoutContextPastTheLimit() {
        var s = KeyState()
        for i in 0..<3 { put(&s, at: a, "\(i)", context: VersionVector()) }
        var drawn = 0
        // A PUTV with an empty context that would make a 4th sibling, limit 3: refused.
        let r1 = s.write(at: a, context: VersionVector(), value: .value([1]), siblingLimit: 3) { () -> UInt64 in drawn += 1; return counters.take(a) }
        XCTAssertEqual(r1, .refusedSiblingLimit(siblings: 4, limit: 3))
        // A SET when the key already holds more than the limit: refused, nothing changes.
        let before = s
        let r2 = s.write(at: a, context: nil, value: .value([2]), siblingLimit: 2) { () -> UInt64 in drawn += 1; return counters.take(a) }
        XCTAssertEqual(r2, .refusedSiblingLimit(siblings: 3, limit: 2))
        XCTAssertEqual(s, before)
        XCTAssertEqual(drawn, 0, "a refused write draws no counter")
        // A SET at the limit is fine (it supersedes everything this replica holds).
        var t = s
        XCTAssertEqual(t.siblings.count, 3)
        if case .written = t.write(at: a, context: nil, value: .value([3]), siblingLimit: 3, nextCounter: { counters.take(a) }) {} else { XCTFail() }
        XCTAssertEqual(t.siblings.count, 1)
        // A write with a context is always accepted, even when it covers nothing.
        let oldCtx = VersionVector([c: 1])
        var u = KeyState()
        put(&u, at: c, "c1")
        s.merge(u)
        XCTAssertEqual(s.siblings.count, 4)
        let r3 = s.write(at: b, context: oldCtx, value: .value([4]), siblingLimit: 2) { counters.take(b) }
        guard case .written = r3 else { return XCTFail("\(r3)") }
        XCTAssertEqual(s.siblings.count, 4, "the c sibling was seen and replaced, the a siblings stay")
    }

    func testContextClaimingAnUnissuedDotOfThisNodeIsRefused() {
        var s = KeyState()
        put(&s, at: a, "1")
        let forged = VersionVector([a: 1_000_000])
        let before = s
        let outcome = s.write(at: a, context: forged, value: .value([9])) { counters.take(a) }
        XCTAssertEqual(outcome, .refusedContextAhead(claimed: Dot(actor: a, counter: 1_000_000)))
        XCTAssertEqual(s, before)
    }

    func testCounterNotAheadOfOwnDotsIsReported() {
        var s = KeyState()
        _ = s.write(at: a, context: nil, value: .value([1])) { 50 }
        let before = s
        let outcome = s.write(at: a, context: nil, value: .value([2])) { 50 }
        XCTAssertEqual(outcome, .counterBehind(highestSeen: 50))
        XCTAssertEqual(s, before)
        let ok = s.write(at: a, context: nil, value: .value([2])) { 51 }
        XCTAssertEqual(ok, .written(Dot(actor: a, counter: 51)))
    }

    struct SupplierFailed: Error, Equatable {}

    func testCounterSupplierErrorLeavesStateUnchanged() {
        var s = KeyState()
        put(&s, at: a, "1")
        let before = s
        XCTAssertThrowsError(try s.write(at: a, context: nil, value: .value([2])) { () throws(SupplierFailed) -> UInt64 in throw SupplierFailed() })
        XCTAssertEqual(s, before)
    }

    func testWritingReturnsNewStateAndLeavesOriginal() {
        let s = KeyState()
        let (t, outcome) = s.writing(at: a, context: nil, value: .value([7])) { 3 }
        XCTAssertEqual(outcome, .written(Dot(actor: a, counter: 3)))
        XCTAssertEqual(t.read().values, [[7]])
        XCTAssertEqual(s, KeyState())
    }

    func testSameDotWithDifferentPayloadsMergesDeterministically() throws {
        let d = Dot(actor: a, counter: 1)
        let x = try KeyState(context: VersionVector([a: 1]), siblings: [Sibling(dot: d, value: .value([1]))])
        let y = try KeyState(context: VersionVector([a: 1]), siblings: [Sibling(dot: d, value: .value([2]))])
        let z = try KeyState(context: VersionVector([a: 1]), siblings: [Sibling(dot: d, value: .tombstone)])
        XCTAssertEqual(x.merged(with: y), y.merged(with: x))
        XCTAssertEqual(x.merged(with: y).read().values, [[2]])
        XCTAssertEqual(x.merged(with: z), z.merged(with: x))
        XCTAssertEqual(x.merged(with: z).read().values, [[1]])
    }

    func testInitRejectsStatesBreakingInvariants() {
        let d1 = Dot(actor: a, counter: 1), d2 = Dot(actor: b, counter: 5)
        XCTAssertThrowsError(try KeyState(context: VersionVector([a: 1]), siblings: [Sibling(dot: d2, value: .tombstone)])) {
            XCTAssertEqual($0 as? KeyStateError, .siblingNotCovered(d2))
        }
        XCTAssertThrowsError(try KeyState(context: VersionVector([a: 1]), siblings: [Sibling(dot: d1, value: .tombstone), Sibling(dot: d1, value: .value([]))])) {
            XCTAssertEqual($0 as? KeyStateError, .duplicateDot(d1))
        }
        let ok = try? KeyState(context: VersionVector([a: 1, b: 5]), siblings: [Sibling(dot: d2, value: .tombstone), Sibling(dot: d1, value: .value([]))])
        XCTAssertEqual(ok?.dots, [d1, d2], "siblings are kept sorted by dot")
    }

    func testDescendsDetectsStaleReplica() {
        var ra = KeyState(), rb = KeyState()
        put(&ra, at: a, "1"); rb.merge(ra)
        put(&ra, at: a, "2")
        XCTAssertTrue(ra.descends(rb))
        XCTAssertFalse(rb.descends(ra))
    }
}
