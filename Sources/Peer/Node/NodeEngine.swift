import Net
import Dispatch
import Ring
import Storage
import Synchronization

/// The node's request logic, with no sockets of its own: client reads and writes run
/// through the quorum coordinators over a `PeerTransport`; peer RPCs arrive through
/// `handleRPC`; hinted handoff runs on the `NodeScheduler`. The real process (`Node`) and
/// the in-process simulation tests drive the same engine.
///
/// Thread-safety: all methods may be called from any thread; per-request state lives in a
/// locked box; completions are called exactly once, from any thread.
public final class NodeEngine: @unchecked Sendable {
    /// Bounds and defaults of client requests.
    public struct Limits: Sendable {
        public var maxKeyBytes = 8 * 1024
        public var maxValueBytes = 16 * 1024 * 1024
        public var defaultTimeoutMs = 5_000
        public var hintBatchSize = 256
        public var hintIntervalMs = 500
        /// Hints older than this are deleted unsent (`--hint-window`; 0: kept until delivered).
        public var hintWindowMs: Int64 = 3 * 3_600_000
        /// Anti-entropy compares one tree per interval (0: off) within this byte budget.
        public var antiEntropyIntervalMs = 1_000
        public var antiEntropyBytesPerSecond = 4 << 20
        /// Bytes of keys or records in one anti-entropy segment request or answer.
        public var repairMessageBytes = ExchangeCore.defaultMaxMessageBytes
        /// Ownership handoff: bytes per second a receiver pulls, transfers at once, chunk size,
        /// and how long without progress makes a transfer "stalled".
        public var handoffBytesPerSecond = 32 << 20
        public var handoffConcurrency = 2
        public var handoffChunkBytes = 512 << 10
        public var handoffStallMs = 30_000
        /// How long a range the node no longer replicates is kept before it is dropped.
        public var dropDelayMs = 10_000
        /// Largest wall-clock offset from the members' median this peer tolerates before it
        /// refuses to coordinate lww writes (`--max-clock-offset`, SPEC 6 "Clocks").
        public var maxClockOffsetMs = 500
        /// Peer requests queued or being served at once, and their payload bytes (RequestGate).
        public var maxQueuedPeerRequests = 8_192
        public var maxQueuedPeerBytes = 512 << 20
        public init() {}
    }

    /// Counters for INFO and /metrics.
    public final class Counters: Sendable {
        public let reads = Atomic<UInt64>(0)
        public let writes = Atomic<UInt64>(0)
        public let forwardedWrites = Atomic<UInt64>(0)
        /// Forwards not answered in time (or answered with a quorum failure), after which the
        /// next candidate coordinated the write.
        public let forwardFailovers = Atomic<UInt64>(0)
        /// Forwards this peer refused to coordinate because they arrived after their sender
        /// may have given up on them (ForwardDeadline).
        public let lateForwardsRefused = Atomic<UInt64>(0)
        public let readRepairs = Atomic<UInt64>(0)
        public let hintsDelivered = Atomic<UInt64>(0)
        public let hintsRefused = Atomic<UInt64>(0)
        public let failedRequests = Atomic<UInt64>(0)
        public let replicaWritesServed = Atomic<UInt64>(0)
        public let replicaReadsServed = Atomic<UInt64>(0)
        init() {}
        func bump(_ a: borrowing Atomic<UInt64>, _ n: UInt64 = 1) { a.wrappingAdd(n, ordering: .relaxed) }
    }

    public let nodeID: String
    public let replica: LocalReplica
    public let cluster: ClusterView
    /// Every peer RPC goes through here, timed: it feeds `latency`.
    let transport: PeerTransport
    /// Round-trip estimates per peer, deadlines derived from them, and missed deadlines.
    public let latency: LatencyTracker
    let scheduler: NodeScheduler
    public let limits: Limits
    public let counters = Counters()
    /// This peer's clock among the members' (fed by `Node` from gossip's measurements).
    public let clockGuard: ClockGuard
    /// Whether the store accepts writes, for INFO, /status and the log.
    public let diskHealth = DiskHealth()
    /// Peer requests refused for naming a key or partition the ring cannot hold.
    public let peerRequestsRefused = Atomic<UInt64>(0)
    /// Ring or namespace table writes that failed (Node+Persist.swift).
    public let metaPersistFailures = Atomic<UInt64>(0)
    /// Bounds the peer requests waiting on or running in `scheduler` (serveQueued).
    public let peerGate: RequestGate
    private let stopped = Atomic<Bool>(false)
    /// Targets with a hint delivery in flight (one batch at a time per owner).
    let delivering = Mutex<Set<String>>([])
    let repairState = RepairState()
    /// Incoming ownership transfers (pure core) and what the shell counts around it.
    let handoff: Mutex<HandoffCore>
    let handoffCounters = HandoffCounters()
    /// Repair work (anti-entropy, transfers, dropping ranges) runs here, never on the
    /// request queues: it reads whole ranges and waits on peers.
    let background: NodeScheduler
    /// Serialises namespace changes at the claimant.
    let namespaceLock = Mutex(())
    /// Publishes a namespace table cluster-wide (gossip) and persists it; set by `Node`.
    public var namespacePublisher: (@Sendable (NamespaceTable) -> Void)?
    /// Milliseconds of the node's monotonic clock, for timers, budgets and deadlines (the
    /// simulated clock in deterministic tests).
    let now: @Sendable () -> Int64
    /// Unix-epoch milliseconds, for times that reach disk or other peers (tombstone times
    /// and the anti-entropy confirmations compared with them): the replica's wall clock
    /// unless a test gives its own.
    let wallNow: @Sendable () -> Int64

