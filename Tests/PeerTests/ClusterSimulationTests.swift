import Dispatch
import Ring
import Storage
import Synchronization
import XCTest
@testable import Peer

/// An in-process network of node engines: delivery between any two nodes can be cut, and a
/// node can be down (every message to or from it fails as unreachable).
final class SimNetwork: @unchecked Sendable {
    private let state = Mutex<(engines: [String: NodeEngine], down: Set<String>, cuts: Set<[String]>)>(([:], [], []))
    let queue = DispatchQueue(label: "sim.network", attributes: .concurrent)

    func add(_ engine: NodeEngine) { state.withLock { $0.engines[engine.nodeID] = engine } }
    func setDown(_ node: String, _ down: Bool) { state.withLock { if down { $0.down.insert(node) } else { $0.down.remove(node) } } }
    func cut(_ a: [String], _ b: [String]) {
        state.withLock { s in for x in a { for y in b { s.cuts.insert([x, y]); s.cuts.insert([y, x]) } } }
    }
    func heal() { state.withLock { $0.cuts.removeAll() } }

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
                // The answer travels back over the same link, which may have been cut meanwhile.
                completion(self.canReach(to, from) ? result : .failure(.connectionLost))
            }
        }
    }
}

final class SimTransport: PeerTransport, @unchecked Sendable {
    let network: SimNetwork
    let from: String
    init(network: SimNetwork, from: String) {
        self.network = network
        self.from = from
    }
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        network.deliver(from: from, to: node, type: type, payload: payload, completion: completion)
    }
}

/// Five engines with the real coordinators and in-memory stores on a simulated network.
/// Liveness is what the test says (a perfect failure detector standing in for gossip).
final class ClusterSimulationTests: XCTestCase {
    var network = SimNetwork()
    var engines: [String: NodeEngine] = [:]
    var views: [String: ClusterView] = [:]
    let ids = (1...5).map { "n\($0)" }

    override func setUp() {
        network = SimNetwork()
        engines = [:]
        views = [:]
        let ring = try! Claim.initial(partitionCount: 64, members: ids, targetN: 3)
        for id in ids {
            let fs = MemoryFileSystem()
            var options = StorageOptions()
            options.fileSystem = fs
            let store = try! Store.open(path: "/\(id)", options: options)
            let replica = try! LocalReplica(store: store, nodeID: NodeID(id)!)
            let view = ClusterView(localID: id)
            view.adopt(ring: ring)
            var limits = NodeEngine.Limits()
            limits.defaultTimeoutMs = 1_000
            limits.hintIntervalMs = 50
            let engine = NodeEngine(nodeID: id, replica: replica, cluster: view, transport: SimTransport(network: network, from: id),
                                    scheduler: DispatchNodeScheduler(), limits: limits)
            network.add(engine)
            engines[id] = engine
            views[id] = view
        }
        setLiveness(down: [])
        for e in engines.values { e.start() }
    }

    override func tearDown() {
        for e in engines.values {
            e.stop()
            try? e.replica.store.close()
        }
    }

    /// Every node's failure detector agrees on who is down (or, with `views`, each sees its own).
    func setLiveness(down: Set<String>, seenBy observers: [String]? = nil) {
        for observer in observers ?? ids {
            for id in ids {
                views[observer]?.update(member: .init(id: id, isUp: !down.contains(id), status: down.contains(id) ? "dead" : "alive",
                                                      admin: "joined", incarnation: 1, clientAddress: "", gossipAddress: ""))
            }
        }
    }

    func set(_ node: String, _ key: String, _ value: String, options: RequestOptions = RequestOptions(), context: [UInt8]? = nil) -> ClientError? {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<ClientError?>(nil)
        engines[node]!.write(ClientWrite(namespace: "default", key: Array(key.utf8), value: Array(value.utf8), context: context, options: options)) { e in
            box.withLock { $0 = e }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "write did not complete")
        return box.withLock { $0 }
    }

