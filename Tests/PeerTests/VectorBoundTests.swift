import Storage
import Synchronization
import XCTest
@testable import Peer

/// Issue 14, high 2: encode and decode share one bound on a version vector's entries, the
/// client edge refuses more with a clear error, and a stored record that does not decode
/// never stops the rest of its partition from being repaired, handed off or scanned.
final class VectorBoundTests: XCTestCase {
    static func vector(_ n: Int, prefix: String = "actor-") -> VersionVector {
        VersionVector(Dictionary(uniqueKeysWithValues: (0..<n).map { (NodeID("\(prefix)\($0)")!, UInt64(1)) }))
    }

    func testContextOverTheBoundIsRefusedWithAClearError() {
        let bounds = CounterBounds()
        guard case .failure(let e) = bounds.clientContext(VectorBoundTests.vector(VersionFormat.maxVectorEntries + 1).encodeContext()) else {
            return XCTFail("a context over the bound decoded")
        }
        XCTAssertEqual(e.line, "ERR bad context: 1025 entries (max 1024)")
        guard case .failure(let bad) = bounds.clientContext([1, 2, 3]) else { return XCTFail("garbage decoded") }
        XCTAssertEqual(bad.line, "ERR bad context")
        guard case .success(let v) = bounds.clientContext(VectorBoundTests.vector(VersionFormat.maxVectorEntries).encodeContext()) else {
            return XCTFail("a context at the bound was refused")
        }
        XCTAssertEqual(v.count, VersionFormat.maxVectorEntries)
    }

    /// The defect as reported: a PUTV with a 1,024-entry context stored a 1,025-entry vector
    /// that no decoder would read back.
    func testPutvWithAFullContextStoresARecordThatDecodes() throws {
        let r = try ForgedContextTests.memoryReplica("n1")
        let address = ForgedContextTests.address("k")
        let result = try ForgedContextTests.write(r, "k", "v", context: VectorBoundTests.vector(VersionFormat.maxVectorEntries))
        guard case .written = result else { return XCTFail("refused: \(result)") }
        XCTAssertNoThrow(try r.read(address))
        guard case .siblings(let s)? = try r.read(address) else { return XCTFail("no record") }
        XCTAssertLessThanOrEqual(s.context.count, VersionFormat.maxVectorEntries)
    }

    func testWriteThatWouldTakeAVectorPastTheBoundIsRefusedAndTheKeyStaysReadable() throws {
        let r = try ForgedContextTests.memoryReplica("n1")
        let address = ForgedContextTests.address("k")
        let full = try KeyState(context: VectorBoundTests.vector(VersionFormat.maxVectorEntries),
                                siblings: [Sibling(dot: Dot(actor: "actor-0", counter: 1), value: .value([1]))])
        try r.merge(address, record: .siblings(full))
        let result = try ForgedContextTests.write(r, "k", "v")
        guard case .refused(let line) = result else { return XCTFail("stored a vector past the bound: \(result)") }
        XCTAssertEqual(line, "ERR the key's version vector would have 1025 entries (max 1024)")
        XCTAssertEqual(try r.read(address), .siblings(full), "nothing changed")
    }

    // MARK: Undecodable records are skipped, counted and logged

    static let garbage: [UInt8] = [1, 0, 0, 0, 0, 0x73, 0xff]

    /// A replica with good records k0...k9 and one that does not decode, "bad", in one partition.
    static func damagedReplica() throws -> LocalReplica {
        let r = try ForgedContextTests.memoryReplica("n1")
        for i in 0..<10 { try ForgedContextTests.write(r, "k\(i)", "v\(i)") }
        try r.store.put(ForgedContextTests.address("bad").storageKey, garbage)
        return r
    }

    func testMerkleBuildOfAPartitionWithAnUndecodableRecordCompletes() throws {
        let r = try VectorBoundTests.damagedReplica()
        let id = TreeID(partition: 3, namespace: Array("default".utf8))
        let tree = try r.tree(id)
        var clean = MerkleTree()
        for i in 0..<10 {
            let bytes = try XCTUnwrap(r.readBytes(ForgedContextTests.address("k\(i)")))
            clean.update(key: Array("k\(i)".utf8), old: nil, new: try KeyRecord(decoding: bytes).digest)
        }
        XCTAssertNotEqual(tree.root, MerkleTree().root)
        clean.update(key: Array("bad".utf8), old: nil, new: KeyRecord.digest(encoded: VectorBoundTests.garbage))
        XCTAssertEqual(tree.root, clean.root, "every key is in the tree, the bad one by its stored bytes")
        let digests = try r.segmentDigests(id, segments: Set(0..<MerkleTree.segmentCount))
        XCTAssertEqual(digests.count, 11)
    }

