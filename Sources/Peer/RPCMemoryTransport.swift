import Foundation
import Gossip
import Synchronization

/// An in-process `RPCTransport` for node tests: servers are handlers registered by address,
/// links can be cut both ways, and deadlines still fire (`.timeout`) when a handler never
/// answers. Handlers run on a concurrent dispatch queue, answers on the handler's thread.
/// No bytes, frames or handshake: for those, use the socket tests.
public final class RPCMemoryTransport: RPCTransport, @unchecked Sendable {
    /// The network shared by every node of a test.
    public final class Network: @unchecked Sendable {
        private let state = Mutex(State())
        private struct State {
            var handlers: [Endpoint: (id: String, handler: PeerRPCHandler)] = [:]
            var cut: Set<[String]> = []
        }

        public init() {}

        public func register(_ address: Endpoint, nodeID: String, handler: @escaping PeerRPCHandler) {
            state.withLock { $0.handlers[address] = (nodeID, handler) }
        }

        public func unregister(_ address: Endpoint) { _ = state.withLock { $0.handlers.removeValue(forKey: address) } }

        /// Cuts (or heals) traffic between two hosts, both directions, as iptables would.
        public func setCut(_ a: String, _ b: String, _ isCut: Bool) {
            let key = [a, b].sorted()
            state.withLock { s in if isCut { s.cut.insert(key) } else { s.cut.remove(key) } }
        }

        func route(from host: String, to peer: Endpoint) -> (id: String, handler: PeerRPCHandler)? {
            state.withLock { s in
                guard !s.cut.contains([host, peer.host].sorted()) else { return nil }
                return s.handlers[peer]
            }
        }
    }

    public let network: Network
    public let nodeID: String
    public let host: String
    public let defaultTimeoutMs: Int
    private let queue = DispatchQueue(label: "rpc-memory", attributes: .concurrent)

    public init(network: Network, nodeID: String, host: String, defaultTimeoutMs: Int = 5_000) {
        self.network = network
        self.nodeID = nodeID
        self.host = host
        self.defaultTimeoutMs = defaultTimeoutMs
    }

    public func send(to peer: Endpoint, type: PeerMessageType, payload: [UInt8], timeoutMs: Int? = nil,
                     completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        guard let target = network.route(from: host, to: peer) else {
            return completion(.failure(.unreachable("no route to \(peer)")))
        }
        let budget = PeerRPCClient.budget(timeoutMs ?? defaultTimeoutMs)
        let done = Atomic(false)
        let finish: @Sendable (Result<[UInt8], RPCError>) -> Void = { r in
            if !done.exchange(true, ordering: .acquiringAndReleasing) { completion(r) }
        }
        let request = RPCRequest(from: nodeID, authenticated: true, type: type, requestID: 0, payload: payload,
                                 deadline: RPCDeadline.now().adding(ms: budget), isOneWay: false)
        queue.asyncAfter(deadline: .now() + .milliseconds(budget)) { finish(.failure(.timeout)) }
        queue.async { target.handler(request, finish) }
    }

    @discardableResult
    public func sendOneWay(to peer: Endpoint, type: PeerMessageType, payload: [UInt8]) -> Bool {
        guard let target = network.route(from: host, to: peer) else { return false }
        let request = RPCRequest(from: nodeID, authenticated: true, type: type, requestID: 0, payload: payload,
                                 deadline: nil, isOneWay: true)
        queue.async { target.handler(request) { _ in } }
        return true
    }
}
