import Storage
import XCTest
@testable import Peer

/// The replica side of SCAN chunks, the merge of replicas' chunks, and value stripping.
final class ScanChunkTests: XCTestCase {
    static func makeReplica(_ id: String = "n1") throws -> LocalReplica {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        return try LocalReplica(store: try Store.open(path: "/\(id)", options: options), nodeID: NodeID(id)!)
    }

    static let ns = Array("default".utf8)

    static func lww(_ ms: UInt64, _ value: SiblingValue, node: NodeID = "n1") -> KeyRecord {
        .lww(LWWKeyState(timestamp: HLCTimestamp(physicalMs: ms, logical: 0, node: node), value: value))
    }

    static func put(_ replica: LocalReplica, partition: UInt32 = 7, ns: [UInt8] = ns, _ key: [UInt8], _ record: KeyRecord) throws {
        try replica.merge(KeyAddress(namespace: ns, partition: partition, key: key), record: record)
    }

    /// Every key of one chunk walk, resuming from each answer's next position.
    static func walk(_ replica: LocalReplica, partition: UInt32 = 7, limit: (Int) -> Int) throws -> (keys: [[UInt8]], chunks: Int) {
        var keys: [[UInt8]] = []
        var position: UInt64 = 0
        var chunks = 0
        while true {
            let answer = try replica.scanChunk(namespace: ns, partition: partition, position: position, limit: limit(chunks))
            chunks += 1
            for e in answer.entries {
                XCTAssertGreaterThanOrEqual(ScanCursor.prefix5(e.key), position, "a key before the chunk's start")
                if let n = answer.next { XCTAssertLessThan(ScanCursor.prefix5(e.key), n, "a key at or past the next position") }
            }
            keys += answer.entries.map(\.key)
            guard let next = answer.next else { return (keys, chunks) }
            XCTAssertGreaterThan(next, position, "no progress")
            position = next
            if chunks > 100_000 { XCTFail("walk did not end"); return (keys, chunks) }
        }
    }

    // MARK: Stripping

