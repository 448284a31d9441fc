import Synchronization

/// A bound on work that outside input puts on the node's queues: requests admitted and not
/// yet answered, in count and in payload bytes (issue 14). The schedulers' Dispatch queues
/// have no bound of their own, so a peer that pipelines frames faster than the store
/// absorbs them once queued them (and their payloads, up to 64 MiB each) without limit.
/// Past the bound a request is refused at once, with a clear busy error, and nothing of it
/// is kept. One request is always admitted when nothing is in flight, whatever its size.
public final class RequestGate: Sendable {
    public let maxRequests: Int
    public let maxBytes: Int
    private let state = Mutex<(requests: Int, bytes: Int)>((0, 0))
    /// Requests refused at the bound.
    public let refused = Atomic<UInt64>(0)

    public init(maxRequests: Int, maxBytes: Int) {
        self.maxRequests = max(1, maxRequests)
        self.maxBytes = max(1, maxBytes)
    }

    /// Admits a request of `bytes` (false: over the bound; the caller refuses it).
    public func enter(bytes: Int) -> Bool {
        let admitted = state.withLock { s -> Bool in
            guard s.requests == 0 || (s.requests < maxRequests && s.bytes + bytes <= maxBytes) else { return false }
            s.requests += 1
            s.bytes += bytes
            return true
        }
        if !admitted { refused.wrappingAdd(1, ordering: .relaxed) }
        return admitted
    }

    /// Ends an admitted request (exactly once per `enter` that returned true).
    public func leave(bytes: Int) {
        state.withLock { s in
            s.requests = max(0, s.requests - 1)
            s.bytes = max(0, s.bytes - bytes)
        }
    }

    /// Requests and bytes admitted and not yet answered.
    public var inFlight: (requests: Int, bytes: Int) { state.withLock { $0 } }
}
