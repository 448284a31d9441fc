/// Settings shared by a node's RPC server and client. Every queue, frame and retry is bounded here.
public struct PeerRPCConfig: Sendable {
    /// This node's id, sent in the handshake (1 to 255 bytes of UTF-8).
    public var nodeID: String
    /// This node's --host: the server listens on it and every outgoing connection binds
    /// to it before connecting, so traffic between two peers can be cut by address pair.
    public var host: String
    /// The cluster secret; nil or empty = none (connections are served unauthenticated).
    public var secret: [UInt8]?
    /// Bound on one frame, header included, both directions.
    public var maxFrameBytes = FrameFormat.defaultMaxFrameBytes
    /// Server: at most this many connections (one reader thread each); more are closed at accept.
    public var maxConnections = 256
    /// Bound on the whole handshake (server: from accept to the accept frame sent; client:
    /// each step's wait). A peer that has not proved itself by then is cut.
    public var handshakeTimeoutMs = 2_000
    /// Server: connections still in their handshake at once (each holds a thread), in all
    /// and from one remote address; more are closed at accept. Real peers handshake in
    /// about a round trip, so these slots free quickly; a slow or idle stranger holds one
    /// for at most `handshakeTimeoutMs` and cannot take the others'.
    public var maxHandshaking = 64
    public var maxHandshakingPerAddress = 4
    /// Server: connections from one remote address served without authentication (no
    /// cluster secret) at once; a real peer keeps `connectionsPerPeer` to each server.
    public var maxUnauthenticatedPerAddress = 16
    /// Bound on a handshake frame: before a peer has proved the secret it can make this
    /// node buffer no more than this (a client hello is under 400 bytes).
    public static let maxHandshakeFrameBytes = 1_024
    /// A blocked write longer than this closes the connection (peer stopped reading).
    public var sendTimeoutMs = 10_000
    public var connectTimeoutMs = 1_000
    /// Client: connections kept per peer; the second opens only under load.
    public var connectionsPerPeer = 2
    /// Bytes queued on one connection and not yet taken by the kernel past which it is
    /// dropped (its requests fail with connectionLost): a peer that stops reading.
    public var maxQueuedBytesPerConnection = 256 << 20
    /// Client: a connection with this many requests in flight asks for another one.
    public var inFlightPerConnectionBeforeSpreading = 32
    /// Client: requests queued or in flight per peer; more fail with `.overloaded`.
    public var maxOutstandingPerPeer = 4_096
    /// Client: reconnect backoff after a failed connect, doubling from base to max, jittered.
    public var backoffBaseMs = 50
    public var backoffMaxMs = 2_000
    /// Client: the timeout of requests sent without one.
    public var defaultTimeoutMs = 5_000
    /// Client: how often the deadline scan runs; a timeout fires at most this late.
    public var deadlineScanIntervalMs = 5

    public init(nodeID: String, host: String, secret: [UInt8]? = nil) {
        self.nodeID = nodeID
        self.host = host
        self.secret = secret
    }
}
