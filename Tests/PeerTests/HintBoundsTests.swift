import Bytes
import Storage
import Synchronization
import XCTest
@testable import Peer

/// Issue 14: hints expire (default 3 h, Cassandra's max_hint_window) and are bounded per
/// owner in bytes; past the bound new hints are refused and counted, old ones kept.
final class HintBoundsTests: XCTestCase {
    static let hourMs: Int64 = 3_600_000

    static func store(_ fs: MemoryFileSystem = MemoryFileSystem()) throws -> Store {
        var options = StorageOptions()
        options.fileSystem = fs
        return try Store.open(path: "/n1", options: options)
    }

    static func address(_ key: String) -> KeyAddress { ForgedContextTests.address(key) }

    func testHintsOlderThanTheWindowAreDeletedAndCounted() throws {
        let clock = Atomic<Int64>(1_800_000_000_000)
        let fs = MemoryFileSystem()
        let first = try HintBoundsTests.store(fs)
        let hints = try HintStore(store: first, maxHints: 100, now: { clock.load(ordering: .relaxed) })
        for i in 0..<5 { XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("old\(i)"), record: [1, 2, 3])) }
        XCTAssertTrue(try hints.add(target: "n3", address: HintBoundsTests.address("old-n3"), record: [1]))
        clock.wrappingAdd(2 * HintBoundsTests.hourMs, ordering: .relaxed)
        for i in 0..<3 { XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("new\(i)"), record: [4])) }
        XCTAssertEqual(try hints.expire(windowMs: 3 * HintBoundsTests.hourMs), 0, "nothing is 3 h old yet")
        clock.wrappingAdd(HintBoundsTests.hourMs + 1, ordering: .relaxed)
        XCTAssertEqual(try hints.expire(windowMs: 3 * HintBoundsTests.hourMs), 6, "the first six are past the window")
        XCTAssertEqual(hints.targets, ["n2": 3])
        XCTAssertEqual(hints.bounds.expired, 6)
        XCTAssertEqual(try hints.batch(for: "n2", limit: 10).map { String(decoding: $0.address.key, as: UTF8.self) }, ["new0", "new1", "new2"])
        // Times survive a restart: the recount sees the same hints and they still expire.
        try first.close()
        let reopened = try HintStore(store: try HintBoundsTests.store(fs), maxHints: 100, now: { clock.load(ordering: .relaxed) })
        XCTAssertEqual(reopened.targets, ["n2": 3])
        clock.wrappingAdd(2 * HintBoundsTests.hourMs, ordering: .relaxed)
        XCTAssertEqual(try reopened.expire(windowMs: 3 * HintBoundsTests.hourMs), 3)
        XCTAssertEqual(reopened.total, 0)
        XCTAssertEqual(reopened.bounds.bytes, 0)
    }

    func testSequencesStayOrderedWithinOneMillisecondAndAcrossAClockStepBack() throws {
        let clock = Atomic<Int64>(1_800_000_000_000)
        let hints = try HintStore(store: try HintBoundsTests.store(), maxHints: 100, now: { clock.load(ordering: .relaxed) })
        for i in 0..<4 { XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("a\(i)"), record: [1])) }
        clock.wrappingAdd(-60_000, ordering: .relaxed)  // the wall clock stepped back
        for i in 0..<2 { XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("b\(i)"), record: [1])) }
        XCTAssertEqual(try hints.batch(for: "n2", limit: 10).map { String(decoding: $0.address.key, as: UTF8.self) },
                       ["a0", "a1", "a2", "a3", "b0", "b1"], "delivery stays oldest first, no sequence reused")
    }

    func testUntimedHintsFromBeforeTimesAreKeptAndDelivered() throws {
        let store = try HintBoundsTests.store()
        var w = ByteWriter(capacity: 32)
        HintBoundsTests.address("legacy").encode(into: &w)
        w.append([9])
        try store.put(StorageKey.hint(target: "n2", sequence: 7).encode(), w.bytes)
        let hints = try HintStore(store: store, maxHints: 100, now: { 1_800_000_000_000 })
        XCTAssertEqual(try hints.expire(windowMs: 1), 0, "an untimed hint has no age")
        XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("timed"), record: [1]))
        XCTAssertEqual(try hints.batch(for: "n2", limit: 10).map { String(decoding: $0.address.key, as: UTF8.self) }, ["legacy", "timed"])
    }

    func testPerOwnerByteBoundRefusesNewHintsAndKeepsOldOnes() throws {
        let hints = try HintStore(store: try HintBoundsTests.store(), maxHints: 1_000, maxBytesPerTarget: 10_000)
        let record = [UInt8](repeating: 7, count: 1_000)
        var accepted = 0
        for i in 0..<20 where try hints.add(target: "n2", address: HintBoundsTests.address("k\(i)"), record: record) { accepted += 1 }
        XCTAssertEqual(accepted, 9, "9 hints of ~1,015 bytes fit 10,000 bytes")
        XCTAssertEqual(hints.bounds.refusedOverBytes, 11)
        XCTAssertEqual(hints.counters.refused, 11)
        XCTAssertLessThanOrEqual(hints.bounds.bytes, 10_000)
        XCTAssertEqual(try hints.batch(for: "n2", limit: 100).first.map { String(decoding: $0.address.key, as: UTF8.self) }, "k0",
                       "the oldest are kept")
        XCTAssertTrue(try hints.add(target: "n3", address: HintBoundsTests.address("k0"), record: record), "the bound is per owner")
        // Delivery frees room; a second deletion of the same hints (expiry racing an
        // acknowledgement) counts nothing twice.
        let batch = try hints.batch(for: "n2", limit: 3)
        try hints.remove(batch.map(\.storageKey), target: "n2")
        try hints.remove(batch.map(\.storageKey), target: "n2")
        XCTAssertEqual(hints.targets["n2"], 6)
        XCTAssertEqual(hints.counters.delivered, 3)
        XCTAssertTrue(try hints.add(target: "n2", address: HintBoundsTests.address("after"), record: record))
    }

    /// The engine's pass uses `--hint-window`; a refused hint is not counted as a replica.
    func testEngineExpiresWithItsWindow() throws {
        let wall = Atomic<Int64>(1_800_000_000_000)
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        let replica = try LocalReplica(store: try Store.open(path: "/n1", options: options), nodeID: "n1",
                                       clock: { wall.load(ordering: .relaxed) })
        var limits = NodeEngine.Limits()
        limits.hintWindowMs = 60_000
        let engine = NodeEngine(nodeID: "n1", replica: replica, cluster: ClusterView(localID: "n1"),
                                transport: UnreachableTransport(), scheduler: DispatchNodeScheduler(), limits: limits)
        XCTAssertTrue(try replica.hints.add(target: "n2", address: HintBoundsTests.address("k"), record: [1]))
        engine.hintDelivery.expire()
        XCTAssertEqual(replica.hints.total, 1)
        wall.wrappingAdd(60_001, ordering: .relaxed)
        engine.hintDelivery.expire()
        XCTAssertEqual(replica.hints.total, 0)
        XCTAssertEqual(replica.hints.bounds.expired, 1)
    }
}

/// A transport no peer answers (the engine under test never sends).
private final class UnreachableTransport: PeerTransport {
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        completion(.failure(.unreachable(node)))
    }
}
