import Ring

extension NodeEngine {
    /// Reads a key from R replicas and merges them (nil: absent everywhere asked). Stale
    /// replicas are repaired in the background after the answer.
    public func read(namespace name: String, key: [UInt8], options: RequestOptions,
                     completion: @escaping @Sendable (Result<KeyRecord?, ClientError>) -> Void) {
        counters.bump(counters.reads)
        if let bad = validate(key: key, value: nil) { return completion(.failure(bad)) }
        let snap = cluster.snapshot()
        let ns: Namespace, resolved: RequestOptions.Resolved
        switch prepare(name, options, in: snap) {
        case .success(let p): (ns, resolved) = p
        case .failure(let e): return completion(.failure(e))
        }
        guard let (partition, gossipReplicas, _) = snap.replicas(namespace: ns, key: key) else {
            return completion(.failure(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly")))
        }
        // Gossip may lag, or repeat a stale "dead" after a partition heals: a node that
        // answered this peer within the last second is up.
        let replicas = latency.correcting(gossipReplicas)
        let address = KeyAddress(namespace: Array(ns.name.utf8), partition: UInt32(partition), key: key)
        let box = RequestBox(ReadCoordinator<KeyRecord>(replicas: replicas, localNode: nodeID, r: resolved.spec.r,
                                                         strict: resolved.strict, timeoutMs: resolved.timeoutMs))
        // The TIMEOUT's timer, cancelled once the read has answered and every replica has
        // (or repair was decided): a pending timer would keep the request's state alive.
        let timer = RequestBox<UInt64?>(nil)
        // The replicas' late deadlines, cancelled once the read has answered (after that
        // they do nothing); nil once cancelled, so a later one is cancelled at once.
        let lates = RequestBox<[UInt64]?>([])

        @Sendable func perform(_ actions: [ReadCoordinatorAction<KeyRecord>]) {
            defer {
                let (finished, answered) = box.step { ($0.isFinished, $0.reply != nil) }
                if finished, let id = timer.step({ t -> UInt64? in defer { t = nil }; return t }) {
                    scheduler.cancelCoarse(id)
                }
                if answered, let ids = lates.step({ l -> [UInt64]? in defer { l = nil }; return l }) {
                    for id in ids { scheduler.cancelCoarse(id) }
                }
            }
            for action in actions {
                switch action {
                case .scheduleTimeout(let ms):
                    let id = scheduler.afterCoarseCancellable(ms: ms) { perform(box.step { $0.onTimeout() }) }
                    timer.step { $0 = id }
                case .read(let node):
                    if node == nodeID {
                        readLocal(address, node: node, box: box, perform: perform)
                    } else {
                        // Past its own deadline the replica is late: a spare is read too
                        // (ReadCoordinator.onLate) while this read goes on.
                        let late = scheduler.afterCoarseCancellable(ms: latency.deadlineMs(node, .replica)) { [self] in
                            let actions = box.step { c -> [ReadCoordinatorAction<KeyRecord>]? in
                                c.hasAnswered(node) || c.reply != nil ? nil : c.onLate(node)
                            }
                            guard let actions else { return }
                            latency.missed(node)
                            perform(actions)
                        }
                        if let late, !lates.step({ l -> Bool in
                            guard l != nil else { return false }
                            l?.append(late)
                            return true
                        }) {
                            scheduler.cancelCoarse(late)
                        }
                        readRemote(address, node: node, timeoutMs: resolved.timeoutMs, box: box, perform: perform)
                    }
                case .reply(let reply):
                    switch reply {
                    case .value(let record):
                        completion(.success(record))
                    case .failed(let failure):
                        counters.bump(counters.failedRequests)
                        completion(.failure(ClientError(failure.message)))
                    }
                case .readRepair(let nodes, let state):
                    counters.bump(counters.readRepairs, UInt64(nodes.count))
                    repair(address, record: state, on: nodes, timeoutMs: resolved.timeoutMs)
                }
            }
        }
        perform(box.step { $0.start() })
    }

    private func readLocal(_ address: KeyAddress, node: String, box: RequestBox<ReadCoordinator<KeyRecord>>,
                           perform: @Sendable ([ReadCoordinatorAction<KeyRecord>]) -> Void) {
        let record: KeyRecord?
        do {
            record = try replica.read(address)
        } catch {
            return perform(box.step { $0.onFailure(from: node) })
        }
        perform(box.step { $0.onReply(from: node, state: record) })
    }

    private func readRemote(_ address: KeyAddress, node: String, timeoutMs: Int, box: RequestBox<ReadCoordinator<KeyRecord>>,
                            perform: @escaping @Sendable ([ReadCoordinatorAction<KeyRecord>]) -> Void) {
        let message = ReplicaReadMessage(address: address)
        transport.send(to: node, type: .replicaRead, payload: message.encode(), timeoutMs: timeoutMs) { result in
            guard case .success(let bytes) = result else {
                return perform(box.step { $0.onFailure(from: node) })
            }
            let record: KeyRecord?
            do {
                if let raw = try ReplicaReadAnswer.decode(bytes) {
                    record = try KeyRecord(decoding: raw)
                } else {
                    record = nil
                }
            } catch {
                return perform(box.step { $0.onFailure(from: node) })
            }
            perform(box.step { $0.onReply(from: node, state: record) })
        }
    }

    /// Pushes a merged record to replicas (read repair); the local node merges directly.
    func repair(_ address: KeyAddress, record: KeyRecord, on nodes: [String], timeoutMs: Int) {
        let bytes = record.encode()
        for node in nodes {
            if node == nodeID {
                _ = try? replica.merge(address, record: record)
            } else {
                let message = ReplicaWriteMessage(address: address, record: bytes, hintFor: nil)
                transport.send(to: node, type: .replicaWrite, payload: message.encode(), timeoutMs: timeoutMs) { _ in }
            }
        }
    }
}
