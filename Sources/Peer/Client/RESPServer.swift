// The RESP2 client server: a TCP listener on loop 0 and `loopCount` epoll loops that own
// connections. See RESPCommandHandler.swift for the handler contract and
// RESPServerConnection.swift for the per-connection invariants.
//
// Life cycle: init → start() (binds; throws if the port is taken) → ... → shutdown() (from any
// thread but a loop's: stops accepting, lets in-flight commands answer for
// `shutdownGraceMs`, writes what is pending, closes everything, joins the threads).

#if canImport(Glibc)
import Glibc
#endif
import Net
import Dispatch
import Synchronization

/// Counters of the client server (for /metrics).
public struct RESPServerStats: Sendable, Equatable {
    public var connections: Int
    public var acceptedTotal: Int
    public var rejectedTotal: Int
    public var protocolErrorsTotal: Int
    public var idleClosedTotal: Int
    /// Connections closed because their client stopped reading its replies.
    public var stalledReadersClosedTotal: Int = 0
}

/// The server's counters, shared by its loops (atomics: any thread).
final class RESPServerCounters: Sendable {
    let connections = Atomic<Int>(0)
    let acceptedTotal = Atomic<Int>(0)
    let rejectedTotal = Atomic<Int>(0)
    let protocolErrorsTotal = Atomic<Int>(0)
    let idleClosedTotal = Atomic<Int>(0)
    let stalledReadersClosedTotal = Atomic<Int>(0)
    let nextConnectionID = Atomic<UInt64>(1)

    var snapshot: RESPServerStats {
        RESPServerStats(connections: connections.load(ordering: .relaxed),
                        acceptedTotal: acceptedTotal.load(ordering: .relaxed),
                        rejectedTotal: rejectedTotal.load(ordering: .relaxed),
                        protocolErrorsTotal: protocolErrorsTotal.load(ordering: .relaxed),
                        idleClosedTotal: idleClosedTotal.load(ordering: .relaxed),
                        stalledReadersClosedTotal: stalledReadersClosedTotal.load(ordering: .relaxed))
    }
}

/// A RESP2 server over epoll; hands commands to a `RESPCommandHandler`.
public final class RESPServer: @unchecked Sendable {
    public let configuration: RESPServerConfiguration
    private let handler: RESPCommandHandler
    private var shards: [RESPServerShard] = []
    private var listener: RESPServerListener?
    private var boundAddress: SocketAddress?
    private let state = Mutex<Int>(0) // 0 new, 1 running, 2 stopped
    private let counters = RESPServerCounters()
    /// Commands of all connections parsed and not yet answered (`maxQueuedCommands`).
    public let budget: ClientRequestBudget
    /// Entered once per shard at start, left when the shard has drained at shutdown.
    private let drained = DispatchGroup()
    /// The loops of the server's own (`configuration.loops` nil), stopped once drained.
    private var ownLoops: LoopGroup?

    public init(configuration: RESPServerConfiguration, handler: RESPCommandHandler) {
        self.configuration = configuration
        self.handler = handler
        self.budget = ClientRequestBudget(limit: configuration.maxQueuedCommands)
    }

    /// The bound port (the ephemeral one when the configuration asked for 0); 0 before start.
    public var port: UInt16 { boundAddress?.port ?? 0 }

    /// The bound address; nil before start.
    public var address: SocketAddress? { boundAddress }

    public var stats: RESPServerStats { counters.snapshot }

    /// A server dropped without `shutdown` still stops its threads.
    deinit { shutdown() }

    /// Binds and starts the loops.
    public func start() throws(SocketError) {
        let fresh = state.withLock { value -> Bool in
            guard value == 0 else { return false }
            value = 1
            return true
        }
        precondition(fresh, "RESPServer started twice")
        let address = try SocketAddress(host: configuration.host, port: configuration.port)
        let (listenSocket, bound) = try Socket.listenTCP(address, backlog: configuration.backlog)
        boundAddress = bound
        var own: LoopGroup?
        do throws(SocketError) {
            let (group, owned) = try LoopGroup.given(configuration.loops, orOwn: "resp", count: configuration.loopCount)
            if owned { own = group }
            let loops = group.loops
            for loop in loops {
                let shard = RESPServerShard(loop: loop, configuration: configuration, handler: handler,
                                            counters: counters, budget: budget)
                shard.onDrained = { [drained] in drained.leave() }
                drained.enter()
                shards.append(shard)
            }
            let all = shards
            let wake: @Sendable () -> Void = {
                for shard in all { shard.loop.execute { shard.resumeBudgetWaiters() } }
            }
            for shard in shards { shard.wakeAllLoops = wake }
            let listener = RESPServerListener(socket: listenSocket, shards: shards, counters: counters,
                                              maxConnections: configuration.maxConnections)
            try loops[0].register(fd: listenSocket.fd, events: EventLoop.readable, handler: listener)
            self.listener = listener
            // Weak: shared loops outlive the server's shutdown, which drops the listener.
            loops[0].addTick(intervalMs: 100) { [weak listener] now in listener?.tick(nowMs: now) }
            // Started only now that the listener and the shards' hooks are registered.
            try own?.start()
            ownLoops = own
        } catch {
            listenSocket.close()
            own?.stop()
            state.withLock { $0 = 2 }
            throw error
        }
    }

