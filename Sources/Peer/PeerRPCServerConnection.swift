import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One accepted peer connection: handshake, then a read loop dispatching frames.
/// `run()` is the reader thread's body and owns the fd (it closes it on exit); other
/// threads only write under `writeLock` or call `close()`, which shuts the socket down.
final class PeerRPCServerConnection: @unchecked Sendable {
    let fd: Int32
    unowned let server: PeerRPCServer
    /// Held directly: a responder may outlive the server.
    private let counters: RPCCounters
    /// The caller's address as the kernel sees it.
    let remote: (host: String, port: UInt16)
    private let writeLock = Mutex(true)  // true while writable

    /// Where the connection is in its life; read and written only under the server's lock
    /// (it decides which budget the connection counts against).
    enum Stage { case handshaking, serving, servingUnauthenticated, closed }
    var stage = Stage.handshaking

    init(fd: Int32, server: PeerRPCServer) {
        self.fd = fd
        self.server = server
        counters = server.counters
        remote = RPCSocket.peerAddress(fd)
    }

    /// Wakes the reader (which then closes the fd). Under the lock, so never touches an fd
    /// number the reader has already closed and the kernel may have reused.
    func close() { writeLock.withLock { open in if open { RPCSocket.shutdown(fd) } } }

    func run() {
        defer {
            writeLock.withLock { $0 = false }
            Glibc.close(fd)
        }
        let config = server.config
        RPCSocket.setNoDelay(fd)
        // Until the peer has proved itself: one deadline for the whole handshake (however
        // slowly its bytes trickle in), sends bounded by it too, a 1 KiB frame bound and
        // small reads, so a stranger costs a thread for at most that long and next to no memory.
        let deadline = RPCDeadline.now().adding(ms: config.handshakeTimeoutMs)
        RPCSocket.setTimeouts(fd, receiveMs: config.handshakeTimeoutMs, sendMs: min(config.handshakeTimeoutMs, config.sendTimeoutMs))
        var decoder = FrameDecoder(maxFrameBytes: PeerRPCConfig.maxHandshakeFrameBytes)

        let auth = PeerAuthServer(nodeID: config.nodeID, secret: config.secret, nonce: PeerAuth.makeNonce())
        guard send(auth.hello()) else { return }
        let peer: PeerAuthResult
        switch RPCSocket.readFrame(fd, &decoder, deadline: deadline, chunkBytes: 512) {
        case .failure(let e):
            if e == .timeout { RPCCounters.add(counters.handshakeTimeouts) } else { RPCCounters.add(counters.authFailures) }
            return
        case .success(let hello):
            RPCCounters.add(counters.framesReceived)
            switch auth.onClientHello(hello) {
            case .reject(_, let reply):
                RPCCounters.add(counters.authFailures)
                _ = send(reply)
                return
            case .accept(let result, let reply):
                guard send(reply) else { return }
                if !result.authenticated { RPCCounters.add(counters.unauthenticatedConnections) }
                peer = result
            }
        }
        guard server.handshakeFinished(self, authenticated: peer.authenticated) else {
            RPCCounters.add(counters.connectionsRefused)
            return
        }
        decoder.setMaxFrameBytes(config.maxFrameBytes)
        RPCSocket.setTimeouts(fd, receiveMs: 0, sendMs: config.sendTimeoutMs)
        readLoop(decoder: &decoder, peer: peer)
    }

    private func readLoop(decoder: inout FrameDecoder, peer: PeerAuthResult) {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            // Drain frames already buffered (the handshake read may have read ahead).
            while true {
                let frame: Frame?
                do { frame = try decoder.next() } catch {
                    RPCCounters.add(counters.decodeErrors)
                    return
                }
                guard let frame else { break }
                RPCCounters.add(counters.framesReceived)
                guard dispatch(frame, peer: peer) else {
                    RPCCounters.add(counters.decodeErrors)
                    return
                }
            }
            let n = chunk.withUnsafeMutableBytes { RPCSocket.readSome(fd, $0) }
            guard n > 0 else { return }
            RPCCounters.add(counters.bytesReceived, n)
            decoder.append(chunk[0..<n])
        }
    }

    /// False for a frame a client must not send (the connection is then closed).
    private func dispatch(_ frame: Frame, peer: PeerAuthResult) -> Bool {
        let oneWay: Bool
        switch frame.kind {
        case .request: oneWay = false
        case .oneWay: oneWay = true
        case .response, .error, .handshake: return false
        }
        let id = frame.requestID
        let rawType = frame.type
        guard let type = PeerMessageType(rawValue: rawType) else {
            if !oneWay { send(Frame(kind: .error, type: rawType, requestID: id, payload: RPCError.unknownMessageType(rawType).errorBody())) }
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
        server.handler(request) { [self] result in
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
            send(reply)
        }
        return true
    }

    /// Writes one frame; a failed write shuts the connection (the reader then exits).
    @discardableResult
    func send(_ frame: Frame) -> Bool {
        RPCSocket.writeFrame(frame, fd: fd, lock: writeLock, counters: counters)
    }
}
