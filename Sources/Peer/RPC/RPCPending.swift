/// A request the client has accepted and not yet completed. Whoever removes it from the
/// structure holding it (pool queue or connection in-flight map, under that structure's
/// lock) completes it: exactly once, outside any lock.
final class RPCPending: @unchecked Sendable {
    let id: UInt64
    let type: PeerMessageType
    let payload: [UInt8]
    let deadline: RPCDeadline
    let completion: @Sendable (Result<[UInt8], RPCError>) -> Void

    init(id: UInt64, type: PeerMessageType, payload: [UInt8], deadline: RPCDeadline,
         completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        self.id = id
        self.type = type
        self.payload = payload
        self.deadline = deadline
        self.completion = completion
    }

    /// The request frame, carrying the budget left at `now`.
    func frame(now: RPCDeadline) -> Frame {
        Frame(kind: .request, type: type.rawValue, requestID: id, timeoutMs: deadline.remainingMs(at: now), payload: payload)
    }
}
