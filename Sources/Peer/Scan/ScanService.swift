// SCAN and KEYS across the cluster (PROTOCOL.md, "SCAN"): the thin shell around ScanStep
// (which partition chunk next) and ScanChunkCoordinator (one chunk from R replicas), plus
// the replica side of the `.scanChunk` RPC. DBSIZE walks the same chunks (`+DBSize`).

import Ring
import Synchronization

/// SCAN, KEYS and DBSIZE on one node: steps over partition chunks read from R replicas,
/// and the replica's side of the `scanChunk` RPC.
///
/// Thread-safety: any thread. A step's chunks complete on whatever thread answers them;
/// between steps and chunk timeouts work hops to `scheduler` (the node queues), which keeps
/// the stack flat when every chunk is answered locally.
public final class ScanService: Sendable {
    /// Most live keys KEYS reads before it gives up and tells the client to use SCAN.
    public static let keysScanLimit = 1_000_000
    /// Most key bytes KEYS answers with (the RESP server closes a connection whose unsent
    /// replies pass 128 MiB).
    public static let keysReplyLimitBytes = 64 << 20
    /// COUNT above this is treated as this (a bound on one step's work and reply).
    public static let maxScanCount = 100_000

    let nodeID: String
    let replica: LocalReplica
    let cluster: ClusterView
    let transport: PeerTransport
    let scheduler: NodeScheduler
    /// The engine's counters: a failed chunk counts as a failed request.
    let counters: NodeEngine.Counters
    /// A request's TIMEOUT when it names none.
    let defaultTimeoutMs: Int
    /// Wall-clock ms that expiry is judged against (NodeEngine.expiryNowMs).
    let expiryNowMs: @Sendable () -> UInt64

    init(nodeID: String, replica: LocalReplica, cluster: ClusterView, transport: PeerTransport, scheduler: NodeScheduler,
         counters: NodeEngine.Counters, defaultTimeoutMs: Int, expiryNowMs: @escaping @Sendable () -> UInt64) {
        self.nodeID = nodeID
        self.replica = replica
        self.cluster = cluster
        self.transport = transport
        self.scheduler = scheduler
        self.counters = counters
        self.defaultTimeoutMs = defaultTimeoutMs
        self.expiryNowMs = expiryNowMs
    }