    func testStrippedRecordsMergeToTheSameAbsentness() {
        var rng = SeededRandom(seed: 0x57_21_90)
        var checked = 0
        for _ in 0..<300 {
            let states = KeyRecordTests.randomStates(&rng)
            for a in states {
                let b = states[rng.below(states.count)]
                let full = KeyRecord.merge(.siblings(a), .siblings(b))
                let stripped = KeyRecord.merge(KeyRecord.siblings(a).strippedOfValues(), KeyRecord.siblings(b).strippedOfValues())
                XCTAssertEqual(stripped.isAbsent, full.isAbsent)
                XCTAssertEqual(stripped, full.strippedOfValues(), "strip commutes with merge")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 500)
    }

    func testStrippingKeepsTombstonesDotsAndTimestamps() throws {
        var s = KeyState()
        _ = s.write(at: "n1", context: nil, value: .value([1, 2, 3]), siblingLimit: .max) { 1 }
        _ = s.write(at: "n2", context: VersionVector(), value: .tombstone, siblingLimit: .max) { 2 }
        guard case .siblings(let t) = KeyRecord.siblings(s).strippedOfValues() else { return XCTFail("kind changed") }
        XCTAssertEqual(t.context, s.context)
        XCTAssertEqual(t.dots, s.dots)
        XCTAssertEqual(t.siblings.map(\.value), [.value([]), .tombstone])
        XCTAssertFalse(KeyRecord.siblings(t).isAbsent, "an emptied value is still a value")
        let l = ScanChunkTests.lww(5, .value([9])).strippedOfValues()
        XCTAssertEqual(l, ScanChunkTests.lww(5, .value([])))
        XCTAssertTrue(ScanChunkTests.lww(5, .tombstone).strippedOfValues().isAbsent)
        // LWW: a newer tombstone beats an older value after stripping, as before.
        XCTAssertTrue(KeyRecord.merge(ScanChunkTests.lww(5, .value([9])).strippedOfValues(), ScanChunkTests.lww(6, .tombstone)).isAbsent)
    }

    // MARK: Chunking

    func testAGroupSharingFiveBytesIsReturnedWholePastTheLimit() throws {
        let replica = try ScanChunkTests.makeReplica()
        for i in 0..<50 { try ScanChunkTests.put(replica, Array("user:\(i)".utf8), ScanChunkTests.lww(1, .value([1]))) }
        try ScanChunkTests.put(replica, Array("zzz".utf8), ScanChunkTests.lww(1, .value([1])))
        let first = try replica.scanChunk(namespace: ScanChunkTests.ns, partition: 7, position: 0, limit: 3)
        XCTAssertEqual(first.entries.count, 50, "the whole 'user:' group")
        XCTAssertEqual(first.next, ScanCursor.prefix5(Array("zzz".utf8)))
        let second = try replica.scanChunk(namespace: ScanChunkTests.ns, partition: 7, position: first.next!, limit: 3)
        XCTAssertEqual(second.entries.map(\.key), [Array("zzz".utf8)])
        XCTAssertNil(second.next)
    }

    func testChunksCarryTombstonesWithoutValues() throws {
        let replica = try ScanChunkTests.makeReplica()
        try ScanChunkTests.put(replica, [1], ScanChunkTests.lww(1, .value(Array(repeating: 7, count: 1000))))
        try ScanChunkTests.put(replica, [2], ScanChunkTests.lww(1, .tombstone))
        let answer = try replica.scanChunk(namespace: ScanChunkTests.ns, partition: 7, position: 0, limit: 10)
        XCTAssertEqual(answer.entries.map(\.record), [ScanChunkTests.lww(1, .value([])), ScanChunkTests.lww(1, .tombstone)])
        XCTAssertLessThan(answer.encode().count, 100)
    }

    func testResumingLosesNothingOverRandomKeys() throws {
        let seed: UInt64 = 0x5CA1_0001
        var rng = SeededRandom(seed: seed)
        for round in 0..<12 {
            let replica = try ScanChunkTests.makeReplica()
            // Short keys, keys with zero bytes, keys that are prefixes of others, shared prefixes.
            let alphabet: [UInt8] = [0, 0, 1, 0x61, 0x62, 0xFF]
            var want = Set<[UInt8]>()
            for _ in 0..<rng.int(1...400) {
                var key: [UInt8] = rng.chance(30) ? [0x61, 0x62, 0, 0x63, 0] : []
                key += (0..<rng.int((key.isEmpty ? 1 : 0)...8)).map { _ in alphabet[rng.below(alphabet.count)] }
                want.insert(key)
                try ScanChunkTests.put(replica, key, ScanChunkTests.lww(1, rng.chance(20) ? .tombstone : .value([1])))
            }
            // Neighbours that must never show up: other partitions, a namespace that extends ours.
            try ScanChunkTests.put(replica, partition: 6, [0x61], ScanChunkTests.lww(1, .value([1])))
            try ScanChunkTests.put(replica, partition: 8, [0], ScanChunkTests.lww(1, .value([1])))
            try ScanChunkTests.put(replica, ns: ScanChunkTests.ns + [0x78], [0x61], ScanChunkTests.lww(1, .value([1])))
            let limitSeed = rng.next()
            let (keys, chunks) = try ScanChunkTests.walk(replica) { Int((limitSeed >> UInt64($0 % 60)) % 7) + 1 }
            XCTAssertEqual(keys.count, Set(keys).count, "seed \(seed) round \(round): a key returned twice")
            XCTAssertEqual(Set(keys), want, "seed \(seed) round \(round): \(chunks) chunks")
            XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) }, "seed \(seed) round \(round): order")
        }
    }

    func testEmptyPartitionAnswersEndAtOnce() throws {
        let replica = try ScanChunkTests.makeReplica()
        let answer = try replica.scanChunk(namespace: ScanChunkTests.ns, partition: 3, position: 0, limit: 10)
        XCTAssertEqual(answer, ScanChunkAnswer(entries: [], next: nil))
    }

    func testAGroupOverTheHardByteBoundFailsTheChunkInsteadOfGrowing() throws {
        let replica = try ScanChunkTests.makeReplica()
        for i in 0..<40 { try ScanChunkTests.put(replica, Array("same-\(i)".utf8), ScanChunkTests.lww(1, .value([1]))) }
        XCTAssertThrowsError(try replica.scanChunk(namespace: ScanChunkTests.ns, partition: 7, position: 0, limit: 1,
                                                   softBytes: 10, hardBytes: 500))
    }

    // MARK: Merging replicas' chunks

    func testMergeDropsKeysDeletedOnOneReplicaAndKeysPastTheEarliestNext() {
        let a: [UInt8] = Array("aaa".utf8), b: [UInt8] = Array("bbb".utf8), c: [UInt8] = Array("ccc".utf8)
        var merge = ScanChunkMerge(start: 0)
        // Replica 1 stopped before "ccc"; replica 2 went on and holds a stale "ccc".
        merge.add(ScanChunkAnswer(entries: [.init(key: a, record: ScanChunkTests.lww(1, .value([]))),
                                            .init(key: b, record: ScanChunkTests.lww(2, .tombstone))],
                                  next: ScanCursor.prefix5(c)))
        merge.add(ScanChunkAnswer(entries: [.init(key: b, record: ScanChunkTests.lww(1, .value([]))),
                                            .init(key: c, record: ScanChunkTests.lww(1, .value([])))],
                                  next: nil))
        XCTAssertEqual(merge.next, ScanCursor.prefix5(c))
        XCTAssertEqual(merge.liveKeys(atMs: 0), [a], "b is deleted (newer tombstone), c is left for the next chunk")
    }

    func testCoordinatorAsksRLocalFirstAndReplacesAFailedReplica() {
        let replicas: [QuorumReplica] = [.primary("n2"), .primary("n1"), .primary("n3", up: false), .fallback("n4"), .fallback("n5")]
        var c = ScanChunkCoordinator(replicas: replicas, localNode: "n1", r: 2, strict: false, timeoutMs: 100, start: 0)
        XCTAssertEqual(c.candidates, ["n1", "n2", "n4"], "local primary first, fallback for the down primary last")
        XCTAssertEqual(c.start(), [.scheduleTimeout(ms: 100), .ask("n1"), .ask("n2")])
        XCTAssertEqual(c.onFailure(from: "n2"), [.ask("n4")])
        XCTAssertEqual(c.onAnswer(from: "n1", answer: ScanChunkAnswer(entries: [], next: nil)), [])
        guard case .done(let merge)? = c.onAnswer(from: "n4", answer: ScanChunkAnswer(entries: [], next: 9)).first else {
            return XCTFail("not done at R answers")
        }
        XCTAssertEqual(merge.next, 9)
        XCTAssertEqual(c.onTimeout(), [], "finished: the timer is ignored")
    }

    func testCoordinatorFailsWithReadWordingWhenTooFewReplicasAnswer() {
        var c = ScanChunkCoordinator(replicas: [.primary("n1"), .primary("n2"), .primary("n3")], localNode: "n9", r: 2,
                                     strict: false, timeoutMs: 100, start: 0)
        _ = c.start()
        XCTAssertEqual(c.onFailure(from: "n1"), [.ask("n3")])
        XCTAssertEqual(c.onFailure(from: "n3"), [.failed(CoordinatorFailure(reason: .failedReplies, operation: .read, answered: 0, required: 2, strict: false))])
        var d = ScanChunkCoordinator(replicas: [.primary("n1"), .primary("n2", up: false), .primary("n3", up: false)], localNode: "n1",
                                     r: 2, strict: true, timeoutMs: 100, start: 0)
        XCTAssertEqual(d.start().first.map { if case .failed(let f) = $0 { return f.message } else { return "" } },
                       "UNAVAILABLE only 1 of 2 required primary replicas are reachable (STRICT)")
        var t = ScanChunkCoordinator(replicas: [.primary("n1"), .primary("n2")], localNode: "n1", r: 2, strict: false, timeoutMs: 100, start: 0)
        _ = t.start()
        _ = t.onAnswer(from: "n1", answer: ScanChunkAnswer(entries: [], next: nil))
        XCTAssertEqual(t.onTimeout(), [.failed(CoordinatorFailure(reason: .timedOut(afterMs: 100), operation: .read, answered: 1, required: 2, strict: false))])
    }

    func testCoordinatorTreatsAnAnswerThatDoesNotAdvanceAsAFailure() {
        var c = ScanChunkCoordinator(replicas: [.primary("n1"), .primary("n2"), .primary("n3")], localNode: "n1", r: 2,
                                     strict: false, timeoutMs: 100, start: 50)
        _ = c.start()
        XCTAssertEqual(c.onAnswer(from: "n2", answer: ScanChunkAnswer(entries: [], next: 50)), [.ask("n3")])
    }

    func testCoordinatorNeverAsksPendingOwners() {
        let c = ScanChunkCoordinator(replicas: [.primary("n1"), .primary("n2"), .pendingOwner("n6")], localNode: "n6", r: 2,
                                     strict: false, timeoutMs: 100, start: 0)
        XCTAssertEqual(c.candidates, ["n1", "n2"])
    }
}
