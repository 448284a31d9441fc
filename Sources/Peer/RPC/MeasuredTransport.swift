import Net
import Synchronization

/// The node's `PeerLatency`, shared by the transport that feeds it and the coordinators that
/// read deadlines from it.
public final class LatencyTracker: Sendable {
    private let state: Mutex<PeerLatency>
    /// Monotonic microseconds (virtual in the deterministic simulation).
    let nowUs: @Sendable () -> Int64

    public init(config: PeerLatency.Config = PeerLatency.Config(), nowUs: @escaping @Sendable () -> Int64) {
        state = Mutex(PeerLatency(config: config))
        self.nowUs = nowUs
    }

    public func observe(_ peer: String, _ kind: PeerLatency.Kind, sinceUs start: Int64) {
        let now = nowUs()
        let rttMs = Double(now - start) / 1000
        state.withLock { $0.observe(peer, kind, rttMs: rttMs, atUs: now) }
    }

    /// A round trip measured elsewhere (a gossip probe's ack), in ms.
    public func observe(_ peer: String, _ kind: PeerLatency.Kind, rttMs: Double) {
        let now = nowUs()
        state.withLock { $0.observe(peer, kind, rttMs: rttMs, atUs: now) }
    }

    public func heard(_ peer: String) {
        let now = nowUs()
        state.withLock { $0.heard(peer, atUs: now) }
    }

    /// The replicas with gossip's liveness corrected by direct evidence: a node that gossip
    /// calls down but that answered an RPC within the last `withinMs` is up.
    func correcting(_ replicas: [QuorumReplica], withinMs: Int64 = 1_000) -> [QuorumReplica] {
        guard replicas.contains(where: { !$0.isUp }) else { return replicas }
        let since = nowUs() - withinMs * 1000
        return state.withLock { l in
            replicas.map { r in r.isUp || !l.answered(r.node, sinceUs: since) ? r : QuorumReplica(node: r.node, role: r.role, isUp: true) }
        }
    }

    public func missed(_ peer: String) { state.withLock { $0.missed(peer) } }

    public func deadlineMs(_ peer: String, _ kind: PeerLatency.Kind) -> Int { state.withLock { $0.deadlineMs(peer, kind) } }

    public func isDeprioritized(_ peer: String) -> Bool { state.withLock { $0.isDeprioritized(peer) } }

    /// A copy of every estimate, for INFO and /metrics.
    public var snapshot: PeerLatency { state.withLock { $0 } }
}

/// A `PeerTransport` that times every request it passes on, once, and feeds `LatencyTracker`
/// and the RPC metrics (`observer`, when the node has a registry):
/// an answer (also a remote error: the peer is alive) is a round trip, a timeout or a lost
/// or refused connection is a miss. Only requests of one hop and bounded size are samples
/// (replica reads and writes, pings, forwarded writes); the rest only say the peer answered.
final class MeasuredTransport: PeerTransport, @unchecked Sendable {
    let inner: PeerTransport
    let tracker: LatencyTracker
    let observer: PeerRPCObserver?

    init(_ inner: PeerTransport, tracker: LatencyTracker, observer: PeerRPCObserver? = nil) {
        self.inner = inner
        self.tracker = tracker
        self.observer = observer
    }

    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        let start = tracker.nowUs()
        let startNs = observer == nil ? 0 : MonotonicClock.nowNs()
        let kind: PeerLatency.Kind? = switch type {
        case .replicaWrite, .replicaRead, .ping: .replica
        case .forwardWrite: .forward
        default: nil
        }
        let (tracker, observer) = (self.tracker, self.observer)
        inner.send(to: node, type: type, payload: payload, timeoutMs: timeoutMs) { result in
            switch result {
            case .success, .failure(.remote), .failure(.unknownMessageType), .failure(.overloaded):
                // An answer; a sample only for the request kinds whose time means something.
                if let kind { tracker.observe(node, kind, sinceUs: start) } else { tracker.heard(node) }
            case .failure(.timeout), .failure(.connectionLost), .failure(.unreachable):
                tracker.missed(node)
            case .failure(.authenticationFailed), .failure(.frameTooLarge), .failure(.shutdown):
                break
            }
            observer?.observe(node: node, type: type, result: result, startNs: startNs)
            completion(result)
        }
    }
}
