import Dispatch
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

extension NodeEngine {
    // MARK: Which trees this node replicates

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

    // MARK: The background loop

    func scheduleAntiEntropy() {
        guard limits.antiEntropyIntervalMs > 0 else { return }
        scheduler.after(ms: limits.antiEntropyIntervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.repairQueues[0].async {
                self.antiEntropyTick()
                self.scheduleAntiEntropy()
            }
        }
    }

    /// Compares the next tree in turn with each of its other up primaries, within the
    /// byte budget; then reaps what the comparisons confirmed.
    func antiEntropyTick() {
        let now = EventLoop.nowMs()
        guard repairState.hasBudget(nowMs: now, bytesPerSecond: limits.antiEntropyBytesPerSecond) else { return }
        let claimed = repairState.state.withLock { s -> Bool in
            guard !s.running else { return false }
            s.running = true
            return true
        }
        guard claimed else { return }
        defer { repairState.state.withLock { $0.running = false } }
        let snap = cluster.snapshot()
        let trees = replicatedTrees(snap)
        guard !trees.isEmpty else { return }
        let index = repairState.state.withLock { s -> Int in
            let i = s.nextIndex % trees.count
            s.nextIndex = i + 1
            return i
        }
        let t = trees[index]
        for peer in t.primaries where peer != nodeID && snap.isUp(peer) {
            _ = try? exchange(t.id, with: peer, namespace: t.ns)
        }
        if index + 1 == trees.count { reapTombstones() }
    }

    // MARK: One comparison

