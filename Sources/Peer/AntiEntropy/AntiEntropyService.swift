import Ring
import Storage
import Synchronization

/// Why a repair step failed (one line, for logs, INFO and the REPAIR reply).
public struct RepairError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What one comparison of a tree with one peer did.
public struct ExchangeOutcome: Equatable, Sendable {
    public var equal: Bool
    public var keysSent: Int
    public var keysReceived: Int
}

/// What a repair round did (REPAIR's reply).
public struct RepairSummary: Equatable, Sendable {
    public var trees = 0
    public var sent = 0
    public var received = 0
    public var failures: [String] = []
}

/// Anti-entropy on one node: the shell around `ExchangeCore`. It knows which trees this
/// node replicates, runs the periodic round (one tree per interval, within a byte budget),
/// drives each comparison with a peer, answers the peer's side of those comparisons
/// (`+Answers`), and reaps the tombstones the comparisons confirmed (`+Tombstones`).
///
/// Thread-safety: any thread. Rounds and exchanges run on the `background` scheduler, never
/// on the request queues: they read whole trees and wait on peers. An exchange's steps run
/// one after another. The answers run wherever the RPC is served.
public final class AntiEntropyService: Sendable {
    /// How often and how much anti-entropy compares.
    public struct Config: Sendable {
        /// One tree is compared per interval (0: no background round).
        public var intervalMs = 1_000
        /// Bytes of trees, segments and keys moved per second, at most (a rate limit).
        public var bytesPerSecond = 4 << 20
        /// Bytes of keys or records in one segment request or answer.
        public var messageBytes = ExchangeCore.defaultMaxMessageBytes
        public init() {}
    }

    let nodeID: String
    let replica: LocalReplica
    let cluster: ClusterView
    let transport: PeerTransport
    let background: NodeScheduler
    let config: Config
    /// Refuses requests for partitions the ring does not have (shared with the engine).
    let requestCheck: PeerRequestCheck
    /// Monotonic milliseconds, for the byte budget.
    let now: @Sendable () -> Int64
    /// Unix-epoch milliseconds, for tombstone times and the confirmations compared with them.
    let wallNow: @Sendable () -> Int64
    /// When each peer last compared equal per tree, the round's position, the budget and
    /// the counters INFO and /metrics show.
    let repairState = RepairState()
    private let stopped = Atomic<Bool>(false)

    init(nodeID: String, replica: LocalReplica, cluster: ClusterView, transport: PeerTransport, background: NodeScheduler,
         config: Config, requestCheck: PeerRequestCheck, now: @escaping @Sendable () -> Int64,
         wallNow: @escaping @Sendable () -> Int64) {
        self.nodeID = nodeID
        self.replica = replica
        self.cluster = cluster
        self.transport = transport
        self.background = background
        self.config = config
        self.requestCheck = requestCheck
        self.now = now
        self.wallNow = wallNow
    }

    /// Starts the periodic round (none when `intervalMs` is 0).
    func start() { scheduleRound() }

