import Ring
import Storage

// The shell around `HandoffCore`: feeds it the ring, liveness and time, sends its chunk
// requests, stores each chunk and its checkpoint before reporting it, and drops ranges the
// node no longer replicates once nothing uses them.

extension NodeEngine {
    func scheduleHandoff() {
        background.after(ms: 200) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.handoffTick()
            self.scheduleHandoff()
        }
    }

    /// One round: the core adopts the ring, starts what it can; ranges moved away are dropped.
    public func handoffTick() {
        let snap = cluster.snapshot()
        guard let ring = snap.ring else { return }
        let t = now()
        let actions = handoff.withLock { core in
            core.onRing(ring, namespaces: snap.namespaces) { id in (try? loadCheckpoint(id)) ?? .start }
                + core.onTick(nowMs: t, isUp: snap.isUp)
        }
        perform(actions)
        let dropCheck = handoffCounters.drops.withLock { d -> Bool in
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
                try? clearHandoffCheckpoints()
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
            handoffCounters.keysReceived.wrappingAdd(UInt64(entries.count), ordering: .relaxed)
            handoffCounters.bytesReceived.wrappingAdd(UInt64(bytes), ordering: .relaxed)
            let actions = handoff.withLock {
                $0.onChunk(id, keys: entries.count, bytes: bytes, lastKey: last, done: chunk.done,
                           remainingBytes: chunk.remainingBytes, nowMs: t, isUp: isUp)
            }
            perform(actions)
        } catch {
            handoff.withLock { $0.onFailure(id, error: "\(error)", nowMs: t) }
        }
    }

    /// A source's side: the next chunk of a range.
    func answerHandoff(_ payload: [UInt8]) throws -> [UInt8] {
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
        handoffCounters.chunksServed.wrappingAdd(1, ordering: .relaxed)
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
    func clearHandoffCheckpoints() throws {
        let prefix = StorageKey.meta(name: Array("handoff/".utf8)).encode()
        let it = try replica.store.makeIterator(range: .prefix(prefix))
        var batch = WriteBatch()
        while it.isValid {
            batch.delete(it.key)
            try it.next()
        }
        try replica.store.write(batch)
    }

    // MARK: Dropping what moved away

    /// Deletes each range this node holds but no longer replicates, once it has been so for
    /// `dropDelayMs` (requests that started under the old ring have finished by then).
    func dropUnneededRanges(_ snap: ClusterSnapshot, ring: Ring, now t: Int64) {
        var unneeded: [TreeID] = []
        for ns in snap.namespaces.namespaces {
            for p in 0..<ring.partitionCount where !HandoffPlan.isReplica(ring: ring, namespace: ns, partition: p, node: nodeID) {
                let id = TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8))
                if (try? replica.holdsData(id)) == true { unneeded.append(id) }
            }
        }
        let due = handoffCounters.drops.withLock { d -> [TreeID] in
            let set = Set(unneeded)
            d.unneededSince = d.unneededSince.filter { set.contains($0.key) }
            var due: [TreeID] = []
            for id in unneeded {
                let since = d.unneededSince[id] ?? t
                d.unneededSince[id] = since
                if t - since >= Int64(limits.dropDelayMs) { due.append(id) }
            }
            return due
        }
        for id in due {
            if (try? replica.dropRange(id)) != nil {
                antiEntropy.repairState.rangesDropped.wrappingAdd(1, ordering: .relaxed)
                _ = handoffCounters.drops.withLock { $0.unneededSince.removeValue(forKey: id) }
            }
        }
    }
}
