import Synchronization

/// Paced delivery of the hints this node keeps for other owners: every `intervalMs` each
/// owner that is up gets one batch; a batch is deleted only after the owner acknowledged
/// it, and the next batch for that owner waits for the previous, so delivery goes at the
/// owner's own speed. Hints older than `windowMs` are deleted unsent (an owner down that
/// long is repaired by anti-entropy).
///
/// Thread-safety: any thread. Delivery rounds run on `scheduler` (the node queues), expiry
/// passes on `background`; `delivering` keeps one batch in flight per owner.
public final class HintDelivery: Sendable {
    /// Batch size and pacing.
    public struct Config: Sendable {
        public var batchSize = 256
        public var intervalMs = 500
        /// Hints older than this are deleted unsent (`--hint-window`; 0: kept until delivered).
        public var windowMs: Int64 = 3 * 3_600_000
        public init() {}
    }

    /// How often expiry looks for hints past the window.
    static let expiryIntervalMs = 10_000

    let nodeID: String
    let hints: HintStore
    let cluster: ClusterView
    let transport: PeerTransport
    let scheduler: NodeScheduler
    let background: NodeScheduler
    let config: Config
    /// The engine's counters: delivered hints are counted there (INFO, /metrics).
    let counters: NodeEngine.Counters
    /// Targets with a hint delivery in flight (one batch at a time per owner).
    private let delivering = Mutex<Set<String>>([])
    private let stopped = Atomic<Bool>(false)

    init(nodeID: String, hints: HintStore, cluster: ClusterView, transport: PeerTransport, scheduler: NodeScheduler,
         background: NodeScheduler, config: Config, counters: NodeEngine.Counters) {
        self.nodeID = nodeID
        self.hints = hints
        self.cluster = cluster
        self.transport = transport
        self.scheduler = scheduler
        self.background = background
        self.config = config
        self.counters = counters
    }

    /// Starts the delivery rounds and the expiry passes.
    func start() {
        scheduleDelivery()
        scheduleExpiry()
    }

    /// Ends the rounds and passes (batches in flight still complete).
    func stop() { stopped.store(true, ordering: .relaxed) }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func scheduleDelivery() {
        scheduler.after(ms: config.intervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.deliver()
            self.scheduleDelivery()
        }
    }

    /// Every `expiryIntervalMs`, on the background queue, deletes the hints older than
    /// `windowMs` (HintStore.swift).
    private func scheduleExpiry() {
        guard config.windowMs > 0 else { return }
        background.after(ms: HintDelivery.expiryIntervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.expire()
            self.scheduleExpiry()
        }
    }

    /// One expiry pass (also callable from tests); a failure is counted (INFO
    /// `hints_expiry_errors`) and the next pass tries again.
    public func expire() {
        do {
            try hints.expire(windowMs: config.windowMs)
        } catch {
            hints.expiryFailed()
        }
    }

    /// One round of hint delivery (also callable from tests).
    public func deliver() {
        let snap = cluster.snapshot()
        for (target, count) in hints.targets where count > 0 && target != nodeID && snap.isUp(target) {
            let claimed = delivering.withLock { $0.insert(target).inserted }
            guard claimed else { continue }
            let batch: [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])]
            do {
                batch = try hints.batch(for: target, limit: config.batchSize)
            } catch {
                _ = delivering.withLock { $0.remove(target) }
                continue
            }
            guard !batch.isEmpty else {
                _ = delivering.withLock { $0.remove(target) }
                continue
            }
            let message = HintBatchMessage(entries: batch.map { ($0.address, $0.record) })
            transport.send(to: target, type: .hintDelivery, payload: message.encode(), timeoutMs: 10_000) { [self] result in
                if case .success = result {
                    do {
                        try hints.remove(batch.map(\.storageKey), target: target)
                        counters.bump(counters.hintsDelivered, UInt64(batch.count))
                    } catch {}
                }
                _ = delivering.withLock { $0.remove(target) }
            }
        }
    }
}
