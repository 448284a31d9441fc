import Net
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One established client connection to a peer (handshake done), living on an event loop
/// (LoopSocket): request frames queued during a loop iteration leave in one send, and
/// answers are matched to in-flight requests by id and completed on the loop.
///
/// Threading: `send` may be called from any thread; on the connection's own loop the frame
/// is queued directly, elsewhere it hops there. The in-flight map is behind a mutex (the
/// deadline scan and senders on other threads touch it). When the socket closes, every
/// request still in flight fails with `.connectionLost` and the pool learns it through
/// `onClosed`.
final class PeerRPCConnection: @unchecked Sendable {
    let peer: PeerAuthResult
    let socket: LoopSocket
    var loop: EventLoop { socket.loop }
    private let counters: RPCCounters
    private let inFlight = Mutex(InFlight())

    private struct InFlight {
        var requests: [UInt64: RPCPending] = [:]
        var closed = false
    }

    init(socket connection: Socket, peer: PeerAuthResult, counters: RPCCounters, loop: EventLoop, decoder: FrameDecoder, maxOutputBytes: Int) {
        self.peer = peer
        self.counters = counters
        socket = LoopSocket(socket: connection, loop: loop, decoder: decoder, counters: counters, maxOutputBytes: maxOutputBytes)
    }

    /// Registers on the loop. Call once, after the owner can handle `onClosed` (it may run at
    /// once if the peer already hung up).
    func start(onClosed: @escaping @Sendable (PeerRPCConnection) -> Void) {
        socket.start(onFrame: { [self] frame in onAnswer(frame) }, onClosed: { [self] in
            finish()
            onClosed(self)
        })
    }

    var inFlightCount: Int { inFlight.withLock { $0.requests.count } }
    var isClosed: Bool { inFlight.withLock { $0.closed } }

    /// Registers and queues a request. False if the connection is already closed (the
    /// request was not taken; the caller still owns it).
    func send(_ p: RPCPending) -> Bool {
        let accepted = inFlight.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.requests[p.id] = p
            return true
        }
        guard accepted else { return false }
        socket.queue(p.frame(now: RPCDeadline.now()))
        return true
    }

    /// Fire and forget; false when the connection is closed.
    func sendOneWay(_ frame: Frame) -> Bool {
        guard !isClosed else { return false }
        socket.queue(frame)
        return true
    }

    /// Removes and returns the requests whose deadline has passed. A connection with a late
    /// request is reset: what it still has queued (a write the caller was told timed out)
    /// must not reach the peer minutes later, after a partition heals, and a new connection
    /// does not wait out TCP's retransmission backoff.
    func expire(now: RPCDeadline) -> [RPCPending] {
        let late = inFlight.withLock { s in
            let late = s.requests.values.filter { $0.deadline.hasPassed(at: now) }
            for p in late { s.requests[p.id] = nil }
            return late
        }
        if !late.isEmpty { socket.abort() }
        return late
    }

    /// Closes the socket, which fails what is in flight.
    func close() { socket.close() }

    /// An answer, on the loop: false for a frame a server must not send.
    private func onAnswer(_ frame: Frame) -> Bool {
        let result: Result<[UInt8], RPCError>
        switch frame.kind {
        case .response: result = .success(frame.payload)
        case .error: result = .failure(RPCError.decodeErrorBody(frame.payload, type: frame.type))
        case .request, .oneWay, .handshake: return false
        }
        // Unknown ids are answers to requests that already timed out: ignored.
        guard let p = inFlight.withLock({ $0.requests.removeValue(forKey: frame.requestID) }) else { return true }
        if case .failure(.overloaded) = result { RPCCounters.add(counters.overloaded) }
        p.completion(result)
        return true
    }

    private func finish() {
        let orphans = inFlight.withLock { s -> [RPCPending] in
            s.closed = true
            defer { s.requests.removeAll() }
            return Array(s.requests.values)
        }
        for p in orphans { p.completion(.failure(.connectionLost)) }
    }
}
