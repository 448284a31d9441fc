// Stage 2 of a write, run on the coordinating node (chosen by CoordinatorRouter): a pure,
// per-request state machine, no I/O, no clock. Driven by the node layer:
//
//   start()                      -> [.scheduleTimeout, .applyLocally]   or [.reply(.failed(unreachable))]
//   onLocalApplied(ok:)          -> [.replicate(to:hintFor:) ...] (+ .reply when that already decides)
//   or, to overlap the local fsync with replication:
//   onLocalVersioned()           -> [.replicate(to:hintFor:) ...]  (the local copy is not counted yet)
//   onLocalDurable(ok:)          -> [] or [.reply]                 (now it is, or it failed)
//   onAck(from:) / onNack(from:) -> [] or [.replicate] (sloppy replacement) or [.reply]
//   onLate(node)                 -> [] or [.replicate] (a spare stands in for a slow target)
//   onTimeout()                  -> [.reply(.failed(timedOut))] unless already replied
//
// Late targets. A target that has not answered within its own deadline (PeerLatency, from
// measured round trips) is "late": without STRICT, while the write still lacks acks, the next
// spare fallback gets a hinted copy for it at once, before gossip suspects anyone. The late
// target stays a target: its ack, if it comes, counts like any other.
//
// Counting. Targets come from QuorumPlan (up primaries, up pending owners, and without
// STRICT a fallback per down primary). `requiredAcks` = W + pending owners among the
// targets. An ack is one target that stored the write durably (the local one included,
// when the local node is a target); each target counts at most once, acks from nodes that
// are not targets are ignored.
//
// Invariants (pinned by CoordinatorPropertyTests):
// 1. `.reply` is emitted exactly once; `.reply(.ok)` only with acks >= requiredAcks.
// 2. It replies `.failed(.failedReplies)` as soon as acks + unanswered targets < requiredAcks,
//    `.failed(.timedOut)` on the timeout if neither happened before.
// 3. With STRICT no `.replicate` ever goes to a fallback; without STRICT every fallback
//    send carries `hintFor` (the down owner it stands in for).
// 4. After the reply, answers are still recorded (late acks change nothing for the client)
//    and a failed target is still replaced by a spare fallback until the timeout, so the
//    write still reaches N nodes where it can.
// 5. No node is sent the write twice.

/// Per-request write coordination at the coordinating replica: versions locally, replicates, counts W acks.
public struct WriteCoordinator: Equatable, Sendable {
    public enum Phase: Equatable, Sendable {
        case created
        /// Waiting for `onLocalApplied`.
        case applyingLocally
        /// Replicas are being written.
        case replicating
    }

    public let localNode: String
    public let w: Int
    public let strict: Bool
    public let timeoutMs: Int
    /// W plus the pending owners among the targets.
    public let requiredAcks: Int
    public private(set) var plan: QuorumPlan
    public private(set) var phase: Phase = .created
    /// Targets that acked, in order of arrival.
    public private(set) var acked: [String] = []
    /// Targets that failed, in order of arrival.
    public private(set) var nacked: [String] = []
    /// The answer given to the client, once given.
    public private(set) var reply: WriteReply?
    public private(set) var timedOut = false
    /// Replicate actions that carried a hint (a fallback standing in for an owner).
    public private(set) var hintsSent = 0
    /// Versioned and replicating, but the local store has not confirmed durability yet.
    public private(set) var localPending = false
    /// Targets that missed their deadline, in order (see `onLate`).
    public private(set) var late: [String] = []

    public init(replicas: [QuorumReplica], localNode: String, w: Int, strict: Bool, timeoutMs: Int) {
        precondition(w >= 1, "WriteCoordinator: W must be resolved to >= 1 (QuorumSpec), got \(w)")
        self.localNode = localNode
        self.w = w
        self.strict = strict
        self.timeoutMs = timeoutMs
        self.plan = QuorumPlan(replicas: replicas, purpose: .write, strict: strict, localNode: localNode)
        self.requiredAcks = w + plan.pendingOwnerCount
    }

    /// The local node's own target entry, when it is one.
    public var localTarget: QuorumTarget? { plan.target(localNode) }

    public var acks: Int { acked.count }

    /// Replied, and nothing more can happen: every target answered or the timeout passed.
    /// Never while the local apply is outstanding: `onLocalApplied` still replicates.
    public var isFinished: Bool {
        guard reply != nil, phase != .applyingLocally, !localPending else { return false }
        return timedOut || phase == .created || unanswered == 0
    }

    /// Targets that have not answered yet (the local one counts until `onLocalApplied`).
    private var unanswered: Int { plan.targets.count - acked.count - nacked.count }

    public mutating func start() -> [WriteCoordinatorAction] {
        precondition(phase == .created && reply == nil, "WriteCoordinator.start() in phase \(phase)")
        if plan.targets.count < requiredAcks {
            return finish(.unreachable, answered: plan.targets.count)
        }
        phase = .applyingLocally
        let local = localTarget
        return [.scheduleTimeout(ms: timeoutMs), .applyLocally(hintFor: local?.hintFor, counted: local != nil)]
    }

