import Storage
import XCTest
@testable import Peer

/// Issue 14: a node that lost its data directory and comes back under the same id (the
/// default id is host:port) must not issue dots its old incarnation already issued, or a
/// replica that saw the old dots merges the new acknowledged writes away as "already seen".
final class DotActorTests: XCTestCase {
    static func store(_ fs: MemoryFileSystem, _ path: String = "/n1") throws -> Store {
        var options = StorageOptions()
        options.fileSystem = fs
        return try Store.open(path: path, options: options)
    }

    static let address = KeyAddress(namespace: Array("default".utf8), partition: 3, key: Array("k".utf8))

    static func write(_ r: LocalReplica, _ value: String) throws -> KeyRecord {
        let result = try r.coordinateWrite(address, conflict: .siblings, context: nil, value: .value(Array(value.utf8)),
                                           siblingLimit: 64)
        guard case .written(let record) = result else {
            XCTFail("write refused: \(result)")
            throw ClientError("refused")
        }
        return record
    }

    static func values(_ r: LocalReplica) throws -> [String] {
        guard case .siblings(let s)? = try r.read(address) else { return [] }
        return s.read().values.map { String(decoding: $0, as: UTF8.self) }
    }

    func testFreshStoreGetsANewIncarnationThatSurvivesAReopen() throws {
        let fs = MemoryFileSystem()
        var store = try DotActorTests.store(fs)
        let actor = try DotActor.resolve(store: store, nodeID: "127.0.0.1:7946")
        XCTAssertTrue(actor.string.hasPrefix("127.0.0.1:7946#"), actor.string)
        XCTAssertEqual(actor.utf8.count, "127.0.0.1:7946".utf8.count + 1 + DotActor.tokenLength)
        try store.close()
        store = try DotActorTests.store(fs)
        XCTAssertEqual(try DotActor.resolve(store: store, nodeID: "127.0.0.1:7946"), actor, "kept across restarts")
        let other = try DotActor.resolve(store: try DotActorTests.store(MemoryFileSystem()), nodeID: "127.0.0.1:7946")
        XCTAssertNotEqual(other, actor, "a wiped store draws a new incarnation")
    }

    func testStoreWithDotsFromBeforeActorsKeepsTheBareID() throws {
        let store = try DotActorTests.store(MemoryFileSystem())
        try store.put(StorageKey.meta(name: StorageKey.counterLeaseName).encode(), CounterLease.encodePersisted(10_000), sync: true)
        XCTAssertEqual(try DotActor.resolve(store: store, nodeID: "n1"), "n1", "its dots already name the bare id")
        XCTAssertEqual(try DotActor.resolve(store: store, nodeID: "n1"), "n1")
    }

    func testLongIDIsCutToLeaveRoomForTheToken() throws {
        let id = NodeID(String(repeating: "é", count: 127) + "x")!  // 255 bytes
        let actor = DotActor.incarnation(of: id, token: "abcdefgh")
        XCTAssertLessThanOrEqual(actor.utf8.count, VersionFormat.maxNodeIDBytes)
        XCTAssertTrue(actor.string.hasSuffix("#abcdefgh"))
        XCTAssertNotNil(NodeID(validatingUTF8: actor.utf8), "cut at a character boundary")
        XCTAssertTrue(actor.string.hasPrefix("éé"))
    }

    func testStoredActorThatIsNotAnIDIsAnError() throws {
        let store = try DotActorTests.store(MemoryFileSystem())
        try store.put(StorageKey.meta(name: DotActor.metaName).encode(), [0xff, 0xfe], sync: true)
        XCTAssertThrowsError(try DotActor.resolve(store: store, nodeID: "n1"))
    }

    /// The defect as reported, in both forms: n1 writes k three times (n2 holds the
    /// record), loses its store, comes back as "n1" and writes k again. Under the bare id
    /// the new write's dot (n1, 1) is covered by n2's context {n1: 3}: n2 drops it, and so
    /// does every read that merges the two. Under a fresh incarnation both stay, as two
    /// concurrent writes should.
    func testWipedNodeReusingItsIDNoLongerShadowsItsNewWrites() throws {
        func run(actor: (Store) throws -> NodeID) throws -> (n2: [String], merged: [String]) {
            let oldStore = try DotActorTests.store(MemoryFileSystem())
            let old = try LocalReplica(store: oldStore, nodeID: try actor(oldStore))
            let n2 = try LocalReplica(store: try DotActorTests.store(MemoryFileSystem(), "/n2"), nodeID: "n2")
            for v in ["a", "b", "c"] { try n2.merge(DotActorTests.address, record: try DotActorTests.write(old, v)) }
            XCTAssertEqual(try DotActorTests.values(n2), ["c"])
            let wipedStore = try DotActorTests.store(MemoryFileSystem())
            let wiped = try LocalReplica(store: wipedStore, nodeID: try actor(wipedStore))
            let fresh = try DotActorTests.write(wiped, "after-wipe")  // acknowledged by n1
            try n2.merge(DotActorTests.address, record: fresh)
            try wiped.merge(DotActorTests.address, record: try XCTUnwrap(try n2.read(DotActorTests.address)))
            return (try DotActorTests.values(n2), try DotActorTests.values(wiped))
        }
        let bare = try run { _ in "n1" }
        XCTAssertEqual(bare.n2, ["c"], "the defect: the same id with counters from 1 loses the new write")
        XCTAssertEqual(bare.merged, ["c"])
        let incarnated = try run { try DotActor.resolve(store: $0, nodeID: "n1") }
        XCTAssertEqual(Set(incarnated.n2), ["c", "after-wipe"], "no acknowledged write shadowed")
        XCTAssertEqual(Set(incarnated.merged), ["c", "after-wipe"])
    }
}
