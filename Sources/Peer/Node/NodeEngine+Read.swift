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
        // The key's only replica is this node (N=1, as on a one-peer cluster) and R is 1:
        // the read is the local one and nothing can be stale, so no coordinator, timer or
        // repair is needed (issue 12: the one-peer path's cost per GET).
        if replicas.count == 1, replicas[0].node == nodeID, resolved.spec.r == 1 {
            do {
                return completion(.success(try replica.read(address)))
            } catch {
                counters.bump(counters.failedRequests)
                let failure = CoordinatorFailure(reason: .failedReplies, operation: .read, answered: 0, required: 1, strict: resolved.strict)
                return completion(.failure(ClientError(failure.message)))
            }
        }
        let machine = ReadCoordinator<KeyRecord>(replicas: replicas, localNode: nodeID, r: resolved.spec.r,
                                                 strict: resolved.strict, timeoutMs: resolved.timeoutMs)
        ReadRequest(engine: self, machine: machine, address: address, timeoutMs: resolved.timeoutMs, completion: completion).start()
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