    /// The local versioning and durable store finished. On success the local ack counts (when
    /// the local node is a target) and the versioned write goes to every other target.
    public mutating func onLocalApplied(ok: Bool) -> [WriteCoordinatorAction] {
        precondition(phase == .applyingLocally, "WriteCoordinator.onLocalApplied in phase \(phase)")
        phase = .replicating
        guard ok else {
            // Nothing was versioned, so nothing can be replicated: the write failed everywhere.
            if localTarget != nil { nacked.append(localNode) }
            nacked.append(contentsOf: plan.targets.map(\.node).filter { $0 != localNode })
            return reply == nil ? finish(.localWriteFailed, answered: 0) : []
        }
        if localTarget != nil { acked.append(localNode) }
        // Even past the timeout (the client already has TIMEOUT, "may be partially applied")
        // the stored write still goes to the other targets: fewer replicas to repair later.
        var actions: [WriteCoordinatorAction] = []
        for target in plan.targets where target.node != localNode {
            actions.append(send(target))
        }
        return actions + decide()
    }

    /// The write is versioned locally and its durable store has started: replicate now, so
    /// the local fsync and the replicas' overlap. `onLocalDurable` counts the local copy.
    public mutating func onLocalVersioned() -> [WriteCoordinatorAction] {
        precondition(phase == .applyingLocally, "WriteCoordinator.onLocalVersioned in phase \(phase)")
        phase = .replicating
        localPending = localTarget != nil
        var actions: [WriteCoordinatorAction] = []
        for target in plan.targets where target.node != localNode {
            actions.append(send(target))
        }
        return actions + decide()
    }

    /// The local store of a versioned write finished (`ok`: durable).
    public mutating func onLocalDurable(ok: Bool) -> [WriteCoordinatorAction] {
        guard phase == .replicating, localPending else { return [] }
        localPending = false
        if ok { acked.append(localNode) } else { nacked.append(localNode) }
        return decide()
    }

    /// A target stored the write durably (a fallback: durably as a hint).
    public mutating func onAck(from node: String) -> [WriteCoordinatorAction] {
        guard phase == .replicating, node != localNode, plan.target(node) != nil, !answered(node) else { return [] }
        acked.append(node)
        return decide()
    }

    /// A target refused the write or could not be reached. Without STRICT the next spare
    /// fallback takes its copy (hinted for the intended owner).
    public mutating func onNack(from node: String) -> [WriteCoordinatorAction] {
        guard phase == .replicating, node != localNode, plan.target(node) != nil, !answered(node) else { return [] }
        nacked.append(node)
        var actions: [WriteCoordinatorAction] = []
        if !timedOut, let replacement = plan.replace(failed: node) {
            actions.append(send(replacement))
        }
        return actions + decide()
    }

    /// `node` has not answered within its deadline. Without STRICT, while the write still
    /// lacks acks, the next spare fallback takes a copy hinted for it. Once per target.
    public mutating func onLate(_ node: String) -> [WriteCoordinatorAction] {
        guard phase == .replicating, reply == nil, !timedOut, node != localNode, plan.target(node) != nil,
              !answered(node), !late.contains(node) else { return [] }
        late.append(node)
        guard let replacement = plan.replace(failed: node) else { return [] }
        return [send(replacement)]
    }

    /// Whether `node` acked or failed already.
    public func hasAnswered(_ node: String) -> Bool { answered(node) }

    /// The request's timer fired.
    public mutating func onTimeout() -> [WriteCoordinatorAction] {
        guard !timedOut else { return [] }
        timedOut = true
        guard reply == nil else { return [] }
        return finish(.timedOut(afterMs: timeoutMs), answered: acks)
    }

    private func answered(_ node: String) -> Bool { acked.contains(node) || nacked.contains(node) }

    private mutating func send(_ target: QuorumTarget) -> WriteCoordinatorAction {
        if target.hintFor != nil { hintsSent += 1 }
        return .replicate(to: target.node, hintFor: target.hintFor)
    }

    private mutating func decide() -> [WriteCoordinatorAction] {
        guard reply == nil else { return [] }
        if acks >= requiredAcks {
            reply = .ok
            return [.reply(.ok)]
        }
        if acks + unanswered < requiredAcks {
            return finish(.failedReplies, answered: acks)
        }
        return []
    }

    private mutating func finish(_ reason: CoordinatorFailure.Reason, answered: Int) -> [WriteCoordinatorAction] {
        precondition(reply == nil, "WriteCoordinator replying twice (phase \(phase))")
        let failure = CoordinatorFailure(reason: reason, operation: .write, answered: answered, required: requiredAcks, strict: strict)
        reply = .failed(failure)
        return [.reply(.failed(failure))]
    }
}
