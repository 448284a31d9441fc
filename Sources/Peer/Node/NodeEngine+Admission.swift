import Synchronization

extension NodeEngine {
    /// Serves a peer request on the node's scheduler (off the connection's reader thread),
    /// within `peerGate`: past its bound the request is answered `overloaded` at once instead
    /// of queued, so no peer can grow the scheduler's queues without limit. `respond` gets
    /// exactly one result.
    public func serveQueued(type: PeerMessageType, payload: [UInt8], respond: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        let bytes = payload.count
        let gate = peerGate
        guard gate.enter(bytes: bytes) else { return respond(.failure(.overloaded)) }
        let left = Atomic(false)
        scheduler.async { [self] in
            handleRPC(type: type, payload: payload) { result in
                if !left.exchange(true, ordering: .acquiringAndReleasing) { gate.leave(bytes: bytes) }
                respond(result)
            }
        }
    }
}
