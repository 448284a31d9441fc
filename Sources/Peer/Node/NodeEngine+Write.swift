import Net
import Ring
import Storage
import Synchronization

/// A client write: a value, or a delete (tombstone), with or without a causal context.
public struct ClientWrite: Sendable {
    public var namespace: String
    public var key: [UInt8]
    /// nil: a delete.
    public var value: [UInt8]?
    /// nil: a write without a context (SET, DEL); otherwise the encoded context (may be empty).
    public var context: [UInt8]?
    public var options: RequestOptions
    /// The client write's id (0: none yet). Given to a write the first time it is forwarded,
    /// so every coordinator that versions it names the same write (RECORDS.md, "Write ids").
    public var writeID: UInt64
    /// A read-modify-write (SET NX, APPEND, EXPIRE...) the coordinating primary runs on the
    /// key's stored state instead of writing `value` (NodeEngine+Transform.swift); its reply
    /// is left in `outcome`.
    public var transform: WriteTransform?
    public var outcome: TransformOutcome?
    /// INCRBY instead of a value (value and context nil): NodeEngine+Increment.swift.
    public var increment: IncrementRequest?

    public init(namespace: String, key: [UInt8], value: [UInt8]?, context: [UInt8]?, options: RequestOptions, writeID: UInt64 = 0,
                transform: WriteTransform? = nil, outcome: TransformOutcome? = nil, increment: IncrementRequest? = nil) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.context = context
        self.options = options
        self.writeID = writeID
        self.transform = transform
        self.outcome = outcome
        self.increment = increment
    }
}

