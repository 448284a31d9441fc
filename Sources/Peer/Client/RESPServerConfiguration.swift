// Settings of the RESP client server. Every buffer and queue here has a bound.

import Net

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
    /// The handler refuses every command but AUTH until the connection authenticates
    /// (requirepass). A stranger then gets a small budget: at most `preAuthMaxBufferBytes` of
    /// buffered input (a bigger frame closes the connection with an error), and
    /// `authTimeoutMs` to authenticate before it is closed.
    public var requiresAuth = false
    public var preAuthMaxBufferBytes = 64 << 10
    public var authTimeoutMs = 10_000
    /// Most keys one MGET, MSET, DEL or EXISTS may name (RESPCommandBounds.swift); 0 = no bound.
    public var maxKeysPerCommand = 10_000
    /// Parser bounds (bulk, array, inline line, command size).
    public var limits: RESPLimits = RESPLimits()
    /// Commands handed to the handler and not yet answered, per connection. At the bound the
    /// server stops parsing and reading that connection until replies come back.
    /// 128: a command's reply cannot be sized before it runs, so this (times the largest
    /// reply) is what a client that does not read can make the server hold; at 1,024, three
    /// such clients GETting 100 KB values held 640 MB (scripts/suites/hostile.sh).
    public var maxCommandsInFlight: Int = 128
    /// Commands of all connections together parsed and not yet answered (queued for the
    /// engine, waiting on a forward or a quorum). At the bound every connection stops parsing
    /// and reading until replies free room: backpressure, never an error
    /// (ClientRequestBudget.swift). 10,000: 78 clients pipelining at the per-connection bound.
    public var maxQueuedCommands: Int = 10_000
    /// Unsent reply bytes at which the server stops reading that connection (the client is
    /// not reading its replies); reading resumes once the backlog is written.
    public var outputPauseBytes: Int = 1 << 20
    /// Reply bytes held for a connection (unsent, and finished early but waiting for an
    /// earlier reply) past which it is closed: a client that does not read its replies
    /// costs at most this, and others are unharmed (Redis's client-output-buffer-limit).
    public var maxOutputBytes: Int = 128 << 20
    /// A connection holding at least `outputPauseBytes` of replies that has taken none of
    /// them for this long is closed: a client that does not read is disconnected long before
    /// it reaches `maxOutputBytes`, one that reads slowly is not (Redis's soft
    /// client-output-buffer-limit with its seconds). 0 = never.
    public var stalledReaderTimeoutMs: Int = 10_000
    /// Bytes read per recv() call.
    public var readChunkBytes: Int = 64 << 10
    /// Event loop threads; connections are spread round-robin. 1 is right on 2 cores.
    public var loopCount: Int = 1
    /// Loops shared with the rest of the node (peer RPC): used instead of `loopCount` loops of
    /// the server's own. They must not be running yet at `start` (the server registers its
    /// listener and hooks first); their owner starts and stops them.
    public var loops: LoopGroup?
    /// After `shutdown`, how long in-flight commands get to answer before connections are cut.
    public var shutdownGraceMs: Int = 5000

    public init() {}

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}