    /// Compares `id`'s tree with `peer`'s and repairs both sides' differing keys (blocking;
    /// run off the request path). Only keys in differing segments travel.
    @discardableResult
    public func exchange(_ id: TreeID, with peer: String, namespace ns: Namespace) throws -> ExchangeOutcome {
        repairState.exchanges.wrappingAdd(1, ordering: .relaxed)
        let started = UInt64(max(0, EventLoop.nowMs()))
        var traffic = 0
        // Every payload both ways counts against the budget and in `bytes_moved`.
        func call(_ peer: String, _ type: PeerMessageType, _ payload: [UInt8]) throws -> [UInt8] {
            let answer = try self.call(peer, type, payload)
            traffic += payload.count + answer.count
            return answer
        }
        defer { repairState.charge(traffic) }
        do {
            let local = try replica.tree(id)
            let remoteInner = try TreeHashesAnswer.decode(call(peer, .merkleTree, TreeHashesRequest(tree: id, inner: nil).encode()))
            let differingInner = MerkleTree.differing(local.inner, remoteInner)
            if differingInner.isEmpty {
                repairState.equalExchanges.wrappingAdd(1, ordering: .relaxed)
                repairState.recordEqual(id, peer: peer, at: started)
                return ExchangeOutcome(equal: true, keysSent: 0, keysReceived: 0)
            }
            let remoteLeaves = try TreeHashesAnswer.decode(call(peer, .merkleTree, TreeHashesRequest(tree: id, inner: differingInner).encode()))
            guard remoteLeaves.count == differingInner.count * MerkleTree.fanout else { throw RepairError("\(peer) sent \(remoteLeaves.count) leaves") }
            var segments: [Int] = []
            for (j, i) in differingInner.enumerated() {
                let mine = Array(local.leaves(under: i))
                for k in 0..<MerkleTree.fanout where mine[k] != remoteLeaves[j * MerkleTree.fanout + k] {
                    segments.append(i * MerkleTree.fanout + k)
                }
            }
            let entries = try replica.segmentDigests(id, segments: Set(segments))
            let answer = try SegmentAnswer(decoding: call(peer, .merkleSegment, SegmentRequest(tree: id, segments: segments, entries: entries).encode()))
            let received = try replica.mergeMany(answer.records.map { r throws in
                (KeyAddress(namespace: id.namespace, partition: id.partition, key: r.key), try KeyRecord(decoding: r.record))
            })
            var push: [(address: KeyAddress, record: [UInt8])] = []
            for w in answer.wanted {
                let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: w.key)
                guard let bytes = try replica.readBytes(address) else { continue }
                if w.missing, try isReapable(address, record: KeyRecord(decoding: bytes), ns: ns) { continue }
                push.append((address, bytes))
            }
            for chunk in stride(from: 0, to: push.count, by: 512) {
                let slice = Array(push[chunk..<min(push.count, chunk + 512)])
                _ = try call(peer, .repair, HintBatchMessage(entries: slice).encode())
            }
            repairState.keysSent.wrappingAdd(UInt64(push.count), ordering: .relaxed)
            repairState.keysReceived.wrappingAdd(UInt64(received), ordering: .relaxed)
            return ExchangeOutcome(equal: false, keysSent: push.count, keysReceived: received)
        } catch {
            repairState.failures.wrappingAdd(1, ordering: .relaxed)
            throw error
        }
    }

    /// A peer's side: answers tree hash requests.
    func answerTreeHashes(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try TreeHashesRequest(decoding: payload)
        let tree = try replica.tree(request.tree)
        guard let inner = request.inner else { return TreeHashesAnswer.encode(tree.inner) }
        return TreeHashesAnswer.encode(inner.flatMap { Array(tree.leaves(under: $0)) })
    }

    /// A peer's side of a segment comparison: our records that differ from the initiator's
    /// (never a tombstone ready for reaping to a replica that no longer has the key), and
    /// the keys we want from it.
    func answerSegments(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try SegmentRequest(decoding: payload)
        let theirs = Dictionary(request.entries.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let mine = try replica.segmentDigests(request.tree, segments: Set(request.segments))
        let ns = cluster.snapshot().namespaces.namespace(named: String(decoding: request.tree.namespace, as: UTF8.self))
        var records: [(key: [UInt8], record: [UInt8])] = []
        var mineKeys = Set<[UInt8]>()
        for m in mine {
            mineKeys.insert(m.key)
            guard theirs[m.key] != m.digest else { continue }
            let address = KeyAddress(namespace: request.tree.namespace, partition: request.tree.partition, key: m.key)
            guard let bytes = try replica.readBytes(address) else { continue }
            if theirs[m.key] == nil, let ns, try isReapable(address, record: KeyRecord(decoding: bytes), ns: ns) { continue }
            records.append((m.key, bytes))
        }
        let mineDigests = Dictionary(mine.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        var wanted: [(key: [UInt8], missing: Bool)] = []
        for e in request.entries where mineDigests[e.key] != e.digest {
            wanted.append((e.key, !mineKeys.contains(e.key)))
        }
        return SegmentAnswer(records: records, wanted: wanted).encode()
    }

    // MARK: Tombstones

    /// An absent record every primary has confirmed (a comparison found the trees equal
    /// after this replica stored it) and whose grace period is over.
    func isReapable(_ address: KeyAddress, record: KeyRecord, ns: Namespace) throws -> Bool {
        guard record.isAbsent, let since = try replica.tombstoneTime(address) else { return false }
        return isReapable(TreeID(partition: address.partition, namespace: address.namespace), since: since, ns: ns)
    }

    func isReapable(_ id: TreeID, since: UInt64, ns: Namespace) -> Bool {
        let now = UInt64(max(0, EventLoop.nowMs()))
        guard now >= since, Int64(now - since) >= ns.tombstoneGraceMs else { return false }
        guard let ring = cluster.snapshot().ring else { return false }
        let primaries = PreferenceList(ring: ring, partition: Int(id.partition), n: ns.n, maxFallbacks: 0).primaries
        let others = primaries.filter { $0 != nodeID }
        return repairState.confirmedAt(id, peers: others) > since
    }

    /// Removes every tombstone that is reapable now; returns how many.
    @discardableResult
    public func reapTombstones() -> Int {
        let snap = cluster.snapshot()
        var reaped = 0
        for t in replicatedTrees(snap) {
            guard let list = try? replica.tombstones(t.id) else { continue }
            for entry in list where isReapable(t.id, since: entry.since, ns: t.ns) {
                let address = KeyAddress(namespace: t.id.namespace, partition: t.id.partition, key: entry.key)
                if (try? replica.reap(address, since: entry.since)) == true { reaped += 1 }
            }
        }
        repairState.tombstonesReaped.wrappingAdd(UInt64(reaped), ordering: .relaxed)
        return reaped
    }

    // MARK: On demand

    /// Compares every tree this node replicates (or those of `partition`) with each other up
    /// primary now. Returns (trees compared, keys sent, keys received, failures).
    public func repairNow(partition: Int? = nil) -> (trees: Int, sent: Int, received: Int, failures: [String]) {
        let snap = cluster.snapshot()
        var trees = 0, sent = 0, received = 0
        var failures: [String] = []
        for t in replicatedTrees(snap) where partition == nil || Int(t.id.partition) == partition {
            trees += 1
            for peer in t.primaries where peer != nodeID {
                guard snap.isUp(peer) else {
                    failures.append("\(t.id) with \(peer): down")
                    continue
                }
                do {
                    let o = try exchange(t.id, with: peer, namespace: t.ns)
                    sent += o.keysSent
                    received += o.keysReceived
                } catch {
                    failures.append("\(t.id) with \(peer): \(error)")
                }
            }
        }
        reapTombstones()
        return (trees, sent, received, failures)
    }

    // MARK: Blocking RPC for background work

    /// Sends one RPC and waits for its answer (background threads only).
    func call(_ peer: String, _ type: PeerMessageType, _ payload: [UInt8], timeoutMs: Int = 10_000) throws -> [UInt8] {
        let box = CallBox()
        transport.send(to: peer, type: type, payload: payload, timeoutMs: timeoutMs) { result in
            box.result = result
            box.done.signal()
        }
        guard box.done.wait(timeout: .now() + .milliseconds(timeoutMs + 1_000)) == .success, let result = box.result else {
            throw RepairError("\(peer) did not answer within \(timeoutMs) ms")
        }
        switch result {
        case .success(let bytes): return bytes
        case .failure(let e): throw RepairError("\(peer): \(e)")
        }
    }
}

/// One blocking call's answer; the semaphore orders the write before the read.
private final class CallBox: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var result: Result<[UInt8], RPCError>?
}
