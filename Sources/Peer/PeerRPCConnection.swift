import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One established client connection to a peer (handshake done): sends request frames,
/// and a reader thread matches answers to in-flight requests by id.
///
/// Threading: `send` may be called from any thread (writes are serialized by `writeLock`);
/// the reader thread owns the fd and closes it when it exits, after failing every request
/// still in flight with `.connectionLost` and telling the pool through `onClosed`.
final class PeerRPCConnection: @unchecked Sendable {
    let fd: Int32
    let peer: PeerAuthResult
    private let counters: RPCCounters
    private let inFlight = Mutex(InFlight())
    /// True while the fd is valid; guards writes and shutdown against the reader's close.
    private let writeLock = Mutex(true)

    private struct InFlight {
        var requests: [UInt64: RPCPending] = [:]
        var closed = false
    }

    /// `decoder` may hold bytes read past the handshake; `start` hands it to the reader.
    init(fd: Int32, peer: PeerAuthResult, counters: RPCCounters) {
        self.fd = fd
        self.peer = peer
        self.counters = counters
    }

    /// Starts the reader thread. Call once, after the owner can handle `onClosed` (it may
    /// run at once if the peer already hung up).
    func start(decoder: FrameDecoder, onClosed: @escaping @Sendable (PeerRPCConnection) -> Void) {
        let t = Thread { [self] in
            var d = decoder
            readLoop(&d)
            finish()
            onClosed(self)
        }
        t.name = "rpc-client-conn"
        t.start()
    }

    var inFlightCount: Int { inFlight.withLock { $0.requests.count } }
    var isClosed: Bool { inFlight.withLock { $0.closed } }

    /// Registers and writes a request. False if the connection is already closed (the
    /// request was not taken; the caller still owns it).
    func send(_ p: RPCPending) -> Bool {
        let accepted = inFlight.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.requests[p.id] = p
            return true
        }
        guard accepted else { return false }
        write(p.frame(now: RPCDeadline.now()))
        return true
    }

    /// Fire and forget; false when the connection is closed or the write failed.
    func sendOneWay(_ frame: Frame) -> Bool { write(frame) }

    @discardableResult
    private func write(_ frame: Frame) -> Bool {
        RPCSocket.writeFrame(frame, fd: fd, lock: writeLock, counters: counters)
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
        if !late.isEmpty {
            writeLock.withLock { open in
                if open {
                    RPCSocket.setAbortiveClose(fd)
                    RPCSocket.shutdown(fd)
                }
            }
        }
        return late
    }

    /// Wakes the reader, which fails what is in flight and closes the fd.
    func close() { writeLock.withLock { open in if open { RPCSocket.shutdown(fd) } } }

    private func readLoop(_ decoder: inout FrameDecoder) {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            while true {
                let frame: Frame?
                do { frame = try decoder.next() } catch {
                    RPCCounters.add(counters.decodeErrors)
                    return
                }
                guard let frame else { break }
                RPCCounters.add(counters.framesReceived)
                let result: Result<[UInt8], RPCError>
                switch frame.kind {
                case .response: result = .success(frame.payload)
                case .error: result = .failure(RPCError.decodeErrorBody(frame.payload, type: frame.type))
                case .request, .oneWay, .handshake:
                    // Servers never send these on a client connection.
                    RPCCounters.add(counters.decodeErrors)
                    return
                }
                // Unknown ids are answers to requests that already timed out: ignored.
                guard let p = inFlight.withLock({ $0.requests.removeValue(forKey: frame.requestID) }) else { continue }
                if case .failure(.overloaded) = result { RPCCounters.add(counters.overloaded) }
                p.completion(result)
            }
            let n = chunk.withUnsafeMutableBytes { RPCSocket.readSome(fd, $0) }
            guard n > 0 else { return }
            RPCCounters.add(counters.bytesReceived, n)
            decoder.append(chunk[0..<n])
        }
    }

    private func finish() {
        writeLock.withLock { open in
            open = false
            Glibc.close(fd)
        }
        let orphans = inFlight.withLock { s -> [RPCPending] in
            s.closed = true
            defer { s.requests.removeAll() }
            return Array(s.requests.values)
        }
        for p in orphans { p.completion(.failure(.connectionLost)) }
    }
}
