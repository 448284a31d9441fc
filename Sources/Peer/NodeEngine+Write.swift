import Ring
import Storage

/// A client write: a value, or a delete (tombstone), with or without a causal context.
public struct ClientWrite: Sendable {
    public var namespace: String
    public var key: [UInt8]
    /// nil: a delete.
    public var value: [UInt8]?
    /// nil: a write without a context (SET, DEL); otherwise the encoded context (may be empty).
    public var context: [UInt8]?
    public var options: RequestOptions

    public init(namespace: String, key: [UInt8], value: [UInt8]?, context: [UInt8]?, options: RequestOptions) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.context = context
        self.options = options
    }
}

extension NodeEngine {
    /// Runs a client write: routes it to the coordinating primary (here or by a forward),
    /// which versions it and replicates to W. `completion(nil)` is `+OK`.
    /// Any thread may call it; the local store runs on a node queue. `forwarded`: the call
    /// comes from another peer's forward and already runs on a node queue.
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
        guard let (partition, replicas, _) = snap.replicas(namespace: ns, key: request.key) else {
            return completion(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly"))
        }
        let address = KeyAddress(namespace: Array(ns.name.utf8), partition: UInt32(partition), key: request.key)
        // A suspected primary is not asked to coordinate (it may hang until it is declared
        // dead); it still receives the write like any replica.
        var candidates = replicas.map { r in QuorumReplica(node: r.node, role: r.role, isUp: r.isUp && !snap.isSuspect(r.node)) }
        if !candidates.contains(where: { $0.role == .primary && ($0.isUp || $0.node == nodeID) }) { candidates = replicas }
        let router = RequestBox(CoordinatorRouter(replicas: candidates, localNode: nodeID, strict: resolved.strict, forwarded: forwarded))
        let decision = router.step { $0.start() }
        route(decision, router: router, request: request, ns: ns, address: address, context: context,
              replicas: replicas, resolved: resolved, forwardedHere: forwarded, completion: completion)
    }

    private func route(_ decision: RouterDecision, router: RequestBox<CoordinatorRouter>, request: ClientWrite, ns: Namespace,
                       address: KeyAddress, context: VersionVector?, replicas: [QuorumReplica],
                       resolved: RequestOptions.Resolved, forwardedHere: Bool, completion: @escaping @Sendable (ClientError?) -> Void) {
        switch decision {
        case .fail(let failure):
            counters.bump(counters.failedRequests)
            completion(ClientError(failure.message))
        case .coordinateLocally:
            // Versioning and the local store may fsync: not on a client loop thread. A
            // forwarded write already runs on a node queue.
            if forwardedHere {
                coordinate(request, ns: ns, address: address, context: context, replicas: replicas, resolved: resolved, completion: completion)
            } else {
                scheduler.async { [self] in
                    coordinate(request, ns: ns, address: address, context: context, replicas: replicas, resolved: resolved, completion: completion)
                }
            }
        case .forward(let node):
            counters.bump(counters.forwardedWrites)
            let message = ForwardWriteMessage(namespace: Array(ns.name.utf8), key: request.key, context: request.context,
                                              value: request.value, w: resolved.spec.w, strict: resolved.strict,
                                              timeoutMs: resolved.timeoutMs)
            // The hop gets the request's whole budget plus a little for the coordinator's own reply.
            transport.send(to: node, type: .forwardWrite, payload: message.encode(), timeoutMs: resolved.timeoutMs + 500) { result in
                switch result {
                case .success(let bytes):
                    do {
                        completion(try ForwardWriteAnswer.decode(bytes).map(ClientError.init))
                    } catch {
                        completion(ClientError("ERR malformed answer from coordinator \(node)"))
                    }
                case .failure(.unreachable), .failure(.authenticationFailed), .failure(.overloaded), .failure(.shutdown):
                    // Nothing was sent: the next candidate may coordinate.
                    let next = router.step { $0.onForwardFailed(to: node) }
                    self.route(next, router: router, request: request, ns: ns, address: address, context: context,
                               replicas: replicas, resolved: resolved, forwardedHere: false, completion: completion)
                case .failure(let error):
                    self.counters.bump(self.counters.failedRequests)
                    completion(ClientError("TIMEOUT coordinator \(node) did not answer (\(error); write may be partially applied)"))
                }
            }
        }
    }

