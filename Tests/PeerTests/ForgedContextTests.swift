import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Issue 14, high 1: a client context naming a write its node never issued (here
/// {n1: 2^64-1}) must never move that node's counter lease; the node keeps coordinating
/// writes, also after a restart.
final class ForgedContextTests: XCTestCase {
    static let forged = VersionVector(["n1": UInt64.max])

    static func memoryReplica(_ id: String, fs: MemoryFileSystem = MemoryFileSystem()) throws -> LocalReplica {
        var options = StorageOptions()
        options.fileSystem = fs
        return try LocalReplica(store: try Store.open(path: "/\(id)", options: options), nodeID: NodeID(id)!)
    }

    static func address(_ key: String) -> KeyAddress {
        KeyAddress(namespace: Array("default".utf8), partition: 3, key: Array(key.utf8))
    }

    @discardableResult
    static func write(_ r: LocalReplica, _ key: String, _ value: String, context: VersionVector? = nil) throws -> LocalReplica.WriteResult {
        try r.coordinateWrite(address(key), conflict: .siblings, context: context, value: .value(Array(value.utf8)),
                              siblingLimit: 64)
    }

    func testEdgeRefusesAnEntryBeyondTheNamedNodesLease() {
        let bounds = CounterBounds()
        bounds.learn(node: "n1", leasedUpTo: 20_000)
        let refusal = bounds.refusal(for: ForgedContextTests.forged)
        XCTAssertNotNil(refusal)
        XCTAssertTrue(refusal?.line.hasPrefix("ERR bad context: it names write 18446744073709551615 of node n1") ?? false, "\(String(describing: refusal))")
        XCTAssertEqual(bounds.refusedContexts.load(ordering: .relaxed), 1)
        XCTAssertNil(bounds.refusal(for: VersionVector(["n1": 20_000 + CounterBounds.lagAllowance])), "gossip lag allowance")
        XCTAssertNotNil(bounds.refusal(for: VersionVector(["n1": 20_001 + CounterBounds.lagAllowance])))
        XCTAssertNil(bounds.refusal(for: VersionVector(["n9": UInt64.max])), "a node never heard of is not judged here")
        bounds.learn(node: "n1", leasedUpTo: 10)
        XCTAssertEqual(bounds.lease(of: "n1"), 20_000, "bounds only grow")
    }

    func testReplicaClampsEveryEntryToTheKeysStoredContext() {
        let bounds = CounterBounds()
        bounds.learn(node: "n1", leasedUpTo: 100)
        let admitted = bounds.admitted(VersionVector(["n1": 5_000, "n2": 7, "n9": 3]), stored: VersionVector(["n1": 40, "n2": 9]))
        XCTAssertEqual(admitted, VersionVector(["n1": 40, "n2": 7]), "no entry above what the key has seen")
        XCTAssertEqual(bounds.clampedEntries.load(ordering: .relaxed), 2)
        XCTAssertEqual(bounds.admitted(VersionVector(["n1": 30]), stored: VersionVector(["n1": 40])), VersionVector(["n1": 30]))
        XCTAssertEqual(bounds.clampedEntries.load(ordering: .relaxed), 2)
    }

    /// The defect as reported: n0 stores a forged {n1: max}, n1 receives the record and then
    /// coordinates a write of that key. The forged entry is clamped at n0 and never reaches
    /// n1, whose lease does not move at all.
    func testForgedEntryIsClampedAtTheCoordinatorAndNeverMovesALease() throws {
        let n0 = try ForgedContextTests.memoryReplica("n0")
        let n1 = try ForgedContextTests.memoryReplica("n1")
        try ForgedContextTests.write(n1, "warm", "x")
        n0.counterBounds.learn(node: "n1", leasedUpTo: n1.leasedUpTo)
        guard case .written(let record) = try ForgedContextTests.write(n0, "k", "forged", context: ForgedContextTests.forged),
              case .siblings(let state) = record else { return XCTFail("write refused") }
        XCTAssertEqual(state.context["n1"], 0, "the stored context names no write of n1: n0 has seen none")
        XCTAssertEqual(n0.counterBounds.clampedEntries.load(ordering: .relaxed), 1)
        try n1.merge(ForgedContextTests.address("k"), record: record)
        let leaseBefore = n1.leasedUpTo
        guard case .written = try ForgedContextTests.write(n1, "k", "after") else { return XCTFail("n1 cannot write k") }
        guard case .written = try ForgedContextTests.write(n1, "other", "after") else { return XCTFail("n1 cannot write") }
        XCTAssertEqual(n1.leasedUpTo, leaseBefore, "the lease did not move")
    }

    /// Defence in depth: a stored record whose context already holds a poisoned entry of
    /// this node (written before contexts were checked, or while its lease was unknown)
    /// refuses writes of that one key with a clear error and never moves the lease; every
    /// other key keeps working, also after a restart.
    func testPoisonedStoredEntryNeverMovesTheLeaseAlsoAfterARestart() throws {
        let fs = MemoryFileSystem()
        var n1: LocalReplica? = try ForgedContextTests.memoryReplica("n1", fs: fs)
        let poisoned = try KeyState(context: VersionVector(["n0": 1, "n1": UInt64.max]),
                                    siblings: [Sibling(dot: Dot(actor: "n0", counter: 1), value: .value(Array("p".utf8)))])
        try n1!.merge(ForgedContextTests.address("k"), record: .siblings(poisoned))
        let result = try ForgedContextTests.write(n1!, "k", "v")
        guard case .refused(let line) = result else { return XCTFail("poisoned key was written: \(result)") }
        XCTAssertTrue(line.contains("never issued"), line)
        guard case .written = try ForgedContextTests.write(n1!, "other", "v") else { return XCTFail("the node stopped writing") }
        XCTAssertLessThan(n1!.leasedUpTo, CounterLease.counterSpaceLimit)
        try n1!.store.close()
        n1 = nil
        fs.crash()
        let restarted = try ForgedContextTests.memoryReplica("n1", fs: fs)
        XCTAssertLessThan(restarted.leasedUpTo, CounterLease.counterSpaceLimit)
        for i in 0..<5 {
            guard case .written = try ForgedContextTests.write(restarted, "after-\(i)", "v") else { return XCTFail("no write after restart") }
        }
    }

    func testAdvanceRefusesAJumpBeyondTheCounterSpace() {
        var lease = CounterLease(persistedLeasedUpTo: 10, leaseSize: 10)
        XCTAssertFalse(lease.advance(past: UInt64.max))
        XCTAssertEqual(lease.lastIssued, 10)
        XCTAssertTrue(lease.advance(past: 500))
        XCTAssertEqual(lease.lastIssued, 500)
    }

    // MARK: Through the engines (deterministic cluster)

    /// A key whose first primary is `first` and whose replicas include `second`.
    func key(in c: DeterministicCluster, first: String, second: String) throws -> String {
        let ring = try XCTUnwrap(c.ring)
        for i in 0..<10_000 {
            let k = "forged-\(i)"
            let p = PreferenceList(ring: ring, namespace: Array("default".utf8), key: Array(k.utf8), n: 3).primaries
            if p.first == first, p.contains(second) { return k }
        }
        throw XCTSkip("no key found")
    }

    func keys(in c: DeterministicCluster, first: String, count: Int) throws -> [String] {
        let ring = try XCTUnwrap(c.ring)
        return (0..<10_000).map { "own-\($0)" }.filter {
            PreferenceList(ring: ring, namespace: Array("default".utf8), key: Array($0.utf8), n: 3).primaries.first == first
        }.prefix(count).map { $0 }
    }

    func feedLeases(_ c: DeterministicCluster) {
        for a in c.ids { for b in c.ids { c.engines[a]!.replica.counterBounds.learn(node: NodeID(b)!, leasedUpTo: c.engines[b]!.replica.leasedUpTo) } }
    }

    func testForgedPutvIsRefusedAndTheNamedNodeKeepsCoordinatingAlsoAfterARestart() throws {
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.antiEntropyIntervalMs = 0
        let c = try DeterministicCluster.start(["n0", "n1", "n2", "n3"], seed: 0xF0A6_ED01, limits: limits)
        defer { c.shutdown() }
        let target = try key(in: c, first: "n0", second: "n1")
        let own = try keys(in: c, first: "n1", count: 3)
        for k in own { XCTAssertNil(c.writeNow("n2", k, "before")) }
        feedLeases(c)
        let refused = c.writeNow("n3", target, "forged", context: ForgedContextTests.forged.encodeContext())
        XCTAssertTrue(refused?.line.hasPrefix("ERR bad context") ?? false, "forged PUTV accepted: \(String(describing: refused))")
        // n1 coordinates the key while n0 is down: its stored context holds nothing forged.
        c.setDown("n0", true)
        XCTAssertNil(c.writeNow("n2", target, "through-n1"))
        c.setDown("n0", false)
        for k in own { XCTAssertNil(c.writeNow("n2", k, "after"), "n1 stopped coordinating") }
        try c.crashAndRestart("n1")
        for k in own { XCTAssertNil(c.writeNow("n3", k, "after-restart"), "n1 stopped coordinating after a restart") }
        XCTAssertLessThan(c.engines["n1"]!.replica.leasedUpTo, 1 << 20)
    }

    /// The named node's lease not yet heard by the coordinator: the PUTV is accepted with
    /// the forged entry clamped away, so no replica stores it; n1 then coordinates that key
    /// and its own, and its lease stays where its own writes put it, also after a restart.
    func testForgedEntryForANodeNotYetHeardIsClampedAndStoredNowhere() throws {
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.antiEntropyIntervalMs = 0
        let c = try DeterministicCluster.start(["n0", "n1", "n2", "n3"], seed: 0xF0A6_ED02, limits: limits)
        defer { c.shutdown() }
        let target = try key(in: c, first: "n0", second: "n1")
        let own = try keys(in: c, first: "n1", count: 3)
        XCTAssertNil(c.writeNow("n3", target, "forged", context: ForgedContextTests.forged.encodeContext()))
        XCTAssertEqual(c.engines["n0"]!.replica.counterBounds.clampedEntries.load(ordering: .relaxed), 1)
        for id in c.ids {
            guard case .siblings(let s)? = c.local(id, target) else { continue }
            XCTAssertEqual(s.context["n1"], 0, "\(id) stored a forged entry")
        }
        c.setDown("n0", true)
        XCTAssertNil(c.writeNow("n2", target, "through-n1"))
        c.setDown("n0", false)
        for k in own { XCTAssertNil(c.writeNow("n2", k, "after"), "n1 stopped coordinating") }
        try c.crashAndRestart("n1")
        for k in own { XCTAssertNil(c.writeNow("n3", k, "after-restart"), "n1 stopped coordinating after a restart") }
        XCTAssertEqual(c.engines["n1"]!.replica.leasedUpTo, 2 * CounterLease.defaultLeaseSize,
                       "one lease per start, taken by n1's own writes; none moved by the forged entry")
    }
}
