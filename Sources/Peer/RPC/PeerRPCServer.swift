import Foundation
import Net
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One request as the server's handler sees it.
public struct RPCRequest: Sendable {
    /// The caller's node id (from the handshake; proven when `authenticated`).
    public var from: String
    public var authenticated: Bool
    public var type: PeerMessageType
    public var requestID: UInt64
    public var payload: [UInt8]
    /// When the caller gives up; nil when it sent no budget. Work past it is wasted.
    public var deadline: RPCDeadline?
    /// A one-way message: `respond` does nothing.
    public var isOneWay: Bool
}

/// Answers one request. Call it once, from any thread, now or later; later calls are
/// ignored. An answer after the request's deadline is dropped (and counted).
public typealias RPCRespond = @Sendable (Result<[UInt8], RPCError>) -> Void

/// The server's request handler. It runs on the connection's event loop, so it must not
/// block: slow work goes to the node's own queues and answers through `respond` later.
/// Until it returns, that loop serves nothing else.
public typealias PeerRPCHandler = @Sendable (RPCRequest, @escaping RPCRespond) -> Void

/// The peer RPC listener: accepts peers on host:peerPort, runs the handshake, reads frames
/// and hands requests to the handler.
///
/// Threading: one accept thread; each connection's handshake on a short-lived thread of its
/// own, then the connection lives on one of the event loops (`loops`), which reads its
/// frames and runs the handler. Connections are bounded by `config.maxConnections` (past it
/// they are closed at accept and counted).
/// Strangers get a small budget (issue 14, slowloris): at most `config.maxHandshaking`
/// connections are in their handshake at once, `maxHandshakingPerAddress` from one address,
/// each for at most `handshakeTimeoutMs` in all and with a 1 KiB frame bound; only after
/// the handshake does a connection get the full frame bound. Without a cluster secret, one
/// address is served at most `maxUnauthenticatedPerAddress` connections.
/// Responses may come from any thread; they are queued on the connection's loop and leave
/// in any order, those of one loop iteration in one send. `stop()` closes everything and
/// waits for the handshake threads to exit.
public final class PeerRPCServer: @unchecked Sendable {
    public let config: PeerRPCConfig
    public let counters: RPCCounters
    let handler: PeerRPCHandler
    private let listener: Socket
    /// The bound port (useful when started with port 0).
    public let port: UInt16
    private let state = Mutex(State())
    private let threads = DispatchGroup()

    private struct State {
        var connections: [ObjectIdentifier: PeerRPCServerConnection] = [:]
        var stopped = false
        /// Connections in their handshake, in all and per remote host.
        var handshaking = 0
        var handshakingByHost: [String: Int] = [:]
        /// Connections served without authentication, per remote host.
        var unauthenticatedByHost: [String: Int] = [:]
    }

    /// The loops served connections live on; `ownsLoops`: made here, stopped by `stop`.
    let loops: LoopGroup
    private let ownsLoops: Bool

    /// Binds host:port (port 0 = ephemeral) and starts accepting. `loops`: the node's event
    /// loops (nil: one of the server's own).
    public init(config: PeerRPCConfig, port: UInt16, counters: RPCCounters = RPCCounters(), loops: LoopGroup? = nil,
                handler: @escaping PeerRPCHandler) throws(RPCError) {
        self.config = config
        self.counters = counters
        self.handler = handler
        do {
            (self.loops, ownsLoops) = try LoopGroup.given(loops, orOwn: "rpc-server")
            if ownsLoops { try self.loops.start() }
        } catch {
            throw .unreachable("cannot start the peer RPC server's event loop: \(error)")
        }
        do {
            // Blocking: the accept thread waits in accept(); stop() wakes it with shutdown.
            let address = try SocketAddress(host: config.host, port: port)
            (listener, self.port) = try { () throws(SocketError) in
                let (s, bound) = try Socket.listenTCP(address, backlog: 128, nonBlocking: false)
                return (s, bound.port)
            }()
        } catch {
            if ownsLoops { self.loops.stop() }
            throw .unreachable("cannot listen for peers on \(config.host):\(port): \(error)")
        }
        threads.enter()
        let t = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        t.name = "rpc-accept"
        t.start()
    }

    deinit { stop() }

