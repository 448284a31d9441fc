import Ring
import Storage

/// One record of a backup, to be merged into the cluster (RESTORE.RECORDS).
public struct RestoreEntry: Sendable {
    public var namespace: Namespace
    public var key: [UInt8]
    /// The record's stored bytes, checked to decode before it gets here.
    public var record: [UInt8]

    public init(namespace: Namespace, key: [UInt8], record: [UInt8]) {
        self.namespace = namespace
        self.key = key
        self.record = record
    }
}

extension NodeEngine {
    /// Merges backed-up records into every replica that owns them now: each record goes, as
    /// it is, to the current primaries of its key (and an incoming owner during a transfer)
    /// through the same batched merge that repair uses, and this node merges its own share
    /// locally. A merge keeps whatever the replica holds that the record has not seen, so a
    /// restore never overwrites a newer write, never drops a concurrent sibling, and never
    /// resurrects a value deleted after the backup (while the tombstone is kept). It issues
    /// no dot: the records keep the dots of the nodes that wrote them.
    ///
    /// `completion(nil)` once every target acknowledged; otherwise the first failure (the
    /// batch may be partly applied: merges are idempotent, so the caller may send it again).
    /// Every primary must be reachable: a restore is not left to hinted handoff.
    public func restore(_ entries: [RestoreEntry], timeoutMs: Int, completion: @escaping @Sendable (ClientError?) -> Void) {
        let snap = cluster.snapshot()
        var byNode: [String: [(address: KeyAddress, record: [UInt8])]] = [:]
        for e in entries {
            guard let (partition, replicas, _) = snap.replicas(namespace: e.namespace, key: e.key) else {
                return completion(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly"))
            }
            let address = KeyAddress(namespace: Array(e.namespace.name.utf8), partition: UInt32(partition), key: e.key)
            for r in replicas where r.role != .fallback {
                byNode[r.node, default: []].append((address, e.record))
            }
        }
        var sends: [(node: String, batch: [(address: KeyAddress, record: [UInt8])])] = []
        for (node, items) in byNode.sorted(by: { $0.key < $1.key }) {
            for batch in BatchBounds.split(items, maxCount: HintBatchMessage.maxEntries, size: { $0.record.count + $0.address.key.count + 16 }) {
                sends.append((node, batch))
            }
        }
        guard !sends.isEmpty else { return completion(nil) }
        struct Progress {
            var left: Int
            var failure: ClientError?
        }
        let progress = RequestBox(Progress(left: sends.count))
        @Sendable func finished(_ error: ClientError?) {
            let done = progress.step { p -> ClientError?? in
                if p.failure == nil, let error { p.failure = error }
                p.left -= 1
                return p.left == 0 ? .some(p.failure) : nil
            }
            if let result = done { completion(result) }
        }
        for (node, batch) in sends {
            if node == nodeID {
                background.async { [self] in
                    do {
                        try replica.mergeMany(batch.map { e throws in (e.address, try KeyRecord(decoding: e.record)) })
                        finished(nil)
                    } catch {
                        finished(ClientError("UNAVAILABLE \(nodeID) could not store restored records: \(error)"))
                    }
                }
            } else {
                transport.send(to: node, type: .repair, payload: HintBatchMessage(entries: batch).encode(), timeoutMs: timeoutMs) { result in
                    switch result {
                    case .success: finished(nil)
                    case .failure(let e): finished(ClientError("UNAVAILABLE replica \(node) did not take restored records: \(e)"))
                    }
                }
            }
        }
    }
}
