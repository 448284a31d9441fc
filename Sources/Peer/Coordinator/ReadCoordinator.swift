// A read, as a pure per-request state machine (no I/O, no clock), generic over the key's
// state so it is tested with small fake states. Driven by the node layer:
//
//   start()                    -> [.scheduleTimeout, .read(from:) per target]  or [.reply(.failed(unreachable))]
//   onReply(from:state:)       -> [] / [.reply(.value(merged))] / [.readRepair] / both (reply first)
//   onFailure(from:)           -> [] / [.reply(.failed(failedReplies))] / [.readRepair]
//   onLate(node)               -> [] or [.read(from: spare)]
//   onTimeout()                -> [.reply(.failed(timedOut))] unless replied, then [.readRepair] if due
//
// Slow and failed targets. Without STRICT, a target that fails, or that has not answered
// within its own deadline (PeerLatency), is replaced while the reply is still owed: the next
// spare fallback of the preference list is read too (sloppy quorum, as writes do). A late
// target stays a target; its reply, if it comes, is merged like any other.
//
// Targets come from QuorumPlan(purpose: .read): the up primaries and, without STRICT, a
// fallback per down primary (sloppy quorum); pending owners are not asked. All targets are
// asked; the read needs R replies. A "not found" reply (`state: nil`) is a reply. Every
// reply is merged into `merged` (QuorumMergeable.merge), and the client gets the merge of
// the first R replies (and of any that arrived in the same batch) as soon as R arrive.
// It fails with UNAVAILABLE once replies + unanswered targets < R, with TIMEOUT on the timer.
//
// Read repair (like Riak and Dynamo): the coordinator keeps collecting after replying.
// When every target has answered (reply or failure), or at the timeout, it compares each
// PRIMARY's reply with the merge of all replies; a primary whose reply was "not found" or
// not equivalent to the merge, or that was still silent at the timeout (the failure
// detector thought it up), is sent `.readRepair(to:state:)`. Primaries that failed are not
// repaired (they are likely down: hints and anti-entropy cover them), nor are fallbacks
// (they do not own the key). Repair fires at most once, always after the reply, also when
// the read itself failed (the merge is still the best state known). `repairsSent` counts
// the repaired replicas, for the node's read-repair metric.

/// Per-request read coordination: asks all targets, replies at R with the merge, repairs stale primaries after.
public struct ReadCoordinator<State: QuorumMergeable & Equatable>: Equatable, Sendable {
    /// One target's answer: its state of the key, nil = not found.
    public struct Reply: Equatable, Sendable {
        public var node: String
        public var state: State?
    }

    public let localNode: String?
    public let r: Int
    public let strict: Bool
    public let timeoutMs: Int
    public private(set) var plan: QuorumPlan
    public private(set) var started = false
    /// Targets that missed their deadline, in order (see `onLate`).
    public private(set) var late: [String] = []
    /// Replies in order of arrival.
    public private(set) var replies: [Reply] = []
    /// Targets that failed, in order of arrival.
    public private(set) var failed: [String] = []
    /// The merge of every reply so far; nil while all replies were "not found".
    public private(set) var merged: State?
    public private(set) var reply: ReadReply<State>?
    public private(set) var timedOut = false
    public private(set) var repairDone = false
    /// Replicas sent a read repair by this request (0 or the size of the one repair batch).
    public private(set) var repairsSent = 0

    public init(replicas: [QuorumReplica], localNode: String?, r: Int, strict: Bool, timeoutMs: Int) {
        precondition(r >= 1, "ReadCoordinator: R must be resolved to >= 1 (QuorumSpec), got \(r)")
        self.localNode = localNode
        self.r = r
        self.strict = strict
        self.timeoutMs = timeoutMs
        self.plan = QuorumPlan(replicas: replicas, purpose: .read, strict: strict, localNode: localNode)
    }

    /// Replied, and nothing more will be emitted.
    public var isFinished: Bool { reply != nil && (repairDone || !started) }

