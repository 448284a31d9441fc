// One client connection of the RESP server. Loop-thread only: every method runs on the
// connection's event loop (cross-thread replies arrive through EventLoop.execute).
//
// Invariants:
// - Commands get sequence numbers 0, 1, 2, ... in arrival order; `writtenSequence` is the
//   first one whose reply is not yet in `output`. Replies that complete early wait in `parked`
//   (at most `maxCommandsInFlight` of them) until every earlier reply is in `output`.
// - Input is read and parsed only while fewer than `maxCommandsInFlight` commands are
//   unanswered and fewer than `outputPauseBytes` reply bytes are unsent; past
//   `maxOutputBytes` unsent the connection is closed.
// - Every command (every sequence number) holds one unit of the node-wide
//   `ClientRequestBudget` from before it is parsed until its reply is handed back, also when
//   that happens after the connection closed (`unansweredAtClose`). With no room the
//   connection waits (`waitingForBudget`: no parsing, no reading) until a release wakes it.
// - Output is written with one send() per loop iteration (from the shard's iteration hook),
//   so every reply produced by a pipelined batch leaves in one system call.
// - After QUIT, a protocol error or shutdown, nothing more is read or parsed; the connection
//   closes once the last reply is written.

#if canImport(Glibc)
import Glibc
#endif
import Net

final class RESPServerConnection: EventLoopHandler, @unchecked Sendable {
    let socket: Socket
    let loop: EventLoop
    let shard: RESPServerShard
    let context: RESPConnectionContext
    private var parser: RESPParser
    private var output: [UInt8] = []
    private var outputStart = 0
    private var nextSequence: UInt64 = 0
    private var writtenSequence: UInt64 = 0
    private var parked: [UInt64: (bytes: [UInt8], close: Bool)] = [:]
    /// Bytes of the replies in `parked`: they count toward the output bounds like unsent ones.
    private var parkedBytes = 0
    /// Close once `output` is written (a reply asked for it).
    private var closeAfterWrite = false
    /// The client sent EOF: parse what is buffered, answer it, then close.
    private var readClosed = false
    /// QUIT, protocol error or shutdown: read and parse nothing more.
    private var inputStopped = false
    private var interest: UInt32 = EventLoop.readable
    private(set) var lastActivityMs: Int64
    /// When the connection was accepted (the authentication deadline runs from here).
    let openedMs: Int64
    /// When a send last moved reply bytes to the client (or the connection opened).
    private(set) var lastSendProgressMs: Int64
    private(set) var isClosed = false
    private var isDirty = false
    /// processInput stopped at a bound, not for lack of bytes: commands may be buffered.
    private var stalledOnBound = false
    /// Stopped at the node-wide bound; the shard wakes it when a reply frees room.
    private(set) var waitingForBudget = false
    /// Sequences handed out and not answered when the connection closed: their replies still
    /// release the budget when they come.
    private var unansweredAtClose: Set<UInt64> = []

    init(socket: Socket, shard: RESPServerShard, context: RESPConnectionContext, nowMs: Int64) {
        self.socket = socket
        self.shard = shard
        self.loop = shard.loop
        self.context = context
        self.parser = RESPParser(limits: shard.configuration.limits)
        self.lastActivityMs = nowMs
        self.openedMs = nowMs
        self.lastSendProgressMs = nowMs
    }

    /// True when the connection holds a paused backlog of replies and has taken none of it
    /// for `timeoutMs`: its client does not read.
    func isStalledReader(nowMs: Int64, timeoutMs: Int64) -> Bool {
        timeoutMs > 0 && heldReplyBytes >= shard.configuration.outputPauseBytes && nowMs - lastSendProgressMs >= timeoutMs
    }

    var commandsInFlight: Int { Int(nextSequence - writtenSequence) }
    var unsentBytes: Int { output.count - outputStart }
    /// Every reply byte the connection holds: unsent, and parked behind an earlier reply.
    var heldReplyBytes: Int { unsentBytes + parkedBytes }
    var isQuiet: Bool { commandsInFlight == 0 && unsentBytes == 0 }

