import Net
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One accepted peer connection: the handshake on its own short-lived thread (`run`), then
/// the connection moves to an event loop (LoopSocket), which reads its frames, hands them
/// to the handler on the loop, and writes the answers queued in one loop iteration in one send.
/// Until the hand-over `run()` owns the fd; after it the socket does. `close()` from any
/// thread: shuts the socket down during the handshake, closes it on its loop after.
final class PeerRPCServerConnection: @unchecked Sendable {
    let connection: Socket
    unowned let server: PeerRPCServer
    /// Held directly: a responder may outlive the server.
    private let counters: RPCCounters
    /// The caller's address as the kernel sees it.
    let remote: (host: String, port: UInt16)
    private let writeLock = Mutex(true)  // true while the handshake thread owns a writable fd
    /// Set once the handshake is done and the connection lives on a loop.
    private let onLoop = Mutex<LoopSocket?>(nil)

    /// Where the connection is in its life; read and written only under the server's lock
    /// (it decides which budget the connection counts against).
    enum Stage { case handshaking, serving, servingUnauthenticated, closed }
    var stage = Stage.handshaking

    init(connection: Socket, remote: SocketAddress, server: PeerRPCServer) {
        self.connection = connection
        self.server = server
        counters = server.counters
        self.remote = (remote.host, remote.port)
    }

    /// Wakes the reader (which then closes the fd). Under the lock, so never touches an fd
    /// number the reader has already closed and the kernel may have reused.
    func close() {
        let socket: LoopSocket? = writeLock.withLock { open in
            if open { connection.shutdown(); return nil }
            return onLoop.withLock { $0 }
        }
        socket?.close()
    }

    /// The handshake; true when the connection moved to a loop (it then reports its end
    /// through `onClosed`), false when it ended here (the fd is closed).
    func run(loop: EventLoop, onClosed: @escaping @Sendable () -> Void) -> Bool {
        var handedOver = false
        defer {
            if !handedOver {
                writeLock.withLock { $0 = false }
                connection.close()
            }
        }
        let config = server.config
        try? connection.setNoDelay()
        // Until the peer has proved itself: one deadline for the whole handshake (however
        // slowly its bytes trickle in), sends bounded by it too, a 1 KiB frame bound and
        // small reads, so a stranger costs a thread for at most that long and next to no memory.
        let deadline = RPCDeadline.now().adding(ms: config.handshakeTimeoutMs)
        guard (try? connection.setTimeouts(receiveMs: config.handshakeTimeoutMs,
                                           sendMs: min(config.handshakeTimeoutMs, config.sendTimeoutMs))) != nil else { return false }
        var decoder = FrameDecoder(maxFrameBytes: PeerRPCConfig.maxHandshakeFrameBytes)

        let auth = PeerAuthServer(nodeID: config.nodeID, secret: config.secret, nonce: PeerAuth.makeNonce())
        guard send(auth.hello()) else { return false }
        let peer: PeerAuthResult
        switch RPCSocket.readFrame(connection, &decoder, deadline: deadline, chunkBytes: 512) {
        case .failure(let e):
            if e == .timeout { RPCCounters.add(counters.handshakeTimeouts) } else { RPCCounters.add(counters.authFailures) }
            return false
        case .success(let hello):
            RPCCounters.add(counters.framesReceived)
            switch auth.onClientHello(hello) {
            case .reject(_, let reply):
                RPCCounters.add(counters.authFailures)
                _ = send(reply)
                return false
            case .accept(let result, let reply):
                guard send(reply) else { return false }
                if !result.authenticated { RPCCounters.add(counters.unauthenticatedConnections) }
                peer = result
            }
        }
        guard server.handshakeFinished(self, authenticated: peer.authenticated) else {
            RPCCounters.add(counters.connectionsRefused)
            return false
        }
        decoder.setMaxFrameBytes(config.maxFrameBytes)
        guard (try? connection.setTimeouts(receiveMs: 0, sendMs: 0)) != nil else { return false }
        // From here on the loop owns the fd: no thread of its own, no blocking reads.
        let socket = LoopSocket(socket: connection, loop: loop, decoder: decoder, counters: counters,
                                maxOutputBytes: config.maxQueuedBytesPerConnection)
        let stillOpen = writeLock.withLock { open -> Bool in
            guard open else { return false }
            onLoop.withLock { $0 = socket }
            open = false
            return true
        }
        guard stillOpen else { return false }
        handedOver = true
        socket.start(onFrame: { [self] frame in dispatch(frame, peer: peer, socket: socket) }, onClosed: onClosed)
        return true
    }

    /// False for a frame a client must not send (the connection is then closed).
    private func dispatch(_ frame: Frame, peer: PeerAuthResult, socket: LoopSocket) -> Bool {
        let oneWay: Bool
        switch frame.kind {
        case .request: oneWay = false
        case .oneWay: oneWay = true
        case .response, .error, .handshake: return false
        }
        let id = frame.requestID
        let rawType = frame.type
        guard let type = PeerMessageType(rawValue: rawType) else {
            if !oneWay { socket.queue(Frame(kind: .error, type: rawType, requestID: id, payload: RPCError.unknownMessageType(rawType).errorBody())) }
            return true
        }
        let deadline: RPCDeadline? = frame.timeoutMs == 0 ? nil : RPCDeadline.now().adding(ms: Int(frame.timeoutMs))
        let request = RPCRequest(from: peer.peerID, authenticated: peer.authenticated, type: type, requestID: id,
                                 payload: frame.payload, deadline: deadline, isOneWay: oneWay)
        if oneWay {
            server.handler(request) { _ in }
            return true
        }
        let answered = Atomic(false)
        let maxFrameBytes = server.config.maxFrameBytes
        let counters = self.counters
        server.handler(request) { result in
            guard !answered.exchange(true, ordering: .acquiringAndReleasing) else { return }
            if let deadline, deadline.hasPassed(at: RPCDeadline.now()) {
                RPCCounters.add(counters.lateResponsesDropped)
                return
            }
            var reply: Frame
            switch result {
            case .success(let body): reply = Frame(kind: .response, type: rawType, requestID: id, payload: body)
            case .failure(let e): reply = Frame(kind: .error, type: rawType, requestID: id, payload: e.errorBody())
            }
            if reply.encodedBytes > maxFrameBytes {
                reply = Frame(kind: .error, type: rawType, requestID: id,
                              payload: RPCError.remote(code: RPCErrorCode.internalError, message: "response too large (\(reply.encodedBytes) bytes)").errorBody())
            }
            socket.queue(reply)
        }
        return true
    }

    /// Writes one frame; a failed write shuts the connection (the reader then exits).
    @discardableResult
    func send(_ frame: Frame) -> Bool {
        RPCSocket.writeFrame(frame, socket: connection, lock: writeLock, counters: counters)
    }
}
