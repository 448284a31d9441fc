// One partition's chunk of a SCAN step, as a pure per-request state machine (no I/O, no
// clock), driven by NodeEngine+Scan:
//
//   start()                  -> [.scheduleTimeout, .ask(node) x R]  or [.failed(unreachable)]
//   onAnswer(from:answer:)   -> [] / [.done(merge)]
//   onFailure(from:)         -> [] / [.ask(next candidate)] / [.failed(failedReplies)]
//   onTimeout()              -> [.failed(timedOut)] unless finished
//
// Candidates are the targets a read of any key of the partition would use
// (QuorumPlan(purpose: .read)): the up primaries, then without STRICT a fallback per down
// primary. Pending owners of a transfer are not asked: they may not hold the data yet (the
// same rule as reads). The local node goes first among the primaries (no network hop).
// Only R candidates are asked at first; each failure asks the next one. The chunk is done
// when R replicas answered; it fails once answers + asked-but-silent + unasked < R.
//
// Merge (ScanChunkMerge): union of the answers, each key's records merged (KeyRecord
// merge); the merged next position is the MIN of the answers' next positions (end = +inf),
// and keys at or past it are dropped: a replica that stopped earlier has not said what it
// holds there, so such a key could be a stale value whose tombstone sits on the other
// replica. The next step reads them again, from every replica. Keys whose merged record is
// absent (all tombstones) are not returned.

/// What the node layer must do for one chunk.
public enum ScanChunkAction: Equatable, Sendable {
    case scheduleTimeout(ms: Int)
    /// Send the chunk request to `node` (possibly the local node); call `onAnswer` or `onFailure`.
    case ask(String)
    /// R replicas answered: the merged chunk.
    case done(ScanChunkMerge)
    /// Not enough replicas answered.
    case failed(CoordinatorFailure)
}

/// The merge of several replicas' answers for one partition chunk.
public struct ScanChunkMerge: Equatable, Sendable {
    /// The position the chunk started at.
    public let start: UInt64
    /// Each key's merged (value-stripped) record.
    public private(set) var records: [[UInt8]: KeyRecord] = [:]
    /// MIN of the answers' next positions; nil = every answer reached the end.
    public private(set) var next: UInt64?
    /// Answers merged so far.
    public private(set) var answers = 0

    public init(start: UInt64) { self.start = start }

    /// Adds one replica's answer. Keys outside [start, next) of that answer are ignored
    /// (a replica answering outside the range it was asked for is not trusted for them).
    public mutating func add(_ answer: ScanChunkAnswer) {
        for e in answer.entries {
            let p = ScanCursor.prefix5(e.key)
            guard p >= start, answer.next.map({ p < $0 }) ?? true else { continue }
            if let old = records[e.key] {
                records[e.key] = KeyRecord.merge(old, e.record)
            } else {
                records[e.key] = e.record
            }
        }
        if answers == 0 {
            next = answer.next
        } else if let n = answer.next {
            next = next.map { min($0, n) } ?? n
        }
        answers += 1
    }

    /// Keys below `next` whose merged record is not absent (deleted or expired) at `nowMs`,
    /// in byte order.
    public func liveKeys(atMs nowMs: UInt64) -> [[UInt8]] {
        records.compactMap { key, record -> [UInt8]? in
            if let n = next, ScanCursor.prefix5(key) >= n { return nil }
            return record.isAbsent(atMs: nowMs) ? nil : key
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }
}

/// Per-partition chunk coordination: asks R replicas, merges, replaces failed ones.
public struct ScanChunkCoordinator: Equatable, Sendable {
    public let r: Int
    public let strict: Bool
    public let timeoutMs: Int
    /// Candidates in the order they are asked.
    public let candidates: [String]
    public private(set) var asked: [String] = []
    public private(set) var answered: [String] = []
    public private(set) var failed: [String] = []
    public private(set) var merge: ScanChunkMerge
    public private(set) var finished = false

    public init(replicas: [QuorumReplica], localNode: String?, r: Int, strict: Bool, timeoutMs: Int, start: UInt64) {
        precondition(r >= 1, "ScanChunkCoordinator: R must be resolved to >= 1, got \(r)")
        self.r = r
        self.strict = strict
        self.timeoutMs = timeoutMs
        let plan = QuorumPlan(replicas: replicas, purpose: .read, strict: strict, localNode: localNode)
        var primaries = plan.targets.filter { $0.role == .primary }.map(\.node)
        if let localNode, let i = primaries.firstIndex(of: localNode) {
            primaries.remove(at: i)
            primaries.insert(localNode, at: 0)
        }
        candidates = primaries + plan.targets.filter { $0.role != .primary }.map(\.node)
        merge = ScanChunkMerge(start: start)
    }

    public mutating func start() -> [ScanChunkAction] {
        precondition(asked.isEmpty && !finished, "ScanChunkCoordinator.start() called twice")
        if candidates.count < r {
            finished = true
            return [.failed(CoordinatorFailure(reason: .unreachable, operation: .read, answered: candidates.count, required: r, strict: strict))]
        }
        asked = Array(candidates.prefix(r))
        return [.scheduleTimeout(ms: timeoutMs)] + asked.map { .ask($0) }
    }

    public mutating func onAnswer(from node: String, answer: ScanChunkAnswer) -> [ScanChunkAction] {
        guard !finished, isPending(node) else { return [] }
        // A next position at or before the start would stall the scan: a broken replica.
        if let n = answer.next, n <= merge.start { return onFailure(from: node) }
        answered.append(node)
        merge.add(answer)
        guard answered.count >= r else { return [] }
        finished = true
        // Hand the records over and keep none: the timeout timer holds this state until it fires.
        let result = merge
        merge = ScanChunkMerge(start: merge.start)
        return [.done(result)]
    }

    public mutating func onFailure(from node: String) -> [ScanChunkAction] {
        guard !finished, isPending(node) else { return [] }
        failed.append(node)
        let silent = asked.count - answered.count - failed.count
        let unasked = candidates.count - asked.count
        if answered.count + silent + unasked < r {
            finished = true
            return [.failed(CoordinatorFailure(reason: .failedReplies, operation: .read, answered: answered.count, required: r, strict: strict))]
        }
        guard unasked > 0 else { return [] }
        let next = candidates[asked.count]
        asked.append(next)
        return [.ask(next)]
    }

    public mutating func onTimeout() -> [ScanChunkAction] {
        guard !finished else { return [] }
        finished = true
        return [.failed(CoordinatorFailure(reason: .timedOut(afterMs: timeoutMs), operation: .read, answered: answered.count, required: r, strict: strict))]
    }

    private func isPending(_ node: String) -> Bool {
        asked.contains(node) && !answered.contains(node) && !failed.contains(node)
    }
}
