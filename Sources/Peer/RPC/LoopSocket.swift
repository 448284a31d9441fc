// A peer RPC connection's bytes on an event loop, after its handshake: non-blocking reads
// into a FrameDecoder, and frames queued during a loop iteration leave together in one
// send() at its end (EventLoop.flushAtEndOfIteration). What the frames mean is the owner's
// business (PeerRPCConnection on the client side, PeerRPCServerConnection on the server's).
//
// Loop-thread only, except `queue`, `abort` and `close`, which hop to the loop when called
// elsewhere. The socket closes its fd itself, on the loop, exactly once: after a read of 0,
// an error, a bad frame, `close()` or `abort()`; then `onClosed` runs once.

#if canImport(Glibc)
import Glibc
#endif
import Net

final class LoopSocket: EventLoopHandler, EventLoopFlushable, @unchecked Sendable {
    let socket: Socket
    let loop: EventLoop
    private let counters: RPCCounters
    private var decoder: FrameDecoder
    private var output: [UInt8] = []
    private var outputStart = 0
    private var framesQueued = 0
    private var flushRequested = false
    private var waitingWritable = false
    /// EPOLLOUT is in the fd's interest set (cleared again once the output has drained).
    private var watchingWritable = false
    private(set) var isClosed = false
    /// Bytes not yet handed to the kernel past which the connection is dropped (a peer that
    /// stopped reading must not make this node buffer without bound).
    private let maxOutputBytes: Int
    private var onFrame: ((Frame) -> Bool)?
    private var onClosed: (() -> Void)?
    private static let readChunk = 64 << 10
    private static let scratchKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// `decoder` may hold bytes read past the handshake. Call `start` to register.
    init(socket: Socket, loop: EventLoop, decoder: FrameDecoder, counters: RPCCounters, maxOutputBytes: Int) {
        self.socket = socket
        self.loop = loop
        self.decoder = decoder
        self.counters = counters
        self.maxOutputBytes = maxOutputBytes
        nonBlocking = (try? socket.setNonBlocking()) != nil
    }

    /// False when O_NONBLOCK could not be set: `start` then closes at once, as a blocking
    /// read would stall the loop.
    private let nonBlocking: Bool

    /// Registers with the loop (from any thread). `onFrame` returns false for a frame that
    /// must close the connection. Both closures run on the loop.
    func start(onFrame: @escaping (Frame) -> Bool, onClosed: @escaping () -> Void) {
        loop.run { [self] in
            self.onFrame = onFrame
            self.onClosed = onClosed
            do throws(SocketError) {
                guard nonBlocking else { throw SocketError.system(operation: "fcntl", errno: EBADF) }
                try loop.register(fd: socket.fd, events: EventLoop.readable, handler: self)
            } catch {
                finish()
                return
            }
            // Frames that arrived with the handshake's last read.
            drainFrames()
        }
    }

    /// Queues `frame` to leave at the end of this loop iteration (any thread).
    func queue(_ frame: Frame) {
        if loop.inLoop {
            append(frame)
        } else {
            loop.execute { [self] in append(frame) }
        }
    }

    /// Closes once what is queued has been tried (any thread).
    func close() {
        loop.run { [self] in
            flushQueued()
            finish()
        }
    }

    /// Resets the connection at once (SO_LINGER 0), discarding what is queued (any thread).
    func abort() {
        loop.run { [self] in
            guard !isClosed else { return }
            socket.setAbortiveClose()
            finish()
        }
    }

    private func append(_ frame: Frame) {
        guard !isClosed else { return }
        frame.encode(into: &output)
        framesQueued += 1
        if output.count - outputStart > maxOutputBytes {
            RPCCounters.add(counters.decodeErrors)
            finish()
            return
        }
        if !flushRequested && !waitingWritable {
            flushRequested = true
            loop.flushAtEndOfIteration(self)
        }
    }

    // MARK: Loop events

    func handleEvents(_ events: UInt32) {
        if events & EventLoop.writable != 0 {
            waitingWritable = false
            flushQueued()
        }
        if events & (EventLoop.readable | EventLoop.hangup) != 0 { readAvailable() }
    }

    func flushQueued() {
        flushRequested = false
        guard !isClosed, outputStart < output.count else { return }
        while outputStart < output.count {
            let sent = output.withUnsafeBytes { raw in
                Result { () throws(SocketError) in try socket.write(UnsafeRawBufferPointer(rebasing: raw[outputStart...])) }
            }
            guard case .success(let written) = sent else {
                finish()
                return
            }
            if let n = written, n > 0 {
                RPCCounters.add(counters.bytesSent, n)
                outputStart += n
                continue
            }
            if written == nil {
                waitingWritable = true
                if !watchingWritable {
                    watchingWritable = true
                    loop.modify(fd: socket.fd, events: EventLoop.readable | EventLoop.writable)
                }
                return
            }
            finish()
            return
        }
        RPCCounters.add(counters.framesSent, framesQueued)
        framesQueued = 0
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        outputStart = 0
        if watchingWritable {
            watchingWritable = false
            loop.modify(fd: socket.fd, events: EventLoop.readable)
        }
    }

    private func readAvailable() {
        let scratch = LoopSocket.scratch()
        // Bounded per wake-up, so one busy peer cannot hold the loop (level-triggered epoll
        // brings the loop back for the rest).
        for _ in 0..<16 {
            guard !isClosed else { return }
            let read: Int?
            do { read = try socket.read(into: scratch) } catch {
                finish()
                return
            }
            guard let n = read else { return }  // drained: epoll says when there is more
            if n > 0 {
                RPCCounters.add(counters.bytesReceived, n)
                decoder.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                drainFrames()
                if n < scratch.count { return }
                continue
            }
            finish()
            return
        }
    }

    private func drainFrames() {
        while !isClosed {
            let frame: Frame?
            do { frame = try decoder.next() } catch {
                RPCCounters.add(counters.decodeErrors)
                finish()
                return
            }
            guard let frame else { return }
            RPCCounters.add(counters.framesReceived)
            if onFrame?(frame) == false {
                RPCCounters.add(counters.decodeErrors)
                finish()
                return
            }
        }
    }

    private func finish() {
        guard !isClosed else { return }
        isClosed = true
        loop.unregister(fd: socket.fd)
        socket.close()
        output = []
        let closed = onClosed
        onClosed = nil
        onFrame = nil
        closed?()
    }

    /// One receive buffer per loop thread, shared by its sockets (one read at a time).
    private static func scratch() -> UnsafeMutableRawBufferPointer {
        if let raw = pthread_getspecific(scratchKey) {
            return UnsafeMutableRawBufferPointer(start: raw, count: readChunk)
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: readChunk, alignment: 16)
        pthread_setspecific(scratchKey, buffer)
        return UnsafeMutableRawBufferPointer(start: buffer, count: readChunk)
    }
}
