import Foundation
import Gossip
import Net
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The client's connections to one peer address: up to `connectionsPerPeer`, opened lazily
/// (the first on the first request, another when the open ones are busy), each leaving
/// from this node's --host address.
///
/// Requests that arrive while the first connection is being set up wait in a bounded
/// queue; with `maxOutstandingPerPeer` queued or in flight, more fail with `.overloaded`.
/// A failed connect fails the queue with the reason and starts a backoff (exponential,
/// jittered, bounded); during it requests fail fast with `.unreachable`, so a coordinator
/// moves on to the next replica instead of waiting. The first request after the backoff
/// tries again. A dropped connection fails its in-flight requests with `.connectionLost`;
/// the next request reconnects.
///
/// Connections live on the event loops (`loops`): a request sent from a loop goes out on
/// that loop's connection to the peer when there is one (so its frame, its answer and what
/// the answer triggers stay on one thread), and the first request from a loop without one
/// opens it, up to `connectionsPerPeer`.
///
/// Threading: all state behind one `Mutex`, never held while connecting, writing or
/// completing a request. Connect and handshake run on a short-lived thread per attempt
/// (at most one at a time per peer).
final class ConnectionPool: @unchecked Sendable {
    let peer: Endpoint
    private let config: PeerRPCConfig
    private let counters: RPCCounters
    private let loops: LoopGroup
    private let state: Mutex<State>

    private struct State {
        var connections: [PeerRPCConnection] = []
        var connecting = false
        var queue: [RPCPending] = []
        var backoff: RPCBackoff
        var retryAt: RPCDeadline?
        var lastError: RPCError?
        /// The last connection was lost or the last attempt failed, so the next one
        /// established counts as a reconnect.
        var nextIsReconnect = false
        var closed = false
        /// The loop the connection being set up will live on.
        var connectingFor: EventLoop?
    }

    init(peer: Endpoint, config: PeerRPCConfig, counters: RPCCounters, loops: LoopGroup) {
        self.peer = peer
        self.config = config
        self.counters = counters
        self.loops = loops
        state = Mutex(State(backoff: RPCBackoff(baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs)))
    }

    /// Where a submitted request went.
    private enum Route {
        case send(PeerRPCConnection, spread: Bool)
        case queued(startConnect: Bool)
        case fail(RPCError)
    }

    /// Takes ownership of `p`: it completes exactly once, whatever happens.
    func submit(_ p: RPCPending) {
        let now = RPCDeadline.now()
        let here = loops.current
        let route = state.withLock { s -> Route in
            if s.closed { return .fail(.shutdown) }
            let inFlight = s.connections.reduce(0) { $0 + $1.inFlightCount }
            if s.queue.count + inFlight >= config.maxOutstandingPerPeer { return .fail(.overloaded) }
            if let here, let mine = s.connections.first(where: { $0.loop === here }) { return .send(mine, spread: false) }
            if let best = s.connections.min(by: { $0.inFlightCount < $1.inFlightCount }) {
                // A loop without a connection to this peer gets one (up to the bound), so
                // its requests stop hopping to another loop's thread.
                let spread = !s.connecting && s.connections.count < config.connectionsPerPeer
                    && (here != nil || best.inFlightCount >= config.inFlightPerConnectionBeforeSpreading)
                if spread {
                    s.connecting = true
                    s.connectingFor = here
                }
                return .send(best, spread: spread)
            }
            if s.connecting {
                s.queue.append(p)
                return .queued(startConnect: false)
            }
            if let retryAt = s.retryAt, !retryAt.hasPassed(at: now) {
                return .fail(.unreachable("in reconnect backoff after: \(s.lastError?.description ?? "failure")"))
            }
            s.connecting = true
            s.connectingFor = here
            s.queue.append(p)
            return .queued(startConnect: true)
        }
        switch route {
        case .fail(let e):
            if e == .overloaded { RPCCounters.add(counters.overloaded) }
            p.completion(.failure(e))
        case .queued(let start):
            if start { startConnect() }
        case .send(let conn, let spread):
            if spread { startConnect() }
            if !conn.send(p) { p.completion(.failure(.connectionLost)) }
        }
    }

    /// Sends a one-way frame on an open connection; false if none is open (one-way
    /// messages are not queued: they are best effort by definition).
    func sendOneWay(_ frame: Frame) -> Bool {
        let (conn, start) = state.withLock { s -> (PeerRPCConnection?, Bool) in
            if s.closed { return (nil, false) }
            if let c = s.connections.min(by: { $0.inFlightCount < $1.inFlightCount }) { return (c, false) }
            if s.connecting { return (nil, false) }
            if let r = s.retryAt, !r.hasPassed(at: RPCDeadline.now()) { return (nil, false) }
            s.connecting = true
            s.connectingFor = nil
            return (nil, true)
        }
        if start { startConnect() }
        return conn?.sendOneWay(frame) ?? false
    }

    /// Removes and returns queued and in-flight requests whose deadline has passed.
    func expire(now: RPCDeadline) -> [RPCPending] {
        let (late, conns) = state.withLock { s -> ([RPCPending], [PeerRPCConnection]) in
            let late = s.queue.filter { $0.deadline.hasPassed(at: now) }
            if !late.isEmpty { s.queue.removeAll { $0.deadline.hasPassed(at: now) } }
            return (late, s.connections)
        }
        return late + conns.flatMap { $0.expire(now: now) }
    }

