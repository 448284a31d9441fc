import Synchronization

/// Records each peer RPC's outcome; `MeasuredTransport`, which times every RPC once for
/// the latency estimates too, calls it.
public protocol PeerRPCObserver: Sendable {
    /// `startNs`: `MonotonicClock.nowNs()` when the request was sent.
    func observe(node: String, type: PeerMessageType, result: Result<[UInt8], RPCError>, startNs: UInt64)
}

/// The peer RPC metric families: `chorus_peer_rpc_duration_seconds{peer,type}` for requests
/// the peer answered (with a result or its own error), and
/// `chorus_peer_rpc_requests_total{peer,type,outcome}` for all of them (outcome: ok,
/// remote_error, timeout, connection_lost, overloaded, unreachable, auth_failed, too_large,
/// shutdown, unknown_type).
///
/// Per request: one lookup of (peer, type) under a lock held for a dictionary read (the
/// children are created once per pair), one clock read and relaxed atomic adds. Peers are
/// node ids from the ring, a bounded set.
public final class PeerRPCMetrics: PeerRPCObserver, @unchecked Sendable {
    private let durations: MetricFamily<MetricHistogram>
    private let requests: MetricFamily<MetricCounter>
    private let children = Mutex<[Key: PeerRPCStats]>([:])

    struct Key: Hashable {
        let peer: String
        let type: PeerMessageType
    }

    public init(registry: MetricsRegistry) {
        durations = registry.histogram("chorus_peer_rpc_duration_seconds",
                                       help: "Round trip of peer RPCs this node sent and the peer answered, by peer and message type.",
                                       labels: ["peer", "type"], buckets: MetricHistogram.latencyBuckets)
        requests = registry.counter("chorus_peer_rpc_requests_total",
                                    help: "Peer RPCs this node sent, by peer, message type and outcome.",
                                    labels: ["peer", "type", "outcome"])
    }

    public func observe(node: String, type: PeerMessageType, result: Result<[UInt8], RPCError>, startNs: UInt64) {
        stats(Key(peer: node, type: type)).record(result, startNs: startNs)
    }

    private func stats(_ key: Key) -> PeerRPCStats {
        if let s = children.withLock({ $0[key] }) { return s }
        let type = PeerRPCMetrics.label(key.type)
        let requests = self.requests
        let created = PeerRPCStats(duration: durations.labels(key.peer, type)) { requests.labels(key.peer, type, $0) }
        return children.withLock { map in
            if let s = map[key] { return s }
            map[key] = created
            return created
        }
    }

    /// `replicaWrite` -> `replica_write`.
    static func label(_ type: PeerMessageType) -> String {
        var out = ""
        for ch in String(describing: type) {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}

/// The metrics of one (peer, message type) pair. Failure counters are looked up in the
/// family when a failure happens (rare), so a healthy pair renders two lines, not ten.
final class PeerRPCStats: Sendable {
    let duration: MetricHistogram
    let ok: MetricCounter
    let counter: @Sendable (String) -> MetricCounter

    init(duration: MetricHistogram, counter: @escaping @Sendable (String) -> MetricCounter) {
        self.duration = duration
        self.counter = counter
        ok = counter("ok")
    }

    func record(_ result: Result<[UInt8], RPCError>, startNs: UInt64) {
        switch result {
        case .success:
            duration.observeSince(startNs)
            ok.increment()
        case .failure(let error):
            switch error {
            case .remote, .unknownMessageType: duration.observeSince(startNs)
            default: break
            }
            counter(PeerRPCStats.outcome(error)).increment()
        }
    }

    static func outcome(_ error: RPCError) -> String {
        switch error {
        case .remote: return "remote_error"
        case .unknownMessageType: return "unknown_type"
        case .timeout: return "timeout"
        case .connectionLost: return "connection_lost"
        case .overloaded: return "overloaded"
        case .unreachable: return "unreachable"
        case .authenticationFailed: return "auth_failed"
        case .frameTooLarge: return "too_large"
        case .shutdown: return "shutdown"
        }
    }
}
