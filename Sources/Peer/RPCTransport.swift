import Gossip

/// What the node layer needs from peer RPC, so node tests can swap the sockets for
/// `RPCMemoryTransport`. `PeerRPCClient` is the production implementation.
public protocol RPCTransport: Sendable {
    /// Sends a request; `completion` runs exactly once (see `PeerRPCClient.send`).
    func send(to peer: Endpoint, type: PeerMessageType, payload: [UInt8], timeoutMs: Int?,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void)
    /// Best effort, no answer; false when it certainly did not leave.
    @discardableResult
    func sendOneWay(to peer: Endpoint, type: PeerMessageType, payload: [UInt8]) -> Bool
}

extension PeerRPCClient: RPCTransport {}