    private var unanswered: Int { plan.targets.count - replies.count - failed.count }

    public mutating func start() -> [ReadCoordinatorAction<State>] {
        precondition(!started && reply == nil, "ReadCoordinator.start() called twice")
        if plan.targets.count < r {
            let failure = CoordinatorFailure(reason: .unreachable, operation: .read, answered: plan.targets.count, required: r, strict: strict)
            reply = .failed(failure)
            return [.reply(.failed(failure))]
        }
        started = true
        return [.scheduleTimeout(ms: timeoutMs)] + plan.targets.map { .read(from: $0.node) }
    }

    /// A target answered with its state of the key (nil = not found).
    public mutating func onReply(from node: String, state: State?) -> [ReadCoordinatorAction<State>] {
        guard started, !repairDone, plan.target(node) != nil, !answered(node) else { return [] }
        replies.append(Reply(node: node, state: state))
        if let state { merged = merged.map { State.merge($0, state) } ?? state }
        return decide()
    }

    /// A target could not be read (error or unreachable).
    public mutating func onFailure(from node: String) -> [ReadCoordinatorAction<State>] {
        guard started, !repairDone, plan.target(node) != nil, !answered(node) else { return [] }
        failed.append(node)
        var actions: [ReadCoordinatorAction<State>] = []
        if reply == nil, !timedOut, let replacement = plan.replace(failed: node) {
            actions.append(.read(from: replacement.node))
        }
        return actions + decide()
    }

    /// `node` has not answered within its deadline: without STRICT, while the reply is owed,
    /// the next spare fallback is read too. Once per target.
    public mutating func onLate(_ node: String) -> [ReadCoordinatorAction<State>] {
        guard started, reply == nil, !timedOut, plan.target(node) != nil, !answered(node), !late.contains(node) else { return [] }
        late.append(node)
        guard let replacement = plan.replace(failed: node) else { return [] }
        return [.read(from: replacement.node)]
    }

    /// Whether `node` replied or failed already.
    public func hasAnswered(_ node: String) -> Bool { answered(node) }

    public mutating func onTimeout() -> [ReadCoordinatorAction<State>] {
        guard started, !timedOut else { return [] }
        timedOut = true
        var actions: [ReadCoordinatorAction<State>] = []
        if reply == nil {
            let failure = CoordinatorFailure(reason: .timedOut(afterMs: timeoutMs), operation: .read, answered: replies.count, required: r, strict: strict)
            reply = .failed(failure)
            actions.append(.reply(.failed(failure)))
        }
        return actions + repair()
    }

    private func answered(_ node: String) -> Bool {
        failed.contains(node) || replies.contains { $0.node == node }
    }

    private mutating func decide() -> [ReadCoordinatorAction<State>] {
        var actions: [ReadCoordinatorAction<State>] = []
        if reply == nil {
            if replies.count >= r {
                reply = .value(merged)
                actions.append(.reply(.value(merged)))
            } else if replies.count + unanswered < r {
                let failure = CoordinatorFailure(reason: .failedReplies, operation: .read, answered: replies.count, required: r, strict: strict)
                reply = .failed(failure)
                actions.append(.reply(.failed(failure)))
            }
        }
        if unanswered == 0 { actions += repair() }
        return actions
    }

    /// The one read-repair batch: primaries whose reply was stale, or that were silent at the timeout.
    private mutating func repair() -> [ReadCoordinatorAction<State>] {
        guard !repairDone else { return [] }
        repairDone = true
        guard let merged else { return [] }
        var stale: [String] = []
        for target in plan.targets where target.role == .primary && !failed.contains(target.node) {
            if let answer = replies.first(where: { $0.node == target.node }) {
                if !(answer.state?.isEquivalent(to: merged) ?? false) { stale.append(target.node) }
            } else {
                stale.append(target.node)  // silent at the timeout, though the detector said up
            }
        }
        guard !stale.isEmpty else { return [] }
        repairsSent = stale.count
        return [.readRepair(to: stale, state: merged)]
    }
}
