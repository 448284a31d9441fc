// Settings of the RESP client server. Every buffer and queue here has a bound.

/// Where the RESP server listens and the bounds it enforces per connection.
public struct RESPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port (see `RESPServer.port`).
    public var port: UInt16 = 6380
    public var backlog: Int32 = 511
    /// Open client connections; one more gets `-ERR max number of clients reached` and is closed.
    public var maxConnections: Int = 10_000
    /// A connection with no input, no command in flight and nothing to write for this long is
    /// closed. 0 = never.
    public var idleTimeoutMs: Int = 0
    /// Parser bounds (bulk, array, inline line, command size).
    public var limits: RESPLimits = RESPLimits()
    /// Commands handed to the handler and not yet answered, per connection. At the bound the
    /// server stops parsing and reading that connection until replies come back.
    public var maxCommandsInFlight: Int = 1024
    /// Unsent reply bytes at which the server stops reading that connection (the client is
    /// not reading its replies); reading resumes once the backlog is written.
    public var outputPauseBytes: Int = 1 << 20
    /// Unsent reply bytes at which the connection is closed (a reply in flight can overshoot
    /// the pause bound by at most what the in-flight commands produce).
    public var maxOutputBytes: Int = 128 << 20
    /// Bytes read per recv() call.
    public var readChunkBytes: Int = 64 << 10
    /// Event loop threads; connections are spread round-robin. 1 is right on 2 cores.
    public var loopCount: Int = 1
    /// After `shutdown`, how long in-flight commands get to answer before connections are cut.
    public var shutdownGraceMs: Int = 5000

    public init() {}

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}
