import Dispatch
import Foundation
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// An in-process network for the SCAN tests (a copy of ClusterSimulationTests' SimNetwork,
/// kept separate so either can change alone): a node can be down, delivery can be cut.
final class ScanSimNetwork: @unchecked Sendable {
    private let state = Mutex<(engines: [String: NodeEngine], down: Set<String>, cuts: Set<[String]>)>(([:], [], []))
    let queue = DispatchQueue(label: "scan.sim.network", attributes: .concurrent)

    func add(_ engine: NodeEngine) { state.withLock { $0.engines[engine.nodeID] = engine } }
    func setDown(_ node: String, _ down: Bool) { state.withLock { if down { $0.down.insert(node) } else { $0.down.remove(node) } } }
    func cut(_ a: String, _ b: String) { state.withLock { $0.cuts.insert([a, b]); $0.cuts.insert([b, a]) } }

    func canReach(_ from: String, _ to: String) -> Bool {
        state.withLock { !$0.down.contains(from) && !$0.down.contains(to) && !$0.cuts.contains([from, to]) }
    }

    func deliver(from: String, to: String, type: PeerMessageType, payload: [UInt8],
                 completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        guard canReach(from, to), let engine = state.withLock({ $0.engines[to] }) else {
            return queue.async { completion(.failure(.unreachable("\(to) unreachable from \(from)"))) }
        }
        queue.async {
            engine.handleRPC(type: type, payload: payload) { result in
                completion(self.canReach(to, from) ? result : .failure(.connectionLost))
            }
        }
    }
}

final class ScanSimTransport: PeerTransport, @unchecked Sendable {
    let network: ScanSimNetwork
    let from: String
    init(network: ScanSimNetwork, from: String) {
        self.network = network
        self.from = from
    }
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        network.deliver(from: from, to: node, type: type, payload: payload, completion: completion)
    }
}

/// SCAN over five (and six) engines with the real coordinators and in-memory stores.
final class ScanClusterTests: XCTestCase {
    var network = ScanSimNetwork()
    var engines: [String: NodeEngine] = [:]
    var views: [String: ClusterView] = [:]
    var ids = (1...5).map { "n\($0)" }
    var live = Set<[UInt8]>()
    var deleted = Set<[UInt8]>()

    override func setUp() {
        network = ScanSimNetwork()
        engines = [:]
        views = [:]
        ids = (1...5).map { "n\($0)" }
        let ring = try! Claim.initial(partitionCount: 64, members: ids, targetN: 3)
        for id in ids { addEngine(id, ring: ring) }
        setLiveness(down: [])
    }

    override func tearDown() {
        for e in engines.values {
            e.stop()
            try? e.replica.store.close()
        }
    }

    func addEngine(_ id: String, ring: Ring) {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        let store = try! Store.open(path: "/\(id)", options: options)
        let replica = try! LocalReplica(store: store, nodeID: NodeID(id)!)
        let view = ClusterView(localID: id)
        view.adopt(ring: ring)
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 2_000
        let engine = NodeEngine(nodeID: id, replica: replica, cluster: view, transport: ScanSimTransport(network: network, from: id),
                                scheduler: DispatchNodeScheduler(), limits: limits)
        network.add(engine)
        engines[id] = engine
        views[id] = view
    }

    func setLiveness(down: Set<String>) {
        for observer in ids {
            for id in ids {
                views[observer]?.update(member: .init(id: id, isUp: !down.contains(id), status: down.contains(id) ? "dead" : "alive",
                                                      admin: "joined", incarnation: 1, clientAddress: "", gossipAddress: ""))
            }
        }
    }

    func write(_ node: String, _ key: [UInt8], _ value: [UInt8]?) -> ClientError? {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<ClientError?>(nil)
        engines[node]!.write(ClientWrite(namespace: "default", key: key, value: value, context: nil, options: RequestOptions(w: .all))) { e in
            box.withLock { $0 = e }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "write did not complete")
        return box.withLock { $0 }
    }

    /// 2,000 keys written through all nodes (W=all, so every replica holds each), 200 deleted.
    func load() {
        let keys = (0..<2_000).map { Array("key:\($0)".utf8) }
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { lane in
            for i in stride(from: lane, to: keys.count, by: 8) {
                if let e = write(ids[i % ids.count], keys[i], Array("v\(i)".utf8)) { errors.withLock { $0.append(e.line) } }
            }
        }
        DispatchQueue.concurrentPerform(iterations: 8) { lane in
            for i in stride(from: lane, to: 200, by: 8) {
                if let e = write(ids[(i + 2) % ids.count], keys[i * 10], nil) { errors.withLock { $0.append(e.line) } }
            }
        }
        XCTAssertEqual(errors.withLock { $0 }, [])
        deleted = Set((0..<200).map { keys[$0 * 10] })
        live = Set(keys).subtracting(deleted)
    }