    /// Stops accepting, drains and closes every connection, and joins the loop threads.
    /// Idempotent; must not be called from a loop thread (e.g. inside `handle`).
    public func shutdown() {
        let running = state.withLock { value -> Bool in
            guard value == 1 else { value = 2; return false }
            value = 2
            return true
        }
        guard running else { return }
        if let listener {
            shards[0].loop.execute { listener.close() }
        }
        let grace = configuration.shutdownGraceMs
        for shard in shards {
            shard.loop.execute { shard.beginShutdown(graceMs: grace) }
        }
        // Connections past the grace are cut on the shards' next tick, so this is bounded.
        // Shared loops go on after it (peer RPC lives there too); the server's own stop.
        _ = drained.wait(timeout: .now() + .milliseconds(grace + 5_000))
        ownLoops?.stop()
        listener = nil
    }
}

/// The listening socket on loop 0: accepts in batches; backs off briefly when out of fds.
/// Loop-0 thread only.
final class RESPServerListener: EventLoopHandler, @unchecked Sendable {
    private let socket: Socket
    /// False once closed.
    private var isOpen = true
    private let shards: [RESPServerShard]
    private let counters: RESPServerCounters
    private let maxConnections: Int
    private let loop: EventLoop
    private var pausedUntilMs: Int64 = 0
    /// A descriptor held in reserve: when accept fails for want of descriptors, it is
    /// closed so that one waiting client can be accepted, told
    /// `-ERR max number of clients reached` and closed, then it is taken again. Without it
    /// such clients would wait in the backlog with no answer.
    private var spareFD: Int32 = RESPServerListener.openSpare()

    private static func openSpare() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }
    /// Round-robin cursor over the shards.
    private var nextShard = 0

    init(socket: Socket, shards: [RESPServerShard], counters: RESPServerCounters, maxConnections: Int) {
        self.socket = socket
        self.shards = shards
        self.counters = counters
        self.maxConnections = maxConnections
        self.loop = shards[0].loop
    }

    /// A new socket from accept(): reject it at the bound, else give it to a loop.
    private func accepted(_ client: Socket, remote: String) {
        if counters.connections.load(ordering: .relaxed) >= maxConnections {
            refuse(client)
            return
        }
        counters.connections.add(1, ordering: .relaxed)
        counters.acceptedTotal.add(1, ordering: .relaxed)
        try? client.setNoDelay()
        let id = counters.nextConnectionID.add(1, ordering: .relaxed).oldValue
        let shard = shards[nextShard % shards.count]
        nextShard &+= 1
        if shard.loop.inLoop {
            shard.adopt(client, id: id, remote: remote)
        } else {
            shard.loop.execute { shard.adopt(client, id: id, remote: remote) }
        }
    }

    /// Tells a client there is no room for it and closes it.
    /// The client is non-blocking, so the one write cannot stall the loop.
    private func refuse(_ client: Socket) {
        let message: [UInt8] = Array("-ERR max number of clients reached\r\n".utf8)
        _ = message.withUnsafeBytes { try? client.write($0) }
        client.close()
        counters.rejectedTotal.add(1, ordering: .relaxed)
    }

    func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            switch socket.accept(nonBlocking: true) {
            case .connection(let client, let remote):
                accepted(client, remote: remote.description)
            case .wouldBlock, .closed:
                return
            case .exhausted(let code) where (code == EMFILE || code == ENFILE) && spareFD >= 0:
                Glibc.close(spareFD)
                let retry = socket.accept(nonBlocking: true)
                spareFD = RESPServerListener.openSpare()
                if case .connection(let refused, _) = retry {
                    refuse(refused)
                    continue
                }
                pause()
                return
            case .exhausted:
                pause()
                return
            }
        }
    }

    /// Level-triggered: without a pause the loop would spin on the full backlog.
    private func pause() {
        loop.modify(fd: socket.fd, events: 0)
        pausedUntilMs = EventLoop.nowMs() + 100
    }

    func tick(nowMs: Int64) {
        if isOpen && pausedUntilMs != 0 && nowMs >= pausedUntilMs {
            pausedUntilMs = 0
            loop.modify(fd: socket.fd, events: EventLoop.readable)
        }
    }

    func close() {
        if spareFD >= 0 {
            Glibc.close(spareFD)
            spareFD = -1
        }
        guard isOpen else { return }
        loop.unregister(fd: socket.fd)
        socket.close()
        isOpen = false
    }
}