    var openConnections: Int { state.withLock { $0.connections.count } }

    /// Closes every connection and fails everything queued with `.shutdown`.
    func close() {
        let (queued, conns) = state.withLock { s -> ([RPCPending], [PeerRPCConnection]) in
            s.closed = true
            defer { s.queue.removeAll() }
            return (s.queue, s.connections)
        }
        for c in conns { c.close() }
        for p in queued { p.completion(.failure(.shutdown)) }
    }

    private func startConnect() {
        let t = Thread { [self] in connectOnce() }
        t.name = "rpc-connect"
        t.start()
    }

    /// Connect + handshake, blocking; then hands the connection its queue or records the failure.
    private func connectOnce() {
        let target = state.withLock { $0.connectingFor } ?? loops.pick()
        switch establish(on: target) {
        case .success(let conn):
            let (queued, reconnect, closed) = state.withLock { s -> ([RPCPending], Bool, Bool) in
                s.connecting = false
                if s.closed { return ([], false, true) }
                s.connections.append(conn)
                s.backoff.onSuccess()
                s.retryAt = nil
                s.lastError = nil
                let reconnect = s.nextIsReconnect
                s.nextIsReconnect = false
                defer { s.queue.removeAll() }
                return (s.queue, reconnect, false)
            }
            // Started only now that the pool lists it, so a connection the peer drops at
            // once is removed again by onClosed instead of lingering.
            conn.start { [weak self] c in self?.onClosed(c) }
            if closed { conn.close(); return }
            RPCCounters.add(counters.connects)
            if reconnect { RPCCounters.add(counters.reconnects) }
            for p in queued where !conn.send(p) { p.completion(.failure(.connectionLost)) }
        case .failure(let error):
            RPCCounters.add(counters.connectFailures)
            if case .authenticationFailed = error { RPCCounters.add(counters.authFailures) }
            var rng = SystemRandomNumberGenerator()
            let draw = Double.random(in: 0..<1, using: &rng)
            let queued = state.withLock { s -> [RPCPending] in
                s.connecting = false
                s.nextIsReconnect = true
                // A failed extra connection does not stop the open ones from serving.
                if s.connections.isEmpty {
                    let delayMs = s.backoff.onFailure(randomUnit: draw)
                    s.retryAt = RPCDeadline.now().adding(ms: delayMs)
                    s.lastError = error
                }
                defer { s.queue.removeAll() }
                return s.queue
            }
            for p in queued { p.completion(.failure(error)) }
        }
    }

    private func establish(on loop: EventLoop) -> Result<PeerRPCConnection, RPCError> {
        let fd: Socket
        do {
            // From this node's own --host address, so the peer sees the connection come from it.
            fd = try Socket.connectTCP(host: peer.host, port: peer.port, sourceHost: config.host, timeoutMs: config.connectTimeoutMs)
            try fd.setTimeouts(receiveMs: config.handshakeTimeoutMs, sendMs: config.sendTimeoutMs)
        } catch {
            // A failed call names itself ("connect 10.0.0.2:7000: ..."); the rest say where.
            return .failure(.unreachable(error.systemErrno != nil ? error.description : "connect \(peer.host):\(peer.port): \(error)"))
        }
        var decoder = FrameDecoder(maxFrameBytes: config.maxFrameBytes)
        var auth = PeerAuthClient(nodeID: config.nodeID, secret: config.secret, nonce: PeerAuth.makeNonce())
        let outcome: Result<PeerAuthResult, RPCError> = RPCSocket.readFrame(fd, &decoder)
            .flatMap { auth.onServerHello($0) }
            .flatMap { hello in
                (try? fd.writeAll(hello.encoded())) != nil ? RPCSocket.readFrame(fd, &decoder) : .failure(.connectionLost)
            }
            .flatMap { auth.onServerReply($0) }
        if case .success = outcome {
            // Handshake frames count like any others: server hello and reply in, client hello out.
            RPCCounters.add(counters.framesReceived, 2)
            RPCCounters.add(counters.framesSent)
        }
        switch outcome {
        case .failure(let e):
            fd.close()
            if e == .connectionLost { return .failure(.unreachable("peer closed the connection during the handshake")) }
            return .failure(e)
        case .success(let result):
            if !result.authenticated { RPCCounters.add(counters.unauthenticatedConnections) }
            // The loop owns it from here: no timeouts, it never blocks.
            do { try fd.setTimeouts(receiveMs: 0, sendMs: 0) } catch {
                fd.close()
                return .failure(.unreachable("\(peer.host):\(peer.port): \(error)"))
            }
            return .success(PeerRPCConnection(socket: fd, peer: result, counters: counters, loop: loop, decoder: decoder,
                                              maxOutputBytes: config.maxQueuedBytesPerConnection))
        }
    }

    private func onClosed(_ conn: PeerRPCConnection) {
        let wasOpen = state.withLock { s -> Bool in
            let before = s.connections.count
            s.connections.removeAll { $0 === conn }
            if s.connections.isEmpty { s.nextIsReconnect = true }
            return before != s.connections.count && !s.closed
        }
        if wasOpen { RPCCounters.add(counters.connectionsLost) }
    }
}