    /// One SCAN step from `cursor` (the client's number) over a namespace: the next cursor
    /// (0 = done) and the live keys read, filtered by `pattern`.
    public func scan(namespace name: String, cursor: UInt64, count: Int, pattern: GlobPattern?, options: RequestOptions,
                     completion: @escaping @Sendable (Result<ScanPage, ClientError>) -> Void) {
        let snap = cluster.snapshot()
        let ns: Namespace, resolved: RequestOptions.Resolved
        switch RequestOptions.prepare(name, options, in: snap, defaultTimeoutMs: defaultTimeoutMs) {
        case .success(let p): (ns, resolved) = p
        case .failure(let e): return completion(.failure(e))
        }
        guard let ring = snap.ring else {
            return completion(.failure(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly")))
        }
        guard let start = ScanCursor(rawValue: cursor, partitionCount: ring.partitionCount) else {
            return completion(.failure(ClientError("ERR invalid cursor")))
        }
        let step = ScanStep(cursor: start, partitionCount: ring.partitionCount, ringVersion: ring.version,
                            count: min(count, ScanService.maxScanCount), pattern: pattern)
        runStep(step, ns: ns, resolved: resolved, completion: completion)
    }

    /// KEYS: every live key of the namespace matching `pattern`, by SCAN steps run here;
    /// fails once more than `scanLimit` live keys were read.
    public func keys(namespace name: String, pattern: GlobPattern, options: RequestOptions, scanLimit: Int = ScanService.keysScanLimit,
                     completion: @escaping @Sendable (Result<[[UInt8]], ClientError>) -> Void) {
        let found = Mutex<(keys: [[UInt8]], scanned: Int, bytes: Int)>(([], 0, 0))
        @Sendable func step(_ cursor: UInt64) {
            scan(namespace: name, cursor: cursor, count: 1_000, pattern: pattern, options: options) { result in
                switch result {
                case .failure(let e):
                    completion(.failure(e))
                case .success(let page):
                    let (scanned, bytes) = found.withLock { f -> (Int, Int) in
                        f.keys.append(contentsOf: page.keys)
                        f.scanned += page.scanned
                        f.bytes += page.keys.reduce(0) { $0 + $1.count }
                        return (f.scanned, f.bytes)
                    }
                    if scanned > scanLimit {
                        return completion(.failure(ClientError("ERR KEYS stopped after \(scanLimit) keys; use SCAN with MATCH and COUNT")))
                    }
                    if bytes > ScanService.keysReplyLimitBytes {
                        return completion(.failure(ClientError(
                            "ERR KEYS reply would exceed \(ScanService.keysReplyLimitBytes) bytes; use SCAN with MATCH and COUNT")))
                    }
                    if page.cursor == 0 { return completion(.success(found.withLock { $0.keys })) }
                    // A hop between steps keeps the stack flat when every chunk is answered locally.
                    self.scheduler.async { step(page.cursor) }
                }
            }
        }
        step(0)
    }

    /// Drives one step to its reply. A chunk answered inline (all of it local) continues the
    /// loop here; one answered later continues from its completion; the stack stays flat.
    private func runStep(_ step: ScanStep, ns: Namespace, resolved: RequestOptions.Resolved,
                         completion: @escaping @Sendable (Result<ScanPage, ClientError>) -> Void) {
        struct Run {
            var step: ScanStep
            var over = false
        }
        let box = RequestBox(Run(step: step))
        @Sendable func advance() {
            while true {
                let next = box.step { run -> ScanStep.Next? in run.over ? nil : run.step.next() }
                switch next {
                case nil:
                    return
                case .reply(let page)?:
                    box.step { $0.over = true }
                    return completion(.success(page))
                case .chunk(let partition, let position, let limit)?:
                    // 0: running; 1: finished inline (this loop continues); 2: this loop returned (the completion continues).
                    let handoff = Atomic<Int>(0)
                    readChunk(ns: ns, partition: partition, position: position, limit: limit, resolved: resolved) { result in
                        switch result {
                        case .success(let merge):
                            box.step { $0.step.onChunk(liveKeys: merge.liveKeys(atMs: self.expiryNowMs()), next: merge.next) }
                        case .failure(let e):
                            box.step { $0.over = true }
                            completion(.failure(e))
                        }
                        if !handoff.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
                            advance()
                        }
                    }
                    if handoff.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged { return }
                }
            }
        }
        advance()
    }

    /// Reads one chunk of a partition from R of its replicas and merges the answers; a
    /// failure's text ends with `(<command> partition P<advice>)`.
    func readChunk(ns: Namespace, partition: Int, position: UInt64, limit: Int, resolved: RequestOptions.Resolved,
                   command: String = "SCAN", advice: String = "; retry with the same cursor",
                           completion: @escaping @Sendable (Result<ScanChunkMerge, ClientError>) -> Void) {
        let snap = cluster.snapshot()
        guard let ring = snap.ring else {
            return completion(.failure(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly")))
        }
        let list = PreferenceList(ring: ring, partition: partition, n: ns.n, maxFallbacks: 8)
        var replicas: [QuorumReplica] = []
        for p in list.primaries { replicas.append(.primary(p, up: snap.isUp(p))) }
        for t in list.transferTargets { replicas.append(.pendingOwner(t, up: snap.isUp(t))) }
        for f in list.fallbacks { replicas.append(.fallback(f, up: snap.isUp(f))) }
        let nsBytes = Array(ns.name.utf8)
        let request = ScanChunkRequest(namespace: nsBytes, partition: UInt32(partition), position: position, limit: limit)
        let payload = request.encode()
        let box = RequestBox(ScanChunkCoordinator(replicas: replicas, localNode: nodeID, r: resolved.spec.r, strict: resolved.strict,
                                                  timeoutMs: resolved.timeoutMs, start: position))

        @Sendable func perform(_ actions: [ScanChunkAction]) {
            for action in actions {
                switch action {
                case .scheduleTimeout(let ms):
                    scheduler.after(ms: ms) { perform(box.step { $0.onTimeout() }) }
                case .ask(let node) where node == nodeID:
                    let answer: ScanChunkAnswer
                    do {
                        answer = try replica.scanChunk(namespace: nsBytes, partition: UInt32(partition), position: position, limit: limit)
                    } catch {
                        perform(box.step { $0.onFailure(from: node) })
                        continue
                    }
                    perform(box.step { $0.onAnswer(from: node, answer: answer) })
                case .ask(let node):
                    transport.send(to: node, type: .scanChunk, payload: payload, timeoutMs: resolved.timeoutMs) { result in
                        guard case .success(let bytes) = result, let answer = try? ScanChunkAnswer(decoding: bytes) else {
                            return perform(box.step { $0.onFailure(from: node) })
                        }
                        perform(box.step { $0.onAnswer(from: node, answer: answer) })
                    }
                case .done(let merge):
                    completion(.success(merge))
                case .failed(let failure):
                    counters.bump(counters.failedRequests)
                    completion(.failure(ClientError("\(failure.message) (\(command) partition \(partition)\(advice))")))
                }
            }
        }
        perform(box.step { $0.start() })
    }

    /// The replica side of `.scanChunk`: the next keys of a namespace in a partition.
    func serveChunk(_ payload: [UInt8], respond: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        do {
            let request = try ScanChunkRequest(decoding: payload)
            let answer = try replica.scanChunk(namespace: request.namespace, partition: request.partition,
                                               position: request.position, limit: request.limit)
            respond(.success(answer.encode()))
        } catch {
            respond(.failure(.remote(code: 500, message: "\(error)")))
        }
    }
}
