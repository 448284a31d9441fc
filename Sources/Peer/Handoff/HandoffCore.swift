import Ring

/// The node's incoming ownership transfers as a pure state machine: it plans the ranges to
/// pull from the ring, starts up to `concurrency` at once from a live source, books each
/// chunk against a node-wide byte rate, retries failures with a growing backoff, and marks
/// transfers without progress as stalled. No clock, I/O or threads: time and liveness are
/// inputs; requests to send and checkpoints to delete are outputs. The shell
/// (`NodeEngine+Handoff`) stores each chunk and its checkpoint before reporting it here.
public struct HandoffCore: Sendable {
    public struct Config: Sendable {
        public var concurrency = 2
        public var chunkKeys = 10_000
        public var chunkBytes = 512 << 10
        public var bytesPerSecond = 32 << 20
        public var stallMs: Int64 = 30_000
        public var maxBackoffMs = 30_000
        public init() {}
    }

    /// Where a pull resumes: after `after` (nil: from the start), or nothing left if `done`.
    public struct Checkpoint: Equatable, Sendable {
        public var after: [UInt8]?
        public var done: Bool
        public init(after: [UInt8]?, done: Bool) {
            self.after = after
            self.done = done
        }
        public static let start = Checkpoint(after: nil, done: false)
    }

    public enum Action: Equatable, Sendable {
        /// Ask `source` for the next chunk of `id` at time `atMs` (rate limit).
        case request(TreeID, source: String, HandoffRequest, atMs: Int64)
        /// The range left the plan: forget its checkpoint.
        case deleteCheckpoint(TreeID)
        /// The ring is at rest: forget every checkpoint.
        case clearCheckpoints
    }

    public let nodeID: String
    public var config: Config
    public private(set) var ringVersion: UInt64 = 0
    private var namespacesVersion: UInt64 = .max
    public private(set) var transfers: [TreeID: TransferStatus] = [:]
    private var sources: [TreeID: [String]] = [:]
    private var positions: [TreeID: Checkpoint] = [:]
    private var running = 0
    private var nextFreeMs: Int64 = 0
    private var checkpointsCleared = false
    /// The finished transfers of the last plan, shown while the ring is at rest.
    private var lastPlan: [TransferStatus] = []

    public init(nodeID: String, config: Config = Config()) {
        self.nodeID = nodeID
        self.config = config
    }

    /// What the node gossips for the claimant.
    public var report: HandoffReport {
        HandoffReport(ringVersion: ringVersion, pending: transfers.values.filter { $0.state != .done }.count, total: transfers.count)
    }

    /// Adopts the ring and namespaces (a no-op unless either changed): new ranges to pull
    /// start from their checkpoint; ranges no longer planned are dropped.
    public mutating func onRing(_ ring: Ring, namespaces: NamespaceTable, checkpoint: (TreeID) -> Checkpoint) -> [Action] {
        var actions: [Action] = []
        if !ring.isTransferring && !checkpointsCleared {
            checkpointsCleared = true
            actions.append(.clearCheckpoints)
        }
        guard ring.version != ringVersion || namespaces.version != namespacesVersion else { return actions }
        ringVersion = ring.version
        namespacesVersion = namespaces.version
        let plan = HandoffPlan.pulls(ring: ring, namespaces: namespaces.namespaces, node: nodeID)
        let planned = Set(plan.map(\.id))
        // At rest, the finished transfers of the last plan stay listed (status shows them
        // done) until the next plan replaces them.
        if ring.isTransferring {
            lastPlan = []
        } else if !transfers.isEmpty {
            lastPlan = transfers.values.filter { $0.state == .done }
        }
        for (id, t) in transfers where !planned.contains(id) {
            if t.state == .running { running -= 1 }
            transfers[id] = nil
            positions[id] = nil
            // A range that left the plan stops receiving writes: its checkpoint must not let a
            // later plan skip it. (At rest, all checkpoints go at once.)
            if ring.isTransferring { actions.append(.deleteCheckpoint(id)) }
        }
        if ring.isTransferring { checkpointsCleared = false }
        for p in plan {
            sources[p.id] = p.sources.filter { $0 != nodeID }
            guard transfers[p.id] == nil else { continue }
            let c = checkpoint(p.id)
            var t = TransferStatus(id: p.id, from: sources[p.id]?.first ?? "", to: nodeID)
            if c.done { t.state = .done }
            transfers[p.id] = t
            positions[p.id] = c
        }
        return actions
    }

