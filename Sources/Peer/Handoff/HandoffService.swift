import Ring
import Storage
import Synchronization

/// Ownership handoff on one node: the shell around `HandoffCore`. It feeds the core the
/// ring, liveness and time, sends its chunk requests, stores each chunk and its checkpoint
/// before reporting it, serves the source's side (`answer`), and drops ranges the node no
/// longer replicates once nothing uses them (`+Drops`).
///
/// Thread-safety: any thread. Ticks and chunk pulls run on the `background` scheduler,
/// never on the request queues; the core sits behind one lock, which no I/O is done under.
public final class HandoffService: Sendable {
    /// What a transfer may use, and how long a range no longer replicated is kept.
    public struct Config: Sendable {
        public var core = HandoffCore.Config()
        /// Requests that started under the old ring have finished by then.
        public var dropDelayMs = 10_000
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
    /// Monotonic milliseconds, for the core's pacing and stall detection.
    let now: @Sendable () -> Int64
    /// Incoming ownership transfers (pure core).
    let core: Mutex<HandoffCore>
    /// What the shell counts around the core, and the ranges waiting to be dropped.
    let counters = HandoffCounters()
    private let stopped = Atomic<Bool>(false)

    init(nodeID: String, replica: LocalReplica, cluster: ClusterView, transport: PeerTransport, background: NodeScheduler,
         config: Config, requestCheck: PeerRequestCheck, now: @escaping @Sendable () -> Int64) {
        self.nodeID = nodeID
        self.replica = replica
        self.cluster = cluster
        self.transport = transport
        self.background = background
        self.config = config
        self.requestCheck = requestCheck
        self.now = now
        core = Mutex(HandoffCore(nodeID: nodeID, config: config.core))
    }

    /// Starts the ticks, every 200 ms.
    func start() { scheduleTick() }

    /// Ends the ticks and the pulls in progress (at their next step).
    func stop() { stopped.store(true, ordering: .relaxed) }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// This node's handoff report for the ring version it works toward (gossiped).
    public var report: HandoffReport { core.withLock { $0.report } }

    /// Incoming transfers, for INFO and status.
    public var transfers: [TransferStatus] { core.withLock { $0.sortedTransfers } }

    private func scheduleTick() {
        background.after(ms: 200) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.tick()
            self.scheduleTick()
        }
    }

    /// One round: the core adopts the ring, starts what it can; ranges moved away are dropped.
    public func tick() {
        let snap = cluster.snapshot()
        guard let ring = snap.ring else { return }
        let t = now()
        let actions = core.withLock { core in
            core.onRing(ring, namespaces: snap.namespaces) { id in (try? loadCheckpoint(id)) ?? .start }
                + core.onTick(nowMs: t, isUp: snap.isUp)
        }
        perform(actions)
        let dropCheck = counters.drops.withLock { d -> Bool in
            guard t - d.lastCheckMs >= 2_000 else { return false }
            d.lastCheckMs = t
            return true
        }
        if dropCheck, !ring.isTransferring { dropUnneededRanges(snap, ring: ring, now: t) }
    }

    private func perform(_ actions: [HandoffCore.Action]) {
        for action in actions {
            switch action {
            case let .request(id, source, request, atMs):
                let delay = Int(max(0, atMs - now()))
                if delay == 0 {
                    background.async { [self] in requestChunk(id, from: source, request) }
                } else {
                    background.after(ms: delay) { [self] in requestChunk(id, from: source, request) }
                }
            case .deleteCheckpoint(let id):
                try? replica.deleteMeta(checkpointName(id))
            case .clearCheckpoints:
                try? clearCheckpoints()
            }
        }
    }

    private func requestChunk(_ id: TreeID, from source: String, _ request: HandoffRequest) {
        guard !isStopped else { return }
        transport.send(to: source, type: .handoffBatch, payload: request.encode(), timeoutMs: 30_000) { [self] result in
            background.async { [self] in received(id, result) }
        }
    }