    /// Stage 2 at this node: version locally, replicate, count W acks.
    private func coordinate(_ request: ClientWrite, ns: Namespace, address: KeyAddress, context: VersionVector?,
                            replicas: [QuorumReplica], resolved: RequestOptions.Resolved,
                            completion: @escaping @Sendable (ClientError?) -> Void) {
        struct State {
            var machine: WriteCoordinator
            var record: [UInt8] = []
            var answered = false
        }
        let box = RequestBox(State(machine: WriteCoordinator(replicas: replicas, localNode: nodeID, w: resolved.spec.w,
                                                            strict: resolved.strict, timeoutMs: resolved.timeoutMs)))
        let value: SiblingValue = request.value.map { .value($0) } ?? .tombstone

        @Sendable func answer(_ error: ClientError?) {
            let first = box.step { s -> Bool in
                defer { s.answered = true }
                return !s.answered
            }
            if first { completion(error) }
        }

        @Sendable func perform(_ actions: [WriteCoordinatorAction]) {
            for action in actions {
                switch action {
                case .scheduleTimeout(let ms):
                    scheduler.after(ms: ms) { perform(box.step { $0.machine.onTimeout() }) }
                case .applyLocally(let hintFor, _):
                    // Replication starts as soon as the write is versioned, while the local
                    // fsync runs: the latency is the slower of the two, not their sum.
                    var started = false
                    let outcome: Result<KeyRecord, ClientError>
                    do {
                        let result = try replica.coordinateWrite(address, conflict: ns.conflict, context: context, value: value,
                                                                 siblingLimit: ns.siblingLimit) { record in
                            started = true
                            let bytes = record.encode()
                            perform(box.step { s in
                                s.record = bytes
                                return s.machine.onLocalVersioned()
                            })
                        }
                        switch result {
                        case .written(let record): outcome = .success(record)
                        case .refused(let line): outcome = .failure(ClientError(line))
                        }
                    } catch {
                        outcome = .failure(ClientError("UNAVAILABLE the coordinating replica could not store the write: \(error)"))
                    }
                    switch outcome {
                    case .failure(let e):
                        if started {
                            perform(box.step { $0.machine.onLocalDurable(ok: false) })
                        } else {
                            answer(e)
                        }
                        return
                    case .success(let record):
                        if let owner = hintFor, (try? replica.hints.add(target: owner, address: address, record: record.encode())) != true {
                            counters.bump(counters.hintsRefused)
                            // A fallback that could not keep the hint does not count as a copy.
                            perform(box.step { $0.machine.onLocalDurable(ok: false) })
                            return
                        }
                        perform(box.step { $0.machine.onLocalDurable(ok: true) })
                    }
                case .replicate(let node, let hintFor):
                    let bytes = box.step { $0.record }
                    let message = ReplicaWriteMessage(address: address, record: bytes, hintFor: hintFor)
                    transport.send(to: node, type: .replicaWrite, payload: message.encode(), timeoutMs: resolved.timeoutMs) { result in
                        switch result {
                        case .success: perform(box.step { $0.machine.onAck(from: node) })
                        case .failure: perform(box.step { $0.machine.onNack(from: node) })
                        }
                    }
                case .reply(let reply):
                    switch reply {
                    case .ok: answer(nil)
                    case .failed(let failure):
                        counters.bump(counters.failedRequests)
                        answer(ClientError(failure.message))
                    }
                }
            }
        }
        perform(box.step { $0.machine.start() })
    }
}