    private var isPaused: Bool {
        waitingForBudget
            || commandsInFlight >= shard.configuration.maxCommandsInFlight
            || heldReplyBytes >= shard.configuration.outputPauseBytes
    }

    // MARK: Events

    func handleEvents(_ events: UInt32) {
        if events & EventLoop.hangup != 0 {
            close() // both directions are gone: nothing can be delivered.
            return
        }
        if events & EventLoop.readable != 0 { readInput() }
        if events & EventLoop.writable != 0 { markDirty() }
    }

    private func readInput() {
        guard !isClosed, !readClosed, !inputStopped else { return }
        let scratch = shard.scratch
        let read: Int?
        do { read = try socket.read(into: scratch) } catch {
            close()
            return
        }
        guard let n = read else { return }  // drained: epoll says when there is more
        if n > 0 {
            parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            lastActivityMs = loop.iterationMs
            if shard.configuration.requiresAuth, parser.bufferedBytes > shard.configuration.preAuthMaxBufferBytes, !context.authenticated {
                // A stranger may not make us hold a big frame before it has authenticated.
                refuseUnauthenticatedInput()
                return
            }
            processInput()
            markDirty()
        } else {
            readClosed = true
            markDirty()
        }
    }

    /// Hands complete commands to the handler until the parser needs bytes or a bound pauses us.
    private func processInput() {
        stalledOnBound = false
        while !inputStopped && !closeAfterWrite {
            if isPaused {
                stalledOnBound = true
                return
            }
            // Room is taken before parsing, so a parsed command always has its unit.
            let budget = shard.budget
            guard budget.tryAcquire() || budget.waitOrAcquire() else {
                waitingForBudget = true
                stalledOnBound = true
                shard.budgetWaiters.append(self)
                return
            }
            let command: [[UInt8]]
            do {
                guard let next = try parser.next() else { releaseBudget(); return }
                command = next
            } catch {
                shard.protocolError()
                inputStopped = true
                let sequence = nextSequence
                nextSequence += 1
                deliver(sequence: sequence, close: true) { RESPWriter.appendError(error.replyText, to: &$0) }
                return
            }
            let sequence = nextSequence
            nextSequence += 1
            if RESPCommandName.matches(command[0], "QUIT") {
                inputStopped = true
                deliver(sequence: sequence, close: true) { RESPWriter.appendOK(to: &$0) }
                return
            }
            if let refusal = RESPCommandBounds.refusal(command, maxKeys: shard.configuration.maxKeysPerCommand) {
                deliver(sequence: sequence, close: false) { RESPWriter.appendError(refusal, to: &$0) }
                continue
            }
            shard.handler.handle(command, context: context,
                                 reply: RESPReplyToken(connection: self, sequence: sequence))
        }
    }

    /// Closes a connection that sent more than an unauthenticated one may buffer, with an
    /// error that says why; commands already handed out still answer first.
    private func refuseUnauthenticatedInput() {
        shard.protocolError()
        inputStopped = true
        parser = RESPParser(limits: shard.configuration.limits)
        shard.budget.acquireUnchecked() // answered at once below
        let sequence = nextSequence
        nextSequence += 1
        let limit = shard.configuration.preAuthMaxBufferBytes
        deliver(sequence: sequence, close: true) {
            RESPWriter.appendError("NOAUTH Authentication required; a command before AUTH may be at most \(limit) bytes", to: &$0)
        }
    }

    // MARK: Replies