    /// Stores a chunk durably (records, then checkpoint), then tells the core.
    private func received(_ id: TreeID, _ result: Result<[UInt8], RPCError>) {
        guard !isStopped else { return }
        let t = now()
        let isUp = cluster.snapshot().isUp
        do {
            let chunk = try HandoffChunk(decoding: result.get())
            let entries = chunk.records.compactMap { r -> (address: KeyAddress, record: KeyRecord)? in
                let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: r.key)
                return replica.decodeOrSkip(r.record, address, during: "handoff").map { (address, $0) }
            }
            try replica.mergeMany(entries)
            let last = chunk.records.last?.key
            let previous = try loadCheckpoint(id)
            try saveCheckpoint(id, HandoffCore.Checkpoint(after: last ?? previous.after, done: chunk.done))
            let bytes = chunk.records.reduce(0) { $0 + $1.key.count + $1.record.count }
            counters.keysReceived.wrappingAdd(UInt64(entries.count), ordering: .relaxed)
            counters.bytesReceived.wrappingAdd(UInt64(bytes), ordering: .relaxed)
            let actions = core.withLock {
                $0.onChunk(id, keys: entries.count, bytes: bytes, lastKey: last, done: chunk.done,
                           remainingBytes: chunk.remainingBytes, nowMs: t, isUp: isUp)
            }
            perform(actions)
        } catch {
            core.withLock { $0.onFailure(id, error: "\(error)", nowMs: t) }
        }
    }

    /// A source's side of the `handoffBatch` RPC: the next chunk of a range.
    func answer(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try HandoffRequest(decoding: payload)
        if let bad = requestCheck.unknownPartition(request.tree.partition) { throw ClientError(bad) }
        // The asker's chunk size, within what one frame carries comfortably.
        let chunk = try replica.handoffChunk(request.tree, after: request.afterKey, maxKeys: max(1, request.maxKeys),
                                             maxBytes: min(max(1, request.maxBytes), 4 * BatchBounds.maxBatchBytes))
        var remaining: UInt64 = 0
        if !chunk.done, let last = chunk.entries.last {
            let range = StorageKey.namespaceRange(partition: request.tree.partition, namespace: request.tree.namespace)
            remaining = (try? replica.store.approximateSize(KeyRange(start: (range.start ?? []) + last.key, end: range.end))) ?? 0
        }
        counters.chunksServed.wrappingAdd(1, ordering: .relaxed)
        return HandoffChunk(records: chunk.entries, done: chunk.done, remainingBytes: remaining).encode()
    }

    // MARK: Checkpoints (meta "handoff/<partition>/<namespace hex>": flags:u8 ++ last key)

    func checkpointName(_ id: TreeID) -> String {
        "handoff/\(id.partition)/" + id.namespace.map { String($0, radix: 16) }.joined(separator: ".")
    }

    func loadCheckpoint(_ id: TreeID) throws -> HandoffCore.Checkpoint {
        guard let bytes = try replica.meta(checkpointName(id)), let flag = bytes.first else { return .start }
        return HandoffCore.Checkpoint(after: flag & 2 != 0 ? Array(bytes.dropFirst()) : nil, done: flag & 1 == 1)
    }

    func saveCheckpoint(_ id: TreeID, _ c: HandoffCore.Checkpoint) throws {
        let flag: UInt8 = (c.done ? 1 : 0) | (c.after != nil ? 2 : 0)
        try replica.setMeta(checkpointName(id), [flag] + (c.after ?? []))
    }

    /// Forgets every checkpoint once the ring has no transfers left.
    func clearCheckpoints() throws {
        let prefix = StorageKey.meta(name: Array("handoff/".utf8)).encode()
        let it = try replica.store.makeIterator(range: .prefix(prefix))
        var batch = WriteBatch()
        while it.isValid {
            batch.delete(it.key)
            try it.next()
        }
        try replica.store.write(batch)
    }
}