    func get(_ node: String, _ key: String, options: RequestOptions = RequestOptions()) -> Result<KeyRecord?, ClientError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<KeyRecord?, ClientError>>(.success(nil))
        engines[node]!.read(namespace: "default", key: Array(key.utf8), options: options) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "read did not complete")
        return box.withLock { $0 }
    }

    func values(_ r: Result<KeyRecord?, ClientError>) -> [String] {
        guard case .success(let rec?) = r, case .siblings(let s) = rec else { return [] }
        return s.read().values.map { String(decoding: $0, as: UTF8.self) }.sorted()
    }

    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return XCTFail("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    func testSequentialWritesThroughAnyPeerNeverCreateSiblings() {
        for (i, node) in ids.enumerated() {
            XCTAssertNil(set(node, "k", "v\(i)"))
        }
        XCTAssertEqual(values(get("n3", "k", options: RequestOptions(r: .all))), ["v4"])
    }

    func testWritesSurviveACrashWithSloppyQuorumAndHintsArriveOnReturn() {
        let key = "sloppy"
        let primaries = PreferenceList(ring: views["n1"]!.snapshot().ring!, namespace: Array("default".utf8), key: Array(key.utf8), n: 3).primaries
        let victim = primaries[0]
        let coordinator = ids.first { !primaries.contains($0) }!
        network.setDown(victim, true)
        setLiveness(down: [victim])
        XCTAssertNil(set(coordinator, key, "while-down", options: RequestOptions(w: .all)))
        let hintsHeld = ids.filter { $0 != victim }.reduce(0) { $0 + engines[$1]!.replica.hints.total }
        XCTAssertGreaterThan(hintsHeld, 0, "a fallback holds a hint for \(victim)")
        // The owner returns: hints are delivered and then deleted.
        network.setDown(victim, false)
        setLiveness(down: [])
        waitUntil("hint delivery") { ids.allSatisfy { engines[$0]!.replica.hints.total == 0 } }
        let local = try? engines[victim]!.replica.read(KeyAddress(namespace: Array("default".utf8),
                                                                   partition: UInt32(views[victim]!.snapshot().ring!.partition(namespace: Array("default".utf8), key: Array(key.utf8))),
                                                                   key: Array(key.utf8)))
        guard case .siblings(let s)?? = local else { return XCTFail("owner has no copy after hint delivery") }
        XCTAssertEqual(s.read().values, [Array("while-down".utf8)])
    }

    func testPartitionProducesSiblingsThatPutvResolves() {
        let key = "split"
        XCTAssertNil(set("n1", key, "base"))
        // {n1,n2} | {n3,n4,n5}: each side believes the other dead and takes writes.
        network.cut(["n1", "n2"], ["n3", "n4", "n5"])
        setLiveness(down: ["n3", "n4", "n5"], seenBy: ["n1", "n2"])
        setLiveness(down: ["n1", "n2"], seenBy: ["n3", "n4", "n5"])
        XCTAssertNil(set("n1", key, "left", options: RequestOptions(w: .one)))
        XCTAssertNil(set("n4", key, "right", options: RequestOptions(w: .one)))
        network.heal()
        setLiveness(down: [])
        waitUntil("hints drained") { ids.allSatisfy { engines[$0]!.replica.hints.total == 0 } }
        let merged = get("n2", key, options: RequestOptions(r: .all))
        XCTAssertEqual(values(merged), ["left", "right"], "both concurrent writes survive as siblings")
        guard case .success(let rec?) = merged, case .siblings(let s) = rec else { return XCTFail("no record") }
        XCTAssertNil(set("n5", key, "resolved", context: s.read().context.encodeContext()))
        XCTAssertEqual(values(get("n1", key, options: RequestOptions(r: .all))), ["resolved"])
    }

    func testStrictQuorumReadsSeeEveryAcknowledgedWrite() {
        var rng = SystemRandomNumberGenerator()
        var acked: [String: String] = [:]
        for round in 0..<40 {
            // A random primary-or-not node is down for each write, and a random one for each read.
            let down = ids.randomElement(using: &rng)!
            network.setDown(down, true)
            setLiveness(down: [down])
            let key = "q\(round % 10)"
            let node = ids.filter { $0 != down }.randomElement(using: &rng)!
            if set(node, key, "r\(round)", options: RequestOptions(r: .quorum, w: .quorum, strict: true)) == nil {
                acked[key] = "r\(round)"
            }
            network.setDown(down, false)
            let readDown = ids.randomElement(using: &rng)!
            network.setDown(readDown, true)
            setLiveness(down: [readDown])
            let reader = ids.filter { $0 != readDown }.randomElement(using: &rng)!
            if let want = acked[key] {
                // SPEC 6: the read sees that write or a successor. Failover between
                // coordinators may leave an older write beside it as a sibling (VERSIONS.md).
                let seen = values(get(reader, key, options: RequestOptions(r: .quorum, strict: true)))
                XCTAssertTrue(seen.contains(want), "round \(round): read \(seen), last acknowledged \(want)")
            }
            network.setDown(readDown, false)
            setLiveness(down: [])
        }
        XCTAssertGreaterThan(acked.count, 5)
    }
}