    /// Ends the periodic round and the exchanges in progress (at their next step).
    func stop() { stopped.store(true, ordering: .relaxed) }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Every (partition, namespace) this node is a primary of, with all its primaries.
    func replicatedTrees(_ snap: ClusterSnapshot) -> [(id: TreeID, primaries: [String], ns: Namespace)] {
        guard let ring = snap.ring else { return [] }
        var out: [(id: TreeID, primaries: [String], ns: Namespace)] = []
        for ns in snap.namespaces.namespaces {
            for p in 0..<ring.partitionCount {
                let list = PreferenceList(ring: ring, partition: p, n: ns.n, maxFallbacks: 0)
                if list.primaries.contains(nodeID) {
                    out.append((TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8)), list.primaries, ns))
                }
            }
        }
        return out
    }

    // MARK: The background round

    private func scheduleRound() {
        guard config.intervalMs > 0 else { return }
        background.after(ms: config.intervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.tick { self.scheduleRound() }
        }
    }

    /// Compares the next tree in turn with each of its other up primaries, within the byte
    /// budget; after the last tree of a round, reaps what the comparisons confirmed.
    func tick(then next: @escaping @Sendable () -> Void) {
        guard repairState.hasBudget(nowMs: now(), bytesPerSecond: config.bytesPerSecond) else { return next() }
        let snap = cluster.snapshot()
        let trees = replicatedTrees(snap)
        guard !trees.isEmpty else { return next() }
        let index = repairState.state.withLock { s -> Int in
            let i = s.nextIndex % trees.count
            s.nextIndex = i + 1
            return i
        }
        let t = trees[index]
        let pairs = t.primaries.filter { $0 != nodeID && snap.isUp($0) }.map { (t.id, $0, t.ns) }
        runExchanges(pairs[...], RepairSummary()) { [self] _ in
            if index + 1 == trees.count { reapTombstones() }
            next()
        }
    }

    /// Compares every tree this node replicates (or those of `partition`) with each other up
    /// primary, one after another, then reaps.
    public func repairNow(partition: Int? = nil, completion: @escaping @Sendable (RepairSummary) -> Void) {
        let snap = cluster.snapshot()
        var summary = RepairSummary()
        var pairs: [(TreeID, String, Namespace)] = []
        for t in replicatedTrees(snap) where partition == nil || Int(t.id.partition) == partition {
            summary.trees += 1
            for peer in t.primaries where peer != nodeID {
                if snap.isUp(peer) { pairs.append((t.id, peer, t.ns)) } else { summary.failures.append("\(t.id) with \(peer): down") }
            }
        }
        runExchanges(pairs[...], summary) { [self] s in
            reapTombstones()
            completion(s)
        }
    }

    private func runExchanges(_ pairs: ArraySlice<(TreeID, String, Namespace)>, _ summary: RepairSummary,
                              completion: @escaping @Sendable (RepairSummary) -> Void) {
        guard let (id, peer, ns) = pairs.first, !isStopped else { return completion(summary) }
        exchange(id, with: peer, namespace: ns) { [self] result in
            var s = summary
            switch result {
            case .success(let o):
                s.sent += o.keysSent
                s.received += o.keysReceived
            case .failure(let e):
                s.failures.append("\(id) with \(peer): \(e)")
            }
            runExchanges(pairs.dropFirst(), s, completion: completion)
        }
    }

    // MARK: One comparison

    /// Compares `id`'s tree with `peer`'s and repairs both sides' differing keys; only keys
    /// in differing segments travel. The completion runs on the background scheduler.
    public func exchange(_ id: TreeID, with peer: String, namespace ns: Namespace,
                         completion: @escaping @Sendable (Result<ExchangeOutcome, RepairError>) -> Void) {
        repairState.exchanges.wrappingAdd(1, ordering: .relaxed)
        let started = UInt64(max(0, wallNow()))
        let local: MerkleTree
        do { local = try replica.tree(id) } catch {
            repairState.failures.wrappingAdd(1, ordering: .relaxed)
            return completion(.failure(RepairError("local tree \(id): \(error)")))
        }
        let box = ExchangeBox(ExchangeCore(tree: id, peer: peer, local: local, maxMessageBytes: config.messageBytes))

        @Sendable func drive(_ step: ExchangeCore.Step) {
            switch step {
            case let .send(type, payload):
                transport.send(to: peer, type: type, payload: payload, timeoutMs: 10_000) { [self] result in
                    background.async {
                        switch result {
                        case .success(let bytes): drive(box.core.onAnswer(bytes))
                        case .failure(let e): drive(box.core.onFailure("\(e)"))
                        }
                    }
                }
            case .listSegments(let segments):
                do {
                    drive(box.core.onEntries(segments, try replica.segmentDigests(id, segments: Set(segments))))
                } catch {
                    drive(box.core.onFailure("listing segments: \(error)"))
                }
            case let .apply(records, wanted):
                do {
                    let received = try replica.mergeMany(records.compactMap { r -> (address: KeyAddress, record: KeyRecord)? in
                        let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: r.key)
                        return replica.decodeOrSkip(r.record, address, during: "anti-entropy").map { (address, $0) }
                    })
                    // Push only what the replica would gain: after merging its record ours may
                    // equal it (ours was older), and then sending ours back is waste.
                    var theirs: [[UInt8]: UInt64] = [:]
                    for r in records { theirs[r.key] = KeyRecord.digest(encoded: r.record) }
                    var push: [(address: KeyAddress, record: [UInt8])] = []
                    for w in wanted {
                        let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: w.key)
                        guard let bytes = try replica.readBytes(address) else { continue }
                        if let d = theirs[w.key], KeyRecord.digest(encoded: bytes) == d { continue }
                        // A record that does not decode is not sent (the peer could not use it).
                        guard let mine = replica.decodeOrSkip(bytes, address, during: "anti-entropy") else { continue }
                        // Never hand a replica that already reaped it a tombstone ready for reaping.
                        if w.missing, try isReapable(address, record: mine, ns: ns) { continue }
                        push.append((address, bytes))
                    }
                    drive(box.core.onPush(received: received, push: push))
                } catch {
                    drive(box.core.onFailure("applying: \(error)"))
                }
            case .finished(let outcome):
                repairState.charge(box.core.traffic)
                if outcome.equal {
                    repairState.equalExchanges.wrappingAdd(1, ordering: .relaxed)
                    repairState.recordEqual(id, peer: peer, at: started)
                }
                repairState.keysSent.wrappingAdd(UInt64(outcome.keysSent), ordering: .relaxed)
                repairState.keysReceived.wrappingAdd(UInt64(outcome.keysReceived), ordering: .relaxed)
                completion(.success(outcome))
            case .failed(let message):
                repairState.charge(box.core.traffic)
                repairState.failures.wrappingAdd(1, ordering: .relaxed)
                completion(.failure(RepairError(message)))
            }
        }
        drive(box.core.start())
    }
}

/// One exchange's core; its steps run one after another, never at once.
private final class ExchangeBox: @unchecked Sendable {
    var core: ExchangeCore
    init(_ core: ExchangeCore) { self.core = core }
}