extension NodeEngine {
    /// Runs a client write: routes it to the coordinating primary (here or by a forward),
    /// which versions it and replicates to W. `completion(nil)` is `+OK`.
    /// Any thread may call it; the local store runs on a node queue. `forwarded`: the call
    /// comes from another peer's forward and already runs on a node queue.
    ///
    /// Availability before failure detection (SPEC 6): a forward gets a deadline of its own
    /// from measured round trips (PeerLatency), far below the request's TIMEOUT; when it
    /// passes, the next candidate coordinates the same write (same write id), and when none is
    /// left this peer does, as a stand-in with hints. The TIMEOUT bounds the whole request.
    public func write(_ request: ClientWrite, forwarded: Bool = false, completion: @escaping @Sendable (ClientError?) -> Void) {
        counters.bump(counters.writes)
        if let bad = validate(key: request.key, value: request.value) { return completion(bad) }
        var context: VersionVector?
        if let raw = request.context {
            switch replica.counterBounds.clientContext(raw) {
            case .success(let decoded): context = decoded
            case .failure(let bad): return completion(bad)
            }
        }
        let snap = cluster.snapshot()
        let ns: Namespace, resolved: RequestOptions.Resolved
        switch prepare(request.namespace, request.options, in: snap) {
        case .success(let p): (ns, resolved) = p
        case .failure(let e): return completion(e)
        }
        if let refusal = writeRefusal(for: ns, forwarded: forwarded) { return completion(refusal) }
        guard let (partition, gossipReplicas, _) = snap.replicas(namespace: ns, key: request.key) else {
            return completion(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly"))
        }
        // Gossip may lag, or repeat a stale "dead" after a partition heals: a node that
        // answered this peer within the last second is up.
        let replicas = latency.correcting(gossipReplicas)
        let address = KeyAddress(namespace: Array(ns.name.utf8), partition: UInt32(partition), key: request.key)
        // A suspected primary, or one that keeps missing its deadlines, is not asked to
        // coordinate (it may hang until it is declared dead), nor, in an lww namespace, one
        // whose clock is off (it would refuse); each still receives the write like any replica.
        var candidates = replicas.map { r in
            QuorumReplica(node: r.node, role: r.role, isUp: r.isUp && !snap.isSuspect(r.node) && !latency.isDeprioritized(r.node)
                          && !(ns.conflict == .lww && clockGuard.isOutlier(r.node)))
        }
        if !candidates.contains(where: { $0.role == .primary && ($0.isUp || $0.node == nodeID) }) { candidates = replicas }
        let router = RequestBox(CoordinatorRouter(replicas: candidates, localNode: nodeID, strict: resolved.strict, forwarded: forwarded,
                                                          reapplies: request.increment == nil))
        let decision = router.step { $0.start() }
        let plan = WritePlan(request: request, ns: ns, address: address, context: context, replicas: replicas, resolved: resolved,
                             startUs: latency.nowUs(), forwardedHere: forwarded)
        route(decision, router: router, plan: plan, completion: completion)
    }

    /// What every stage of one client write needs.
    struct WritePlan: Sendable {
        var request: ClientWrite
        let ns: Namespace
        let address: KeyAddress
        let context: VersionVector?
        let replicas: [QuorumReplica]
        let resolved: RequestOptions.Resolved
        let startUs: Int64
        let forwardedHere: Bool
    }

    /// Milliseconds left of the request's TIMEOUT.
    private func remainingMs(_ plan: WritePlan) -> Int {
        plan.resolved.timeoutMs - Int((latency.nowUs() - plan.startUs) / 1000)
    }

    private func route(_ decision: RouterDecision, router: RequestBox<CoordinatorRouter>, plan: WritePlan,
                       completion: @escaping @Sendable (ClientError?) -> Void) {
        switch decision {
        case .fail(let failure):
            counters.bump(counters.failedRequests)
            completion(ClientError(failure.message))
        case .coordinateLocally:
            let budget = remainingMs(plan)
            guard budget > 0 else { return timedOut(plan, completion) }
            // Passed-over coordinators stay targets: one that was only slow still acks (and
            // may be needed for W); one that is silent misses its replica deadline and a spare
            // takes a hinted copy for it (WriteCoordinator.onLate).
            // On an event loop the write runs right here (its fsync is deferred to the store's
            // syncer); elsewhere the local store may block on fsync, so not on the caller's
            // thread unless it is a node queue already (a forwarded write off the loops).
            if plan.forwardedHere || EventLoop.current != nil {
                coordinate(plan, timeoutMs: budget, completion: completion)
            } else {
                scheduler.async { [self] in coordinate(plan, timeoutMs: budget, completion: completion) }
            }
        case .forward(let node):
            forward(to: node, router: router, plan: plan, completion: completion)
        }
    }

    /// Proxies the write to `node`, which coordinates it; moves on to the next candidate when
    /// the hop cannot be made, or is not answered within its deadline.
    private func forward(to node: String, router: RequestBox<CoordinatorRouter>, plan: WritePlan,
                         completion: @escaping @Sendable (ClientError?) -> Void) {
        let budget = remainingMs(plan)
        guard budget > 0 else { return timedOut(plan, completion) }
        counters.bump(counters.forwardedWrites)
        var withID = plan
        if withID.request.writeID == 0 { withID.request.writeID = WriteID.next() }
        let plan = withID
        let request = plan.request
        let hopMs = forwardDeadlineMs(request, to: node, budgetMs: budget)
        let message = ForwardWriteMessage(namespace: Array(plan.ns.name.utf8), key: request.key, context: request.context,
                                          value: request.value, w: plan.resolved.spec.w, strict: plan.resolved.strict,
                                          timeoutMs: budget, writeID: request.writeID,
                                          applyByWallMs: forwardApplyBy(to: node, hopMs: hopMs), increment: request.increment?.delta,
                                          transform: request.transform)
        // Exactly one of the answer and the hop's deadline moves the request on; an answer
        // cancels the deadline's timer (it would do nothing, but hold this request).
        let settled = RequestBox<(done: Bool, timer: UInt64?)>((false, nil))
        @Sendable func settle(byTimer: Bool = false) -> Bool {
            let (first, timer) = settled.step { s -> (Bool, UInt64?) in
                defer { s.done = true; s.timer = nil }
                return (!s.done, s.timer)
            }
            if first, !byTimer, let timer { scheduler.cancelCoarse(timer) }
            return first
        }
        let next: @Sendable (RouterDecision) -> Void = { [self] d in route(d, router: router, plan: plan, completion: completion) }
        let hopTimer = scheduler.afterCoarseCancellable(ms: hopMs) { [self] in
            guard settle(byTimer: true) else { return }
            latency.missed(node)
            counters.bump(counters.forwardFailovers)
            next(router.step { $0.onForwardTimedOut(to: node) })
        }
        if let hopTimer {
            // Kept unless the answer came first (then settled, and the timer is dropped now).
            let kept = settled.step { s -> Bool in
                if !s.done { s.timer = hopTimer }
                return !s.done
            }
            if !kept { scheduler.cancelCoarse(hopTimer) }
        }
        // The RPC itself may run for the whole budget: a late answer is still measured.
        transport.send(to: node, type: .forwardWrite, payload: message.encode(), timeoutMs: budget + 500) { [self] result in
            switch result {
            case .success(let bytes):
                if let increment = request.increment, let value = ForwardWriteAnswer.counterValue(bytes) {
                    guard settle() else { return }
                    increment.reply.set(value)
                    return completion(nil)
                }
                let answer: String?
                do {
                    let decoded = try ForwardWriteAnswer.decodeWithReply(bytes)
                    answer = decoded.error
                    if let reply = decoded.reply { plan.request.outcome?.set(reply) }
                } catch {
                    guard settle() else { return }
                    return completion(ClientError("ERR malformed answer from coordinator \(node)"))
                }
                // A coordinator that could not reach its quorum may be the cut-off one: this
                // peer may still reach W, so try the next candidate with the same write id.
                // Not an increment: applied twice, it would count twice (NodeEngine+Increment.swift).
                if let line = answer, request.increment == nil, line.hasPrefix("UNAVAILABLE") || line.hasPrefix("TIMEOUT"), remainingMs(plan) > 0 {
                    guard settle() else { return }
                    counters.bump(counters.forwardFailovers)
                    return next(router.step { $0.onForwardTimedOut(to: node) })
                }
                guard settle() else { return }
                completion(answer.map(ClientError.init))
            case .failure(.unreachable), .failure(.authenticationFailed), .failure(.overloaded), .failure(.shutdown):
                // Nothing was sent: the next candidate may coordinate.
                guard settle() else { return }
                next(router.step { $0.onForwardFailed(to: node) })
            case .failure:
                // Sent, then lost or unanswered: it may have been applied; the next one
                // applies the same write (same id) if budget remains.
                guard settle() else { return }
                counters.bump(counters.forwardFailovers)
                next(router.step { $0.onForwardTimedOut(to: node) })
            }
        }
    }

    private func timedOut(_ plan: WritePlan, _ completion: @escaping @Sendable (ClientError?) -> Void) {
        counters.bump(counters.failedRequests)
        completion(ClientError("TIMEOUT no coordinator answered within \(plan.resolved.timeoutMs) ms (write may be partially applied)"))
    }

    /// Stage 2 at this node: version locally, replicate, count W acks (WriteRequest).
    private func coordinate(_ plan: WritePlan, timeoutMs: Int, completion: @escaping @Sendable (ClientError?) -> Void) {
        WriteRequest(engine: self, plan: plan, timeoutMs: timeoutMs, completion: completion).start()
    }
}

/// Ids of client writes (RECORDS.md, "Write ids"): a per-process random base and a counter,
/// mixed so that ids from different peers do not collide in practice; never 0.
enum WriteID {
    private static let base = UInt64.random(in: 1...UInt64.max)
    private static let counter = Atomic<UInt64>(0)

    static func next() -> UInt64 {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var z = base &+ n &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z == 0 ? 1 : z
    }
}