    /// Live connections (handshaking or serving).
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Remote addresses of live connections, as the kernel reports them (getpeername).
    public var connectionPeerAddresses: [String] {
        state.withLock { $0.connections.values.map { "\($0.remote.host):\($0.remote.port)" } }
    }

    /// Closes the listener and every connection, then waits (bounded) for the threads.
    public func stop() {
        let conns: [PeerRPCServerConnection]? = state.withLock { s in
            guard !s.stopped else { return nil }
            s.stopped = true
            return Array(s.connections.values)
        }
        guard let conns else { return }
        // Shut down (wakes accept), and close only here: the accept thread never closes
        // it, so no one can touch a reused descriptor number.
        listener.shutdown()
        for c in conns { c.close() }
        _ = threads.wait(timeout: .now() + .seconds(10))
        listener.close()
        if ownsLoops { loops.stop() }
    }

    /// Called by a connection whose handshake ended: frees its handshake slot, and says
    /// whether it may be served (false: its address already has its share of
    /// unauthenticated connections).
    func handshakeFinished(_ conn: PeerRPCServerConnection, authenticated: Bool) -> Bool {
        state.withLock { s in
            s.handshaking -= 1
            PeerRPCServer.release(conn.remote.host, from: &s.handshakingByHost)
            if authenticated { conn.stage = .serving; return true }
            guard s.unauthenticatedByHost[conn.remote.host, default: 0] < config.maxUnauthenticatedPerAddress else {
                conn.stage = .closed
                return false
            }
            s.unauthenticatedByHost[conn.remote.host, default: 0] += 1
            conn.stage = .servingUnauthenticated
            return true
        }
    }

    /// A connection ended (in its handshake, or on its loop): frees its budget.
    private func forget(_ conn: PeerRPCServerConnection) {
        state.withLock { s in
            guard s.connections.removeValue(forKey: ObjectIdentifier(conn)) != nil else { return }
            if conn.stage == .handshaking {
                s.handshaking -= 1
                PeerRPCServer.release(conn.remote.host, from: &s.handshakingByHost)
            }
            if conn.stage == .servingUnauthenticated { PeerRPCServer.release(conn.remote.host, from: &s.unauthenticatedByHost) }
        }
    }

    private static func release(_ host: String, from byHost: inout [String: Int]) {
        let left = byHost[host, default: 1] - 1
        byHost[host] = left > 0 ? left : nil
    }

    private func acceptLoop() {
        while true {
            let fd: Socket
            let remote: SocketAddress
            switch listener.accept() {
            case .closed: return
            case .exhausted, .wouldBlock:
                // Out of descriptors or memory for now: wait a moment and accept again.
                if state.withLock({ $0.stopped }) { return }
                usleep(10_000)
                continue
            case .connection(let accepted, let from):
                fd = accepted
                remote = from
            }
            let host = remote.host
            var overHandshakeBudget = false
            let conn: PeerRPCServerConnection? = state.withLock { s in
                guard !s.stopped, s.connections.count < config.maxConnections else { return nil }
                guard s.handshaking < config.maxHandshaking, s.handshakingByHost[host, default: 0] < config.maxHandshakingPerAddress else {
                    overHandshakeBudget = true
                    return nil
                }
                s.handshaking += 1
                s.handshakingByHost[host, default: 0] += 1
                let c = PeerRPCServerConnection(connection: fd, remote: remote, server: self)
                s.connections[ObjectIdentifier(c)] = c
                return c
            }
            guard let conn else {
                let stopped = state.withLock { $0.stopped }
                if !stopped {
                    if overHandshakeBudget { RPCCounters.add(counters.handshakesRefused) } else { RPCCounters.add(counters.connectionsRefused) }
                }
                fd.setAbortiveClose()
                fd.close()
                if stopped { return }
                continue
            }
            threads.enter()
            let loop = loops.pick()
            let t = Thread { [self] in
                // The handshake blocks (bounded by its deadline) on this short-lived thread;
                // a connection that passes it moves to a loop and ends there.
                let ended: @Sendable () -> Void = { [self] in forget(conn) }
                if !conn.run(loop: loop, onClosed: ended) { forget(conn) }
                threads.leave()
            }
            t.name = "rpc-handshake"
            t.start()
        }
    }
}