    /// Puts the reply of command `sequence` in order; see the invariants above.
    func deliver(sequence: UInt64, close: Bool, _ encode: (inout [UInt8]) -> Void) {
        guard !isClosed else {
            if unansweredAtClose.remove(sequence) != nil { releaseBudget() }
            return
        }
        guard sequence >= writtenSequence, sequence < nextSequence else { return }
        if sequence == writtenSequence {
            encode(&output)
            writtenSequence += 1
            releaseBudget()
            if close { closeAfterWrite = true }
            while !parked.isEmpty, let next = parked.removeValue(forKey: writtenSequence) {
                parkedBytes -= next.bytes.count
                output.append(contentsOf: next.bytes)
                writtenSequence += 1
                if next.close { closeAfterWrite = true }
            }
        } else {
            guard parked[sequence] == nil else { return }
            var bytes: [UInt8] = []
            encode(&bytes)
            parked[sequence] = (bytes, close)
            parkedBytes += bytes.count
            releaseBudget()
        }
        if heldReplyBytes > shard.configuration.maxOutputBytes {
            self.close() // the client does not read its replies: never hold more than the bound.
            return
        }
        markDirty()
    }

    /// Frees one command's unit of the node-wide budget, waking waiting connections on every
    /// loop when some wait.
    private func releaseBudget() {
        if shard.budget.release() { shard.wakeBudgetWaiters() }
    }

    /// The shard's wake-up after a release: parse and read again (and wait again if the
    /// room went to another connection first).
    func resumeFromBudget() {
        guard waitingForBudget, !isClosed else { return }
        waitingForBudget = false
        markDirty()
    }

    private func markDirty() {
        guard !isDirty, !isClosed else { return }
        isDirty = true
        shard.dirty.append(self)
    }

    /// The shard's end-of-iteration step: resume parsing, one send(), then decide to close.
    func flush() {
        guard !isClosed else { isDirty = false; return }
        // Parse, send, and again while a send unpaused buffered commands: they would get no
        // new EPOLLIN. Bounded, so one busy connection cannot hold the loop.
        for _ in 0..<8 {
            // Still marked dirty here, so replies made while parsing do not queue a second flush.
            if parser.bufferedBytes > 0 { processInput() }
            let wasPaused = isPaused
            guard sendOnce() else { isDirty = false; return }
            if !(wasPaused && !isPaused && parser.bufferedBytes > 0) { break }
        }
        isDirty = false
        if heldReplyBytes > shard.configuration.maxOutputBytes {
            close() // the client does not read its replies.
            return
        }
        if unsentBytes == 0 && (closeAfterWrite || ((readClosed || inputStopped) && commandsInFlight == 0)) {
            close()
            return
        }
        if isPaused == false && parser.bufferedBytes > 0 && stalledOnBound {
            markDirty() // the bounded loop above ran out: continue next iteration.
        }
        updateInterest()
    }

    /// One send() of pending output; false when the connection was closed on an error.
    private func sendOnce() -> Bool {
        guard outputStart < output.count else { return true }
        let sent = output.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try socket.write(UnsafeRawBufferPointer(rebasing: raw[outputStart...])) }
        }
        guard case .success(let written) = sent else {
            close()
            return false
        }
        // nil: the kernel's buffer is full; EPOLLOUT brings us back.
        if let n = written, n > 0 {
            outputStart += n
            lastSendProgressMs = loop.iterationMs
            if outputStart == output.count {
                output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
                outputStart = 0
                lastActivityMs = loop.iterationMs
            } else if outputStart >= 1 << 20 && outputStart * 2 >= output.count {
                output.removeSubrange(0..<outputStart)
                outputStart = 0
            }
        }
        return true
    }

    private func updateInterest() {
        var wanted: UInt32 = 0
        if !readClosed && !inputStopped && !isPaused { wanted |= EventLoop.readable }
        if unsentBytes > 0 { wanted |= EventLoop.writable }
        if wanted != interest {
            interest = wanted
            loop.modify(fd: socket.fd, events: wanted)
        }
    }

    // MARK: Lifecycle

    /// Shutdown: stop reading; close once in-flight commands are answered and written.
    func drain() {
        inputStopped = true
        markDirty()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        for sequence in writtenSequence..<nextSequence where parked[sequence] == nil {
            unansweredAtClose.insert(sequence)
        }
        waitingForBudget = false
        loop.unregister(fd: socket.fd)
        socket.close()
        output = []
        parked = [:]
        parkedBytes = 0
        parser = RESPParser(limits: shard.configuration.limits)
        shard.connectionClosed(self)
    }
}
