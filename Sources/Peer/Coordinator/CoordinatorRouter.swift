// Which node coordinates a write (stage 1 of a write; WriteCoordinator is stage 2).
//
// A write without a context supersedes everything its coordinator has seen (docs/VERSIONS.md),
// so it must be coordinated by the same replica every time: the FIRST UP PRIMARY of the
// preference list. Any peer a client reaches routes the write there; sequential writes then
// never create siblings while that primary lives.
//
// Candidates, in order: the up primaries (preference order), then, without STRICT, the
// fallbacks QuorumPlan chose for the down primaries (such a coordinator stores its own copy
// as a hint). Pending owners never coordinate. The local node is always up.
//
// - A request already forwarded once is always coordinated where it lands (at most one
//   hop, so differing failure-detector views can never make two peers bounce it).
// - If the first candidate is the local node: coordinate locally. Else `.forward(to:)`.
// - `onForwardFailed(to:)`: the hop could not be made (connection refused or reset before
//   the request was sent); move to the next candidate.
// - `onForwardTimedOut(to:)`: the request was sent but no answer came within the hop's
//   deadline (PeerLatency), or the coordinator answered that it could not reach its quorum.
//   The remote may have applied it, so the next coordinator versions the SAME client write:
//   the shell sends the write id along, and the two copies fold into one sibling
//   (RECORDS.md, "Write ids"). The node is listed in `passedOver`.
//   An increment (`reapplies` false) is never coordinated a second time: the request fails
//   with `.unansweredIncrement` instead (docs/VERSIONS.md, "Counters": two coordinators
//   would add it to two entries, and it would count twice).
// - No candidate left: without STRICT, if some candidate was passed over, the local node
//   coordinates as a stand-in (`.coordinateLocally`; the passed-over nodes stay its targets,
//   and one that misses its replica deadline is covered by a hinted fallback). With STRICT
//   `.fail(.coordinatorsSilent)` (the write may be partially applied). Otherwise
//   `.fail(.noCoordinator)`.

/// Stage 1 of a write: picks the coordinating replica, moving on when a forward hop fails.
public struct CoordinatorRouter: Equatable, Sendable {
    public let localNode: String
    public let strict: Bool
    public let forwarded: Bool
    /// Whether a write sent to a coordinator that did not answer may be coordinated again
    /// elsewhere. False for an increment: applied by two coordinators it counts twice
    /// (docs/VERSIONS.md, "Counters"), so a timed-out forward fails the request instead.
    public let reapplies: Bool
    /// Candidate coordinators in order; `next` indexes the one currently tried.
    public let candidates: [String]
    private var next: Int = 0
    public private(set) var decision: RouterDecision?
    /// Candidates whose forward was sent but not answered in time, in order.
    public private(set) var passedOver: [String] = []

    public init(replicas: [QuorumReplica], localNode: String, strict: Bool, forwarded: Bool, reapplies: Bool = true) {
        self.localNode = localNode
        self.reapplies = reapplies
        self.strict = strict
        self.forwarded = forwarded
        let plan = QuorumPlan(replicas: replicas, purpose: .write, strict: strict, localNode: localNode)
        self.candidates = plan.targets.filter { $0.role != .pendingOwner }.map(\.node)
    }

    /// The first decision. Call once.
    public mutating func start() -> RouterDecision {
        precondition(decision == nil, "CoordinatorRouter.start() called twice (decision \(String(describing: decision)))")
        return decide()
    }

    /// The forward hop to `node` failed before the request was sent: try the next candidate.
    /// A call for any node other than the current forward target (a stale or duplicate
    /// report) changes nothing and returns the current decision.
    public mutating func onForwardFailed(to node: String) -> RouterDecision {
        guard case .forward(let current)? = decision, current == node else {
            return decision ?? decide()
        }
        next += 1
        return decide()
    }

    /// The forward to `node` was sent but not answered within its deadline (or answered that
    /// its quorum failed): try the next candidate, which coordinates the same write.
    public mutating func onForwardTimedOut(to node: String) -> RouterDecision {
        guard case .forward(let current)? = decision, current == node else {
            return decision ?? decide()
        }
        passedOver.append(node)
        guard reapplies else {
            let failure = CoordinatorFailure(reason: .unansweredIncrement, operation: .write, answered: 0, required: 1, strict: strict)
            decision = .fail(failure)
            return .fail(failure)
        }
        next += 1
        return decide()
    }

    private mutating func decide() -> RouterDecision {
        let result: RouterDecision
        if forwarded {
            result = .coordinateLocally
        } else if next < candidates.count {
            result = candidates[next] == localNode ? .coordinateLocally : .forward(to: candidates[next])
        } else if !passedOver.isEmpty {
            result = strict
                ? .fail(CoordinatorFailure(reason: .coordinatorsSilent, operation: .write, answered: 0, required: 1, strict: true))
                : .coordinateLocally
        } else {
            result = .fail(CoordinatorFailure(reason: .noCoordinator, operation: .write, answered: 0, required: 1, strict: strict))
        }
        decision = result
        return result
    }
}