    /// Marks quiet transfers stalled and starts waiting ones while there is room.
    public mutating func onTick(nowMs now: Int64, isUp: (String) -> Bool) -> [Action] {
        for (id, t) in transfers where t.state == .running && now - t.lastProgressMs > config.stallMs {
            transfers[id]?.state = .stalled
        }
        var actions: [Action] = []
        let waiting = transfers.values.filter { $0.state == .waiting && $0.retryAtMs <= now }.map(\.id).sorted { $0.partition < $1.partition }
        for id in waiting where running < config.concurrency {
            guard let source = sources[id]?.first(where: isUp) else {
                fail(id, "no live source among \((sources[id] ?? []).joined(separator: ","))", nowMs: now, wasRunning: false)
                continue
            }
            running += 1
            transfers[id]?.state = .running
            transfers[id]?.from = source
            if transfers[id]?.startedMs == 0 { transfers[id]?.startedMs = now }
            transfers[id]?.lastProgressMs = now
            actions.append(request(id, source: source, atMs: max(now, nextFreeMs)))
        }
        return actions
    }

    /// A chunk of `id` was stored (with its checkpoint): account it and ask for the next.
    public mutating func onChunk(_ id: TreeID, keys: Int, bytes: Int, lastKey: [UInt8]?, done: Bool, remainingBytes: UInt64,
                                 nowMs now: Int64, isUp: (String) -> Bool) -> [Action] {
        guard var t = transfers[id], t.state == .running || t.state == .stalled else { return [] }
        t.keys += keys
        t.bytes += bytes
        t.remainingBytes = done ? 0 : remainingBytes
        t.lastProgressMs = now
        t.backoffMs = 0
        t.state = done ? .done : .running
        transfers[id] = t
        positions[id] = Checkpoint(after: lastKey ?? positions[id]?.after, done: done)
        // The chunk costs its bytes at the node-wide rate, booked after earlier chunks.
        let cost = Int64(bytes) * 1000 / Int64(max(1, config.bytesPerSecond))
        nextFreeMs = max(now, nextFreeMs) + cost
        if done {
            running -= 1
            return onTick(nowMs: now, isUp: isUp)
        }
        guard let source = sources[id]?.first(where: isUp) else {
            fail(id, "no live source", nowMs: now, wasRunning: true)
            return onTick(nowMs: now, isUp: isUp)
        }
        transfers[id]?.from = source
        return [request(id, source: source, atMs: max(now, nextFreeMs))]
    }

    /// A chunk request failed: the transfer waits out its backoff, then resumes.
    public mutating func onFailure(_ id: TreeID, error: String, nowMs now: Int64) {
        guard let t = transfers[id], t.state == .running || t.state == .stalled else { return }
        fail(id, error, nowMs: now, wasRunning: true)
    }

    private mutating func fail(_ id: TreeID, _ error: String, nowMs now: Int64, wasRunning: Bool) {
        if wasRunning { running -= 1 }
        guard var t = transfers[id] else { return }
        t.state = .waiting
        t.lastError = error
        t.backoffMs = min(config.maxBackoffMs, max(500, t.backoffMs * 2))
        t.retryAtMs = now + Int64(t.backoffMs)
        transfers[id] = t
    }

    private func request(_ id: TreeID, source: String, atMs: Int64) -> Action {
        .request(id, source: source, HandoffRequest(tree: id, afterKey: positions[id]?.after, maxKeys: config.chunkKeys,
                                                    maxBytes: config.chunkBytes), atMs: atMs)
    }

    /// Transfers in partition order, for INFO and status.
    public var sortedTransfers: [TransferStatus] {
        (transfers.isEmpty ? lastPlan : Array(transfers.values)).sorted {
            $0.id.partition != $1.id.partition ? $0.id.partition < $1.id.partition
                : $0.id.namespace.lexicographicallyPrecedes($1.id.namespace)
        }
    }
}
