#if canImport(Glibc)
import Glibc
#endif
import Ring
import Storage

extension NodeEngine {
    func scheduleHandoff() {
        scheduler.after(ms: 200) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.handoffTick()
            self.scheduleHandoff()
        }
    }

    /// The node's pulls for the current ring: plans them, starts up to the concurrency
    /// bound, retries failed ones after their backoff, marks quiet ones stalled, and drops
    /// ranges the node no longer replicates.
    public func handoffTick() {
        let snap = cluster.snapshot()
        guard let ring = snap.ring else { return }
        let now = EventLoop.nowMs()
        let namespaces = snap.namespaces.namespaces
        let plan = HandoffPlan.pulls(ring: ring, namespaces: namespaces, node: nodeID)
        var start: [TreeID] = []
        var dropped: [TreeID] = []
        let clearCheckpoints = handoff.state.withLock { s -> Bool in
            if s.ringVersion != ring.version {
                s.ringVersion = ring.version
                let planned = Set(plan.map(\.id))
                // A range that left the plan stops receiving writes: its checkpoint must not
                // let a later plan skip it.
                dropped = s.transfers.keys.filter { !planned.contains($0) }
                s.transfers = s.transfers.filter { planned.contains($0.key) || !ring.isTransferring && $0.value.state == .done }
            }
            for p in plan where s.transfers[p.id] == nil {
                s.transfers[p.id] = TransferStatus(id: p.id, from: p.sources.first(where: { $0 != nodeID }) ?? "", to: nodeID)
            }
            for p in plan { s.sources[p.id] = p.sources }
            for (id, t) in s.transfers where t.state == .running && now - t.lastProgressMs > Int64(limits.handoffStallMs) {
                s.transfers[id]?.state = .stalled
            }
            let waiting = s.transfers.values.filter { $0.state == .waiting && $0.retryAtMs <= now }.map(\.id)
                .sorted { $0.partition < $1.partition }
            for id in waiting where s.running < limits.handoffConcurrency {
                s.running += 1
                s.transfers[id]?.state = .running
                if s.transfers[id]?.startedMs == 0 { s.transfers[id]?.startedMs = now }
                s.transfers[id]?.lastProgressMs = now
                start.append(id)
            }
            if ring.isTransferring {
                s.checkpointsCleared = false
                return false
            }
            defer { s.checkpointsCleared = true }
            return !s.checkpointsCleared
        }
        if clearCheckpoints { try? clearHandoffCheckpoints() }
        for id in dropped where ring.isTransferring { try? replica.deleteMeta(checkpointName(id)) }
        for id in start {
            onTransferQueue { [self] in runTransfer(id) }
        }
        let dropCheck = handoff.state.withLock { s -> Bool in
            guard now - s.lastDropCheckMs >= 1_000 else { return false }
            s.lastDropCheckMs = now
            return true
        }
        if dropCheck, !ring.isTransferring { dropUnneededRanges(snap, ring: ring, now: now) }
    }

    /// Pulls one range chunk by chunk from a live source, checkpointing after each, until
    /// the source says it is done; on failure the transfer waits out a growing backoff.
    func runTransfer(_ id: TreeID) {
        var failure: String?
        do {
            var checkpoint = try loadCheckpoint(id)
            while !checkpoint.done {
                guard !isStopped else { break }
                let snap = cluster.snapshot()
                let planned = handoff.state.withLock { s in s.transfers[id] != nil && s.ringVersion == snap.ring?.version }
                guard planned else { break }
                let sources = handoff.state.withLock { $0.sources[id] ?? [] }
                guard let source = sources.first(where: { $0 != nodeID && snap.isUp($0) }) else {
                    throw RepairError("no live source among \(sources.joined(separator: ","))")
                }
                handoff.state.withLock { $0.transfers[id]?.from = source }
                let request = HandoffRequest(tree: id, afterKey: checkpoint.after, maxKeys: 10_000, maxBytes: limits.handoffChunkBytes)
                let chunk = try HandoffChunk(decoding: call(source, .handoffBatch, request.encode(), timeoutMs: 30_000))
                let entries = try chunk.records.map { r throws in
                    (KeyAddress(namespace: id.namespace, partition: id.partition, key: r.key), try KeyRecord(decoding: r.record))
                }
                try replica.mergeMany(entries)
                let bytes = chunk.records.reduce(0) { $0 + $1.key.count + $1.record.count }
                checkpoint = (chunk.records.last?.key ?? checkpoint.after, chunk.done)
                try saveCheckpoint(id, after: checkpoint.after, done: checkpoint.done)
                handoff.keysReceived.wrappingAdd(UInt64(entries.count), ordering: .relaxed)
                handoff.bytesReceived.wrappingAdd(UInt64(bytes), ordering: .relaxed)
                let now = EventLoop.nowMs()
                handoff.state.withLock { s in
                    s.transfers[id]?.keys += entries.count
                    s.transfers[id]?.bytes += bytes
                    s.transfers[id]?.remainingBytes = chunk.remainingBytes
                    s.transfers[id]?.lastProgressMs = now
                    s.transfers[id]?.backoffMs = 0
                    if s.transfers[id]?.state == .stalled { s.transfers[id]?.state = .running }
                }
                // Rate limit, node-wide: each chunk books the time it costs at the budget
                // after the chunks already booked, and the puller waits until its turn.
                let cost = Int64(bytes * 1000 / max(1, limits.handoffBytesPerSecond))
                let wait = handoff.state.withLock { s -> Int64 in
                    let start = max(now, s.nextFreeMs)
                    s.nextFreeMs = start + cost
                    return s.nextFreeMs - now
                }
                if wait > 0, !checkpoint.done { usleep(UInt32(min(wait, 10_000)) * 1000) }
            }
        } catch {
            failure = "\(error)"
        }
        let finished = (try? loadCheckpoint(id).done) ?? false
        let now = EventLoop.nowMs()
        handoff.state.withLock { s in
            s.running -= 1
            guard var t = s.transfers[id] else { return }
            if finished {
                t.state = .done
                t.remainingBytes = 0
            } else {
                t.state = .waiting
                if let failure {
                    t.lastError = failure
                    t.backoffMs = min(30_000, max(500, t.backoffMs * 2))
                    t.retryAtMs = now + Int64(t.backoffMs)
                }
            }
            s.transfers[id] = t
        }
    }

    /// A source's side: the next chunk of a range.
    func answerHandoff(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try HandoffRequest(decoding: payload)
        let chunk = try replica.handoffChunk(request.tree, after: request.afterKey, maxKeys: max(1, request.maxKeys),
                                             maxBytes: max(1, request.maxBytes))
        var remaining: UInt64 = 0
        if !chunk.done, let last = chunk.entries.last {
            let range = StorageKey.namespaceRange(partition: request.tree.partition, namespace: request.tree.namespace)
            remaining = (try? replica.store.approximateSize(KeyRange(start: (range.start ?? []) + last.key, end: range.end))) ?? 0
        }
        handoff.chunksServed.wrappingAdd(1, ordering: .relaxed)
        return HandoffChunk(records: chunk.entries, done: chunk.done, remainingBytes: remaining).encode()
    }

    // MARK: Checkpoints (meta "handoff/<partition>/<namespace hex>": done:u8 ++ last key)

    func checkpointName(_ id: TreeID) -> String {
        "handoff/\(id.partition)/" + id.namespace.map { String($0, radix: 16) }.joined(separator: ".")
    }

    func loadCheckpoint(_ id: TreeID) throws -> (after: [UInt8]?, done: Bool) {
        guard let bytes = try replica.meta(checkpointName(id)), let flag = bytes.first else { return (nil, false) }
        let after = bytes.count > 1 || flag & 2 != 0 ? Array(bytes.dropFirst()) : nil
        return (after, flag & 1 == 1)
    }

    func saveCheckpoint(_ id: TreeID, after: [UInt8]?, done: Bool) throws {
        let flag: UInt8 = (done ? 1 : 0) | (after != nil ? 2 : 0)
        try replica.setMeta(checkpointName(id), [flag] + (after ?? []))
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
    func dropUnneededRanges(_ snap: ClusterSnapshot, ring: Ring, now: Int64) {
        var unneeded: [TreeID] = []
        for ns in snap.namespaces.namespaces {
            for p in 0..<ring.partitionCount where !HandoffPlan.isReplica(ring: ring, namespace: ns, partition: p, node: nodeID) {
                let id = TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8))
                if (try? replica.holdsData(id)) == true { unneeded.append(id) }
            }
        }
        let due = handoff.state.withLock { s -> [TreeID] in
            let set = Set(unneeded)
            s.unneededSince = s.unneededSince.filter { set.contains($0.key) }
            var due: [TreeID] = []
            for id in unneeded {
                let since = s.unneededSince[id] ?? now
                s.unneededSince[id] = since
                if now - since >= Int64(limits.dropDelayMs) { due.append(id) }
            }
            return due
        }
        for id in due {
            if (try? replica.dropRange(id)) != nil {
                repairState.rangesDropped.wrappingAdd(1, ordering: .relaxed)
                _ = handoff.state.withLock { $0.unneededSince.removeValue(forKey: id) }
            }
        }
    }
}
