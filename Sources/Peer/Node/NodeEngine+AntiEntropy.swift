import Ring
import Storage

/// Why a repair step failed (one line, for logs, INFO and the REPAIR reply).
public struct RepairError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What one comparison of a tree with one peer did.
public struct ExchangeOutcome: Equatable, Sendable {
    public var equal: Bool
    public var keysSent: Int
    public var keysReceived: Int
}

/// What a repair round did (REPAIR's reply).
public struct RepairSummary: Equatable, Sendable {
    public var trees = 0
    public var sent = 0
    public var received = 0
    public var failures: [String] = []
}

// The shell around `ExchangeCore`: which trees this node replicates, the periodic round,
// the peer's side of each message, and tombstone reaping.

extension NodeEngine {
    /// Every (partition, namespace) this node is a primary of, with all its primaries.
    func replicatedTrees(_ snap: ClusterSnapshot) -> [(id: TreeID, primaries: [String], ns: Namespace)] {
        guard let ring = snap.ring else { return [] }
        var out: [(id: TreeID, primaries: [String], ns: Namespace)] = []
        for ns in snap.namespaces.namespaces {
            for p in 0..<ring.partitionCount {
                let list = PreferenceList(ring: ring, partition: p, n: ns.n, maxFallbacks: 0)
                if list.primaries.contains(nodeID) {
                    out.append((TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8)), list.primaries, ns))
                }
            }
        }
        return out
    }

    // MARK: The background round

    func scheduleAntiEntropy() {
        guard limits.antiEntropyIntervalMs > 0 else { return }
        background.after(ms: limits.antiEntropyIntervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.antiEntropyTick { self.scheduleAntiEntropy() }
        }
    }

    /// Compares the next tree in turn with each of its other up primaries, within the byte
    /// budget; after the last tree of a round, reaps what the comparisons confirmed.
    func antiEntropyTick(then next: @escaping @Sendable () -> Void) {
        guard repairState.hasBudget(nowMs: now(), bytesPerSecond: limits.antiEntropyBytesPerSecond) else { return next() }
        let snap = cluster.snapshot()
        let trees = replicatedTrees(snap)
        guard !trees.isEmpty else { return next() }
        let index = repairState.state.withLock { s -> Int in
            let i = s.nextIndex % trees.count
            s.nextIndex = i + 1
            return i
        }
        let t = trees[index]
        let pairs = t.primaries.filter { $0 != nodeID && snap.isUp($0) }.map { (t.id, $0, t.ns) }
        runExchanges(pairs[...], RepairSummary()) { [self] _ in
            if index + 1 == trees.count { reapTombstones() }
            next()
        }
    }

    /// Compares every tree this node replicates (or those of `partition`) with each other up
    /// primary, one after another, then reaps.
    public func repairNow(partition: Int? = nil, completion: @escaping @Sendable (RepairSummary) -> Void) {
        let snap = cluster.snapshot()
        var summary = RepairSummary()
        var pairs: [(TreeID, String, Namespace)] = []
        for t in replicatedTrees(snap) where partition == nil || Int(t.id.partition) == partition {
            summary.trees += 1
            for peer in t.primaries where peer != nodeID {
                if snap.isUp(peer) { pairs.append((t.id, peer, t.ns)) } else { summary.failures.append("\(t.id) with \(peer): down") }
            }
        }
        runExchanges(pairs[...], summary) { [self] s in
            reapTombstones()
            completion(s)
        }
    }

    private func runExchanges(_ pairs: ArraySlice<(TreeID, String, Namespace)>, _ summary: RepairSummary,
                              completion: @escaping @Sendable (RepairSummary) -> Void) {
        guard let (id, peer, ns) = pairs.first, !isStopped else { return completion(summary) }
        exchange(id, with: peer, namespace: ns) { [self] result in
            var s = summary
            switch result {
            case .success(let o):
                s.sent += o.keysSent
                s.received += o.keysReceived
            case .failure(let e):
                s.failures.append("\(id) with \(peer): \(e)")
            }
            runExchanges(pairs.dropFirst(), s, completion: completion)
        }
    }

    // MARK: One comparison

    /// Compares `id`'s tree with `peer`'s and repairs both sides' differing keys; only keys
    /// in differing segments travel. The completion runs on the background scheduler.
    public func exchange(_ id: TreeID, with peer: String, namespace ns: Namespace,
                         completion: @escaping @Sendable (Result<ExchangeOutcome, RepairError>) -> Void) {
        repairState.exchanges.wrappingAdd(1, ordering: .relaxed)
        let started = UInt64(max(0, wallNow()))
        let local: MerkleTree
        do { local = try replica.tree(id) } catch {
            repairState.failures.wrappingAdd(1, ordering: .relaxed)
            return completion(.failure(RepairError("local tree \(id): \(error)")))
        }
        let box = ExchangeBox(ExchangeCore(tree: id, peer: peer, local: local, maxMessageBytes: limits.repairMessageBytes))

        @Sendable func drive(_ step: ExchangeCore.Step) {
            switch step {
            case let .send(type, payload):
                transport.send(to: peer, type: type, payload: payload, timeoutMs: 10_000) { [self] result in
                    background.async {
                        switch result {
                        case .success(let bytes): drive(box.core.onAnswer(bytes))
                        case .failure(let e): drive(box.core.onFailure("\(e)"))
                        }
                    }
                }
            case .listSegments(let segments):
                do {
                    drive(box.core.onEntries(segments, try replica.segmentDigests(id, segments: Set(segments))))
                } catch {
                    drive(box.core.onFailure("listing segments: \(error)"))
                }
            case let .apply(records, wanted):
                do {
                    let received = try replica.mergeMany(records.compactMap { r -> (address: KeyAddress, record: KeyRecord)? in
                        let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: r.key)
                        return replica.decodeOrSkip(r.record, address, during: "anti-entropy").map { (address, $0) }
                    })
                    // Push only what the replica would gain: after merging its record ours may
                    // equal it (ours was older), and then sending ours back is waste.
                    var theirs: [[UInt8]: UInt64] = [:]
                    for r in records { theirs[r.key] = KeyRecord.digest(encoded: r.record) }
                    var push: [(address: KeyAddress, record: [UInt8])] = []
                    for w in wanted {
                        let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: w.key)
                        guard let bytes = try replica.readBytes(address) else { continue }
                        if let d = theirs[w.key], KeyRecord.digest(encoded: bytes) == d { continue }
                        // A record that does not decode is not sent (the peer could not use it).
                        guard let mine = replica.decodeOrSkip(bytes, address, during: "anti-entropy") else { continue }
                        // Never hand a replica that already reaped it a tombstone ready for reaping.
                        if w.missing, try isReapable(address, record: mine, ns: ns) { continue }
                        push.append((address, bytes))
                    }
                    drive(box.core.onPush(received: received, push: push))
                } catch {
                    drive(box.core.onFailure("applying: \(error)"))
                }
            case .finished(let outcome):
                repairState.charge(box.core.traffic)
                if outcome.equal {
                    repairState.equalExchanges.wrappingAdd(1, ordering: .relaxed)
                    repairState.recordEqual(id, peer: peer, at: started)
                }
                repairState.keysSent.wrappingAdd(UInt64(outcome.keysSent), ordering: .relaxed)
                repairState.keysReceived.wrappingAdd(UInt64(outcome.keysReceived), ordering: .relaxed)
                completion(.success(outcome))
            case .failed(let message):
                repairState.charge(box.core.traffic)
                repairState.failures.wrappingAdd(1, ordering: .relaxed)
                completion(.failure(RepairError(message)))
            }
        }
        drive(box.core.start())
    }

    /// A peer's side: answers tree hash requests.
    func answerTreeHashes(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try TreeHashesRequest(decoding: payload)
        if let bad = unknownPartition(request.tree.partition) { throw ClientError(bad) }
        let tree = try replica.tree(request.tree)
        guard let inner = request.inner else { return TreeHashesAnswer.encode(tree.inner) }
        return TreeHashesAnswer.encode(inner.flatMap { Array(tree.leaves(under: $0)) })
    }

    /// A peer's side of a segment comparison: our records that differ from the initiator's
    /// (never a tombstone ready for reaping to a replica that no longer has the key), and
    /// the keys we want from it.
    func answerSegments(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try SegmentRequest(decoding: payload)
        if let bad = unknownPartition(request.tree.partition) { throw ClientError(bad) }
        let theirs = Dictionary(request.entries.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let mine = try replica.segmentDigests(request.tree, segments: Set(request.segments))
        let ns = cluster.snapshot().namespaces.namespace(named: String(decoding: request.tree.namespace, as: UTF8.self))
        var records: [(key: [UInt8], record: [UInt8])] = []
        // The records are bounded in bytes (at least one always goes): those left out still
        // differ, so the next comparison sends them, and no answer outgrows the frame bound.
        var recordBytes = 0
        for m in mine where theirs[m.key] != m.digest {
            let address = KeyAddress(namespace: request.tree.namespace, partition: request.tree.partition, key: m.key)
            guard let bytes = try replica.readBytes(address) else { continue }
            guard let record = replica.decodeOrSkip(bytes, address, during: "anti-entropy") else { continue }
            if theirs[m.key] == nil, let ns, try isReapable(address, record: record, ns: ns) { continue }
            let size = m.key.count + bytes.count + 8
            if !records.isEmpty, recordBytes + size > limits.repairMessageBytes {
                repairState.answersCut.wrappingAdd(1, ordering: .relaxed)
                break
            }
            recordBytes += size
            records.append((m.key, bytes))
        }
        let mineDigests = Dictionary(mine.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let wanted = request.entries.filter { mineDigests[$0.key] != $0.digest }.map { (key: $0.key, missing: mineDigests[$0.key] == nil) }
        return SegmentAnswer(records: records, wanted: wanted).encode()
    }

    // MARK: Tombstones

    /// An absent record every primary has confirmed (a comparison found the trees equal
    /// after this replica stored it) and whose grace period is over.
    /// An expired record the reaper's sweep has not timed yet counts as timed from its
    /// expiry, as the sweep will time it (LocalReplica.indexExpired).
    func isReapable(_ address: KeyAddress, record: KeyRecord, ns: Namespace) throws -> Bool {
        guard let absentFrom = record.absentFromMs else { return false }
        let clock = try replica.tombstoneTime(address)
        guard let since = clock ?? (absentFrom <= UInt64(max(0, wallNow())) ? absentFrom : nil) else { return false }
        return isReapable(TreeID(partition: address.partition, namespace: address.namespace), since: since, ns: ns)
    }

    func isReapable(_ id: TreeID, since: UInt64, ns: Namespace) -> Bool {
        let t = UInt64(max(0, wallNow()))
        guard t >= since, Int64(t - since) >= ns.tombstoneGraceMs else { return false }
        guard let ring = cluster.snapshot().ring else { return false }
        let primaries = PreferenceList(ring: ring, partition: Int(id.partition), n: ns.n, maxFallbacks: 0).primaries
        let others = primaries.filter { $0 != nodeID }
        return repairState.confirmedAt(id, peers: others) > since
    }

    /// Removes every tombstone that is reapable now; returns how many. First times the
    /// records that expired since they were written (LocalReplica.indexExpired), in the
    /// trees where one is due, so that a later round can reap them.
    @discardableResult
    public func reapTombstones() -> Int {
        let snap = cluster.snapshot()
        var reaped = 0
        for t in replicatedTrees(snap) {
            _ = try? replica.indexExpired(t.id)
            guard let list = try? replica.tombstones(t.id) else { continue }
            for entry in list where isReapable(t.id, since: entry.since, ns: t.ns) {
                let address = KeyAddress(namespace: t.id.namespace, partition: t.id.partition, key: entry.key)
                if (try? replica.reap(address, since: entry.since)) == true { reaped += 1 }
            }
        }
        repairState.tombstonesReaped.wrappingAdd(UInt64(reaped), ordering: .relaxed)
        return reaped
    }
}

/// One exchange's core; its steps run one after another, never at once.
private final class ExchangeBox: @unchecked Sendable {
    var core: ExchangeCore
    init(_ core: ExchangeCore) { self.core = core }
}
