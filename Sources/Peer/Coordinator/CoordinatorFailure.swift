// Why a request failed, and the one-line RESP error the client gets. `message` has no
// leading '-' and no CRLF (the RESP writer adds both). Texts (SPEC section 5):
//
//   UNAVAILABLE only 1 of 2 required replicas are reachable (nothing written)
//   UNAVAILABLE only 1 of 2 required primary replicas are reachable (STRICT; nothing written)
//   UNAVAILABLE only 1 of 2 required replicas answered (write may be partially applied)
//   TIMEOUT only 1 of 2 required replicas answered within 500 ms (write may be partially applied)
//   UNAVAILABLE no replica can coordinate the write (nothing written)
//   UNAVAILABLE no primary replica answered the forwarded write in time (STRICT; write may be partially applied)
//   UNAVAILABLE the coordinating replica could not store the write (nothing written)
//
// Reads drop the parenthesised write note (and say "primary replicas" / "(STRICT)" alike).

/// A failed request: what went wrong, and how many replicas answered out of how many needed.
public struct CoordinatorFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Operation: Equatable, Sendable { case read, write }

    public enum Reason: Equatable, Sendable {
        /// Failed before sending anything: too few targets are up.
        case unreachable
        /// Enough replicas failed (nacks, refused connections) that the count can no longer be reached.
        case failedReplies
        /// The request's TIMEOUT passed first.
        case timedOut(afterMs: Int)
        /// Every candidate coordinator for a write was down or failed (see CoordinatorRouter).
        case noCoordinator
        /// With STRICT, every candidate was down, failed, or was sent the write and did not
        /// answer in time (so it may have applied it).
        case coordinatorsSilent
        /// The coordinating node could not version and store the write itself.
        case localWriteFailed
        /// An increment's coordinator did not answer in time; it is not coordinated again
        /// elsewhere (it would count twice), so it may or may not have been applied.
        case unansweredIncrement
    }

    public var reason: Reason
    public var operation: Operation
    /// Acks (writes), replies (reads), or for `.unreachable` the targets that are up.
    public var answered: Int
    /// The count needed: R, or W (plus pending owners during a transfer).
    public var required: Int
    /// STRICT was given: only primary replicas count.
    public var strict: Bool

    public init(reason: Reason, operation: Operation, answered: Int, required: Int, strict: Bool) {
        self.reason = reason
        self.operation = operation
        self.answered = answered
        self.required = required
        self.strict = strict
    }

    /// The RESP error line, e.g. `UNAVAILABLE only 1 of 2 required replicas answered (write may be partially applied)`.
    public var message: String {
        let replicas = strict ? "primary replicas" : "replicas"
        let partial = operation == .write ? " (write may be partially applied)" : ""
        switch reason {
        case .unreachable:
            let note: String
            switch (strict, operation) {
            case (true, .write): note = " (STRICT; nothing written)"
            case (true, .read): note = " (STRICT)"
            case (false, .write): note = " (nothing written)"
            case (false, .read): note = ""
            }
            return "UNAVAILABLE only \(answered) of \(required) required \(replicas) are reachable\(note)"
        case .failedReplies:
            return "UNAVAILABLE only \(answered) of \(required) required \(replicas) answered\(partial)"
        case .timedOut(let ms):
            return "TIMEOUT only \(answered) of \(required) required \(replicas) answered within \(ms) ms\(partial)"
        case .noCoordinator:
            return strict
                ? "UNAVAILABLE no primary replica can coordinate the write (STRICT; nothing written)"
                : "UNAVAILABLE no replica can coordinate the write (nothing written)"
        case .coordinatorsSilent:
            return "UNAVAILABLE no primary replica answered the forwarded write in time (STRICT; write may be partially applied)"
        case .localWriteFailed:
            return "UNAVAILABLE the coordinating replica could not store the write (nothing written)"
        case .unansweredIncrement:
            return "TIMEOUT the coordinating replica did not answer the increment in time (it may have been applied; not retried elsewhere, where it would count twice)"
        }
    }

    public var description: String { message }
}