    func step(_ node: String, cursor: UInt64, count: Int, pattern: String? = nil,
              options: RequestOptions = RequestOptions()) -> Result<ScanPage, ClientError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<ScanPage, ClientError>?>(nil)
        engines[node]!.scans.scan(namespace: "default", cursor: cursor, count: count, pattern: pattern.map { GlobPattern($0) },
                            options: options) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "scan step did not complete")
        return box.withLock { $0 } ?? .failure(ClientError("no answer"))
    }

    /// Scans to completion (bounded in steps); returns every key of every step, or the first error.
    func scanAll(_ node: String, count: Int, pattern: String? = nil, between: ((Int) -> Void)? = nil) -> Result<[[UInt8]], ClientError> {
        var cursor: UInt64 = 0
        var keys: [[UInt8]] = []
        for n in 0..<20_000 {
            switch step(node, cursor: cursor, count: count, pattern: pattern) {
            case .failure(let e): return .failure(e)
            case .success(let page):
                keys += page.keys
                if page.cursor == 0 { return .success(keys) }
                cursor = page.cursor
            }
            between?(n)
        }
        XCTFail("scan from \(node) did not finish in 20,000 steps")
        return .success(keys)
    }

    func assertComplete(_ result: Result<[[UInt8]], ClientError>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .success(let keys) = result else { return XCTFail("\(what): \(result)", file: file, line: line) }
        let got = Set(keys)
        XCTAssertEqual(live.subtracting(got).count, 0, "\(what): live keys missing, e.g. \(live.subtracting(got).prefix(3).map { String(decoding: $0, as: UTF8.self) })", file: file, line: line)
        XCTAssertEqual(got.intersection(deleted).count, 0, "\(what): deleted keys returned", file: file, line: line)
        XCTAssertEqual(got.subtracting(live).count, 0, "\(what): unknown keys returned", file: file, line: line)
    }

    func testEveryLiveKeyAndNoDeletedKeyFromEveryNodeWithCount7And100() {
        load()
        for node in ids {
            for count in [7, 100] {
                assertComplete(scanAll(node, count: count), "scan from \(node) COUNT \(count)")
            }
        }
    }

    func testAStepReturnsAtLeastCountKeysWhileThatManyRemain() {
        load()
        guard case .success(let page) = step("n2", cursor: 0, count: 100) else { return XCTFail("step failed") }
        XCTAssertGreaterThanOrEqual(page.keys.count, 100)
        XCTAssertNotEqual(page.cursor, 0)
    }

    func testMatchFiltersAfterTheMerge() {
        load()
        let result = scanAll("n4", count: 50, pattern: "key:1?")
        let want = Set((10...19).map { Array("key:\($0)".utf8) }).subtracting(deleted)
        guard case .success(let keys) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(Set(keys), want)
        XCTAssertFalse(want.contains(Array("key:10".utf8)), "key:10 was deleted")
    }

    func testWithOneNodeDownEveryKeyIsStillReturned() {
        load()
        network.setDown("n3", true)
        setLiveness(down: ["n3"])
        for node in ids where node != "n3" {
            assertComplete(scanAll(node, count: 7), "n3 down, scan from \(node)")
        }
    }

    func testAReplicaThatMissedDeletesAndWritesIsOutvotedByTheMerge() {
        load()
        // n3 misses 200 deletes and 100 new keys (hints are never delivered here: the
        // engines are not started), then comes back stale.
        network.setDown("n3", true)
        setLiveness(down: ["n3"])
        var more = Set<[UInt8]>()
        for i in 0..<200 {
            let key = Array("key:\(i * 10 + 5)".utf8)
            XCTAssertNil(write(ids[i % 2], key, nil))
            deleted.insert(key)
            live.remove(key)
        }
        for i in 0..<100 {
            // Sorting before "key:": n3, lacking them, reaches further per chunk than the others.
            let key = Array("aaa:\(i)".utf8)
            XCTAssertNil(write("n4", key, Array("x".utf8)))
            more.insert(key)
        }
        live.formUnion(more)
        network.setDown("n3", false)
        setLiveness(down: [])
        for node in ids {
            assertComplete(scanAll(node, count: 7), "n3 stale, scan from \(node)")
        }
    }

    func testANodeTheDetectorThinksUpButUnreachableIsReplacedByTheNextReplica() {
        load()
        // n1 cannot reach n2, though n2 is "up": chunks asking n2 fall over to the next candidate.
        network.cut("n1", "n2")
        assertComplete(scanAll("n1", count: 100), "n1 cut from n2")
    }

    func testTooFewReplicasIsUnavailableNotASilentSkip() {
        load()
        network.setDown("n2", true)
        network.setDown("n4", true)
        setLiveness(down: ["n2", "n4"])
        var options = RequestOptions()
        options.strict = true
        var cursor: UInt64 = 0
        var failure: ClientError?
        for _ in 0..<1_000 {
            switch step("n1", cursor: cursor, count: 100, options: options) {
            case .failure(let e): failure = e
            case .success(let page): cursor = page.cursor
            }
            if failure != nil || cursor == 0 { break }
        }
        guard let failure else { return XCTFail("a STRICT scan with two of five nodes down completed") }
        XCTAssertTrue(failure.line.hasPrefix("UNAVAILABLE only 1 of 2 required primary replicas are reachable (STRICT)"), failure.line)
        XCTAssertTrue(failure.line.contains("retry with the same cursor"), failure.line)
    }

    func testInvalidCursorIsRefused() {
        guard case .failure(let e) = step("n1", cursor: UInt64(65) << 47, count: 10) else { return XCTFail("accepted") }
        XCTAssertEqual(e.line, "ERR invalid cursor")
    }

    /// The ring from the claim with a sixth node, NOT settled (partitions in transfer),
    /// adopted by every view; n6 holds no data yet.
    func joinSixthNodeWithoutSettling() {
        let current = views["n1"]!.snapshot().ring!
        let next = Claim.next(current: current, members: ids + ["n6"])
        XCTAssertTrue(next.isTransferring)
        addEngine("n6", ring: next)
        ids.append("n6")
        for v in views.values { v.adopt(ring: next) }
        setLiveness(down: [])
    }

    func testDuringATransferEveryKeyIsStillReturnedFromEveryNode() {
        load()
        joinSixthNodeWithoutSettling()
        for node in ids {
            assertComplete(scanAll(node, count: 100), "transfer in flight, scan from \(node)")
        }
        assertComplete(scanAll("n6", count: 7), "transfer in flight, scan from n6 COUNT 7")
    }

    func testARingChangeBetweenStepsLosesNothing() {
        load()
        var changed = false
        let result = scanAll("n2", count: 30) { n in
            if n == 5 && !changed {
                changed = true
                self.joinSixthNodeWithoutSettling()
            }
        }
        XCTAssertTrue(changed)
        assertComplete(result, "ring changed after step 5")
    }

    func testKeysReturnsEveryMatchingLiveKey() {
        load()
        guard case .success(let keys)? = keys("n5", "key:19*") else { return XCTFail("KEYS failed") }
        let want = live.filter { String(decoding: $0, as: UTF8.self).hasPrefix("key:19") }
        XCTAssertEqual(Set(keys), want)
        XCTAssertEqual(keys.count, want.count, "no duplicates")
    }

    func keys(_ node: String, _ pattern: String, scanLimit: Int = ScanService.keysScanLimit) -> Result<[[UInt8]], ClientError>? {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<[[UInt8]], ClientError>?>(nil)
        engines[node]!.scans.keys(namespace: "default", pattern: GlobPattern(pattern), options: RequestOptions(), scanLimit: scanLimit) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        return box.withLock { $0 }
    }

    func testKeysPastItsBoundTellsTheClientToUseScan() {
        load()
        guard case .failure(let e)? = keys("n1", "nothing-matches*", scanLimit: 500) else { return XCTFail("KEYS did not stop") }
        XCTAssertEqual(e.line, "ERR KEYS stopped after 500 keys; use SCAN with MATCH and COUNT")
    }

    func testLWWNamespaceScansLikeSiblings() throws {
        let table = try NamespaceTable().upserting(try Namespace(name: "fast", conflict: .lww))
        for v in views.values { v.adopt(namespaces: table) }
        var want = Set<[UInt8]>()
        for i in 0..<300 {
            let key = Array("l\(i)".utf8)
            let done = DispatchSemaphore(value: 0)
            let deleteAfter = i % 10 == 3
            engines[ids[i % 5]]!.write(ClientWrite(namespace: "fast", key: key, value: [0], context: nil, options: RequestOptions(w: .all))) { e in
                XCTAssertNil(e)
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
            if deleteAfter {
                let again = DispatchSemaphore(value: 0)
                engines[ids[(i + 1) % 5]]!.write(ClientWrite(namespace: "fast", key: key, value: nil, context: nil, options: RequestOptions())) { e in
                    XCTAssertNil(e)
                    again.signal()
                }
                XCTAssertEqual(again.wait(timeout: .now() + 10), .success)
            } else {
                want.insert(key)
            }
        }
        var cursor: UInt64 = 0
        var got: [[UInt8]] = []
        for _ in 0..<1_000 {
            let done = DispatchSemaphore(value: 0)
            let box = Mutex<Result<ScanPage, ClientError>?>(nil)
            engines["n2"]!.scans.scan(namespace: "fast", cursor: cursor, count: 9, pattern: nil, options: RequestOptions()) { r in
                box.withLock { $0 = r }
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
            guard case .success(let page)? = box.withLock({ $0 }) else { return XCTFail("scan failed") }
            got += page.keys
            cursor = page.cursor
            if cursor == 0 { break }
        }
        XCTAssertEqual(cursor, 0)
        XCTAssertEqual(Set(got), want)
        XCTAssertEqual(got.count, want.count, "a stable key is returned once")
    }

    func testEmptyNamespaceFinishesAcrossSixtyFourEmptyPartitionsInOneStep() {
        guard case .success(let page) = step("n1", cursor: 0, count: 10) else { return XCTFail("step failed") }
        XCTAssertEqual(page, ScanPage(cursor: 0, keys: [], scanned: 0))
    }
}
