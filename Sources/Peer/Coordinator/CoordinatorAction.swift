// Directive enums of the coordinators: what the node layer (the thin shell) must do.
// The shell performs the actions of one batch in array order. Order rules:
// - `.scheduleTimeout` comes first in a `start()` batch; the shell later calls `onTimeout()`
//   once (or never, if it drops a finished coordinator first).
// - A write's `.applyLocally` comes before any `.replicate`: the coordinator versions the
//   write, and only the versioned state is replicated.
// - A read's `.reply` always comes before its `.readRepair` (reply first, repair after, in
//   the background), even inside one batch.

/// What a write coordinator asks the node layer to do.
public enum WriteCoordinatorAction: Equatable, Sendable {
    /// Arm the request's timer; call `onTimeout()` when it fires.
    case scheduleTimeout(ms: Int)
    /// Version the write against the local state and store it durably (under `sync always`,
    /// fsynced), then call `onLocalApplied(ok:)`. `hintFor` non-nil: the local node is a
    /// fallback and stores it as a hint for that owner. `counted` false: the local node is not
    /// a target in its own view (a forwarded request under a differing failure-detector view);
    /// version it but it does not count as an ack.
    case applyLocally(hintFor: String?, counted: Bool)
    /// Send the versioned state to `node`; call `onAck(from:)` or `onNack(from:)` with its
    /// answer. `hintFor` non-nil: `node` is a fallback and must keep it in its durable hint
    /// store naming that owner, acking once the hint is durable.
    case replicate(to: String, hintFor: String?)
    /// Answer the client. Emitted exactly once per request.
    case reply(WriteReply)
}

/// The answer of a write.
public enum WriteReply: Equatable, Sendable {
    /// W acks (plus pending owners) reached: `+OK`.
    case ok
    case failed(CoordinatorFailure)
}

/// What a read coordinator asks the node layer to do.
public enum ReadCoordinatorAction<State: QuorumMergeable & Equatable>: Equatable, Sendable {
    case scheduleTimeout(ms: Int)
    /// Read the key from `node` (possibly the local node); call `onReply(from:state:)` with
    /// its state (nil = not found) or `onFailure(from:)`.
    case read(from: String)
    /// Answer the client with the merged state of at least R replies (nil = not found).
    /// Emitted exactly once per request.
    case reply(ReadReply<State>)
    /// Background read repair: send `state` (the merge of every reply) to these primaries,
    /// which merge it into theirs. Emitted at most once, after `.reply`.
    case readRepair(to: [String], state: State)
}

/// The answer of a read.
public enum ReadReply<State: QuorumMergeable & Equatable>: Equatable, Sendable {
    /// The merge of the replies so far; nil when every reply was "not found".
    case value(State?)
    case failed(CoordinatorFailure)
}

/// Where a write is coordinated (see CoordinatorRouter).
public enum RouterDecision: Equatable, Sendable {
    /// This node coordinates: run a WriteCoordinator here.
    case coordinateLocally
    /// Proxy the request to `node`, marked as forwarded; when the hop cannot be made call
    /// `onForwardFailed(to:)`, when it is not answered in time `onForwardTimedOut(to:)`.
    case forward(to: String)
    /// Answer the client with this error.
    case fail(CoordinatorFailure)
}
