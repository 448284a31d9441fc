import Synchronization

/// Peer RPC counters, shared by a node's server and client; lock-free, read any time.
public final class RPCCounters: Sendable {
    let framesSent = Atomic<Int>(0)
    let framesReceived = Atomic<Int>(0)
    let bytesSent = Atomic<Int>(0)
    let bytesReceived = Atomic<Int>(0)
    let authFailures = Atomic<Int>(0)
    let unauthenticatedConnections = Atomic<Int>(0)
    let decodeErrors = Atomic<Int>(0)
    let connects = Atomic<Int>(0)
    let connectFailures = Atomic<Int>(0)
    let reconnects = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let connectionsLost = Atomic<Int>(0)
    let overloaded = Atomic<Int>(0)
    let connectionsRefused = Atomic<Int>(0)
    let lateResponsesDropped = Atomic<Int>(0)
    let handshakesRefused = Atomic<Int>(0)
    let handshakeTimeouts = Atomic<Int>(0)

    public init() {}

    /// A consistent-enough copy for /metrics and tests (each field read atomically).
    public struct Snapshot: Sendable, Equatable {
        public var framesSent = 0
        public var framesReceived = 0
        public var bytesSent = 0
        public var bytesReceived = 0
        /// Handshakes that failed: wrong/missing secret or malformed handshake, either end.
        public var authFailures = 0
        /// Connections accepted without a cluster secret on either end.
        public var unauthenticatedConnections = 0
        /// Connections closed because their byte stream was not valid frames.
        public var decodeErrors = 0
        /// Client connections established (handshake done).
        public var connects = 0
        /// Client connect or handshake attempts that failed.
        public var connectFailures = 0
        /// Client connections established after an earlier one to the same peer was lost or failed.
        public var reconnects = 0
        /// Requests completed with `.timeout`.
        public var timeouts = 0
        /// Established connections that dropped.
        public var connectionsLost = 0
        /// Requests refused with `.overloaded` (queue full here or the peer refused).
        public var overloaded = 0
        /// Incoming connections closed at once because the server was at its bound.
        public var connectionsRefused = 0
        /// Responses a handler produced after its caller's deadline; not sent.
        public var lateResponsesDropped = 0
        /// Incoming connections closed at accept: too many handshakes at once, in all or
        /// from their address (PeerRPCConfig.maxHandshaking, maxHandshakingPerAddress).
        public var handshakesRefused = 0
        /// Handshakes cut because they did not finish within `handshakeTimeoutMs`.
        public var handshakeTimeouts = 0
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            framesSent: framesSent.load(ordering: .relaxed), framesReceived: framesReceived.load(ordering: .relaxed),
            bytesSent: bytesSent.load(ordering: .relaxed), bytesReceived: bytesReceived.load(ordering: .relaxed),
            authFailures: authFailures.load(ordering: .relaxed),
            unauthenticatedConnections: unauthenticatedConnections.load(ordering: .relaxed),
            decodeErrors: decodeErrors.load(ordering: .relaxed), connects: connects.load(ordering: .relaxed),
            connectFailures: connectFailures.load(ordering: .relaxed), reconnects: reconnects.load(ordering: .relaxed),
            timeouts: timeouts.load(ordering: .relaxed), connectionsLost: connectionsLost.load(ordering: .relaxed),
            overloaded: overloaded.load(ordering: .relaxed), connectionsRefused: connectionsRefused.load(ordering: .relaxed),
            lateResponsesDropped: lateResponsesDropped.load(ordering: .relaxed),
            handshakesRefused: handshakesRefused.load(ordering: .relaxed),
            handshakeTimeouts: handshakeTimeouts.load(ordering: .relaxed))
    }

    @inline(__always) static func add(_ a: borrowing Atomic<Int>, _ n: Int = 1) { a.add(n, ordering: .relaxed) }
}