    func testScanOfAPartitionSkipsAnUndecodableRecordAndCountsIt() throws {
        let r = try VectorBoundTests.damagedReplica()
        let answer = try r.scanChunk(namespace: Array("default".utf8), partition: 3, position: 0, limit: 100)
        XCTAssertEqual(Set(answer.entries.map { String(decoding: $0.key, as: UTF8.self) }), Set((0..<10).map { "k\($0)" }))
        XCTAssertEqual(r.audit.undecodable.load(ordering: .relaxed), 1)
    }

    func testMergeBatchSkipsAKeyWhoseStoredRecordDoesNotDecode() throws {
        let r = try VectorBoundTests.damagedReplica()
        let other = try ForgedContextTests.memoryReplica("n2")
        var entries: [(address: KeyAddress, record: KeyRecord)] = []
        for k in ["bad", "new0", "new1"] {
            guard case .written(let rec) = try ForgedContextTests.write(other, k, "x") else { return XCTFail("write refused") }
            entries.append((ForgedContextTests.address(k), rec))
        }
        XCTAssertEqual(try r.mergeMany(entries), 2, "the two good keys merged")
        XCTAssertNotNil(try r.read(ForgedContextTests.address("new1")))
        XCTAssertEqual(try r.readBytes(ForgedContextTests.address("bad")), VectorBoundTests.garbage, "the bad record is kept, not guessed at")
        XCTAssertEqual(r.audit.undecodable.load(ordering: .relaxed), 1)
    }

    func testAuditLogsTheKeyAndBoundsItsLines() {
        let lines = Mutex<[String]>([])
        let audit = RecordAudit { line in lines.withLock { $0.append(line) } }
        let address = KeyAddress(namespace: Array("default".utf8), partition: 9, key: [0x6b, 0x00, 0xff])
        for _ in 0..<100 { audit.report(address, KeyRecordError.checksumMismatch, during: "scan", nowMs: 1_000) }
        XCTAssertEqual(audit.undecodable.load(ordering: .relaxed), 100)
        XCTAssertEqual(lines.withLock { $0.count }, RecordAudit.maxLinesPerMinute)
        XCTAssertTrue(lines.withLock { $0[0] }.contains("partition=9 key=k\\x00\\xff"), lines.withLock { $0[0] })
        audit.report(address, KeyRecordError.checksumMismatch, during: "scan", nowMs: 61_001)
        XCTAssertEqual(lines.withLock { $0.count }, RecordAudit.maxLinesPerMinute + 1, "a new minute logs again")
    }
}

/// Issue 14, medium: a PUTV whose context covers none of the key's siblings once added a
/// sibling past the limit every time.
final class SiblingLimitBypassTests: XCTestCase {
    func full(_ r: LocalReplica, limit: Int) throws -> KeyState {
        let actors = (0..<limit).map { NodeID("a\($0)")! }
        let state = try KeyState(context: VersionVector(Dictionary(uniqueKeysWithValues: actors.map { ($0, UInt64(2)) })),
                                 siblings: actors.map { Sibling(dot: Dot(actor: $0, counter: 2), value: .value(Array($0.utf8))) })
        try r.merge(ForgedContextTests.address("k"), record: .siblings(state))
        return state
    }

    func testContextCoveringNoSiblingCannotGrowTheKeyPastTheLimit() throws {
        let r = try ForgedContextTests.memoryReplica("n1")
        let state = try full(r, limit: 64)
        let stale = VersionVector(["a0": 1])
        for _ in 0..<3 {
            let result = try ForgedContextTests.write(r, "k", "more", context: stale)
            guard case .refused(let line) = result else { return XCTFail("the key grew past its limit: \(result)") }
            XCTAssertTrue(line.hasPrefix("ERR key has 64 siblings (limit 64) and the context covers none of them"), line)
        }
        XCTAssertEqual(try r.read(ForgedContextTests.address("k")), .siblings(state))
    }

    func testContextCoveringOneSiblingIsAcceptedAndNeverGrowsTheSet() throws {
        let r = try ForgedContextTests.memoryReplica("n1")
        _ = try full(r, limit: 64)
        guard case .written(.siblings(let after)) = try ForgedContextTests.write(r, "k", "resolves-a0", context: VersionVector(["a0": 2])) else {
            return XCTFail("a write that shrinks the set was refused")
        }
        XCTAssertEqual(after.siblings.count, 64)
        guard case .written(.siblings(let resolved)) = try ForgedContextTests.write(r, "k", "all", context: after.context) else {
            return XCTFail("a full resolution was refused")
        }
        XCTAssertEqual(resolved.siblings.count, 1)
    }
}