    public init(nodeID: String, replica: LocalReplica, cluster: ClusterView, transport: PeerTransport,
                scheduler: NodeScheduler, limits: Limits = Limits(), background: NodeScheduler? = nil,
                clock: @escaping @Sendable () -> Int64 = { EventLoop.nowMs() },
                monotonicUs: @escaping @Sendable () -> Int64 = { EventLoop.nowUs() },
                latencyConfig: PeerLatency.Config = PeerLatency.Config(),
                rpcObserver: PeerRPCObserver? = nil,
                wallClock: (@Sendable () -> Int64)? = nil) {
        self.nodeID = nodeID
        self.replica = replica
        self.cluster = cluster
        let latency = LatencyTracker(config: latencyConfig, nowUs: monotonicUs)
        self.latency = latency
        self.transport = MeasuredTransport(transport, tracker: latency, observer: rpcObserver)
        self.scheduler = scheduler
        self.limits = limits
        peerGate = RequestGate(maxRequests: limits.maxQueuedPeerRequests, maxBytes: limits.maxQueuedPeerBytes)
        self.background = background ?? DispatchNodeScheduler(width: 3, label: "chorus.repair", qos: .utility)
        self.now = clock
        self.wallNow = wallClock ?? replica.now
        clockGuard = ClockGuard(nodeID: nodeID, maxOffsetMs: Int64(limits.maxClockOffsetMs))
        var config = HandoffCore.Config()
        config.concurrency = limits.handoffConcurrency
        config.chunkBytes = limits.handoffChunkBytes
        config.bytesPerSecond = limits.handoffBytesPerSecond
        config.stallMs = Int64(limits.handoffStallMs)
        handoff = Mutex(HandoffCore(nodeID: nodeID, config: config))
    }

    /// Starts the periodic hint delivery.
    public func start() {
        scheduleHintDelivery()
        scheduleHintExpiry()
        scheduleAntiEntropy()
        scheduleHandoff()
    }

    /// This node's handoff report for the ring version it works toward (gossiped).
    public var handoffReport: HandoffReport { handoff.withLock { $0.report } }

    /// Incoming transfers, for INFO and status.
    public var transfers: [TransferStatus] { handoff.withLock { $0.sortedTransfers } }

    public func stop() { stopped.store(true, ordering: .relaxed) }

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    // MARK: Shared request plumbing

    /// Looks up a namespace by name, or the client error for an unknown one.
    func namespace(_ name: String, in snap: ClusterSnapshot) -> Result<Namespace, ClientError> {
        guard let ns = snap.namespaces.namespace(named: name) else {
            return .failure(ClientError("ERR unknown namespace '\(name)' (create it with NS.CREATE)"))
        }
        return .success(ns)
    }

    /// Checks a key (and value) against the size limits.
    func validate(key: [UInt8], value: [UInt8]?) -> ClientError? {
        if key.isEmpty { return ClientError("ERR empty key") }
        if key.count > limits.maxKeyBytes { return ClientError("ERR key too large (max \(limits.maxKeyBytes) bytes)") }
        if let value, value.count > limits.maxValueBytes { return ClientError("ERR value too large (max \(limits.maxValueBytes) bytes)") }
        return nil
    }

    /// The namespace and resolved options of a request, or the client error.
    func prepare(_ name: String, _ options: RequestOptions, in snap: ClusterSnapshot) -> Result<(Namespace, RequestOptions.Resolved), ClientError> {
        namespace(name, in: snap).flatMap { ns in resolve(options, for: ns).map { (ns, $0) } }
    }

    /// The request's resolved quorum options, or the client error.
    func resolve(_ options: RequestOptions, for ns: Namespace) -> Result<RequestOptions.Resolved, ClientError> {
        do {
            return .success(try options.resolve(n: ns.n, defaultR: QuorumLevel(ns.r), defaultW: QuorumLevel(ns.w),
                                                defaultTimeoutMs: limits.defaultTimeoutMs))
        } catch {
            return .failure(ClientError(error.message))
        }
    }
}

/// A one-line client error (no leading '-').
public struct ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: String
    public init(_ line: String) { self.line = line }
    public var description: String { line }
}

extension QuorumLevel {
    /// The Ring module's namespace quorum as a request quorum level.
    init(_ q: Quorum) {
        switch q {
        case .one: self = .one
        case .quorum: self = .quorum
        case .all: self = .all
        case .count(let k): self = .count(k)
        }
    }
}

/// A coordinator and the request's other state behind one lock; actions run outside it.
final class RequestBox<Machine>: @unchecked Sendable {
    private let lock: Mutex<Machine>
    init(_ machine: Machine) { lock = Mutex(machine) }
    func step<R>(_ body: (inout Machine) -> R) -> R { lock.withLock { body(&$0) } }
}
