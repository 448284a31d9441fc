// The part of the RESP server that lives on one event loop: its connections, the list of
// connections to flush at the end of the iteration, and a scratch read buffer.
// Loop-thread only, except `loop`, `configuration` and `budget` (immutable; the budget is
// shared by every shard and thread-safe).

#if canImport(Glibc)
import Glibc
#endif
import Net

final class RESPServerShard: @unchecked Sendable {
    let loop: EventLoop
    let configuration: RESPServerConfiguration
    let handler: RESPCommandHandler
    let counters: RESPServerCounters
    /// The node-wide bound on unanswered commands, shared by every shard of the server.
    let budget: ClientRequestBudget
    /// Connections of this loop stopped at that bound, woken by `resumeBudgetWaiters`.
    var budgetWaiters: [RESPServerConnection] = []
    /// Set by the server once every shard exists: schedules `resumeBudgetWaiters` on every
    /// loop (a release on one loop frees room for connections of all of them).
    var wakeAllLoops: (@Sendable () -> Void)?
    /// recv() target shared by every connection of this loop (one read at a time per thread).
    let scratch: UnsafeMutableRawBufferPointer
    var dirty: [RESPServerConnection] = []
    private var flushing: [RESPServerConnection] = []
    private(set) var connections: [UInt64: RESPServerConnection] = [:]
    private var shuttingDown = false
    private var shutdownDeadlineMs: Int64 = 0
    /// Called once, on the loop, when the shard has drained at shutdown.
    var onDrained: (() -> Void)?
    private var drainReported = false

    init(loop: EventLoop, configuration: RESPServerConfiguration, handler: RESPCommandHandler,
         counters: RESPServerCounters, budget: ClientRequestBudget) {
        self.loop = loop
        self.budget = budget
        self.configuration = configuration
        self.handler = handler
        self.counters = counters
        scratch = .allocate(byteCount: max(4096, configuration.readChunkBytes), alignment: 16)
        // Weak: a shared loop may outlive the server and its shards.
        loop.addIterationHook { [weak self] in self?.flushDirty() }
        let idle = Int64(configuration.idleTimeoutMs)
        let auth = configuration.requiresAuth ? Int64(configuration.authTimeoutMs) : 0
        let shortest: Int64 = idle > 0 && auth > 0 ? Swift.min(idle, auth) : Swift.max(idle, auth)
        let tickMs: Int64 = shortest > 0 ? max(5, min(100, shortest / 4)) : 100
        loop.addTick(intervalMs: tickMs) { [weak self] now in self?.tick(nowMs: now) }
    }

    deinit { scratch.deallocate() }

    /// Adopts an accepted socket (on this loop's thread).
    func adopt(_ socket: Socket, id: UInt64, remote: String) {
        guard !shuttingDown else {
            socket.close()
            counters.connections.subtract(1, ordering: .relaxed)
            return
        }
        let context = RESPConnectionContext(id: id, remoteAddress: remote)
        let connection = RESPServerConnection(socket: socket, shard: self, context: context, nowMs: EventLoop.nowMs())
        do {
            try loop.register(fd: socket.fd, events: EventLoop.readable, handler: connection)
        } catch {
            socket.close()
            counters.connections.subtract(1, ordering: .relaxed)
            return
        }
        connections[id] = connection
        handler.connectionOpened(context)
    }

    func connectionClosed(_ connection: RESPServerConnection) {
        guard connections.removeValue(forKey: connection.context.id) != nil else { return }
        counters.connections.subtract(1, ordering: .relaxed)
        handler.connectionClosed(connection.context)
    }

    /// A release found waiters: every loop's waiting connections try again.
    func wakeBudgetWaiters() { wakeAllLoops?() }

    /// Loop thread: wakes this loop's connections waiting for room.
    func resumeBudgetWaiters() {
        guard !budgetWaiters.isEmpty else { return }
        let waiting = budgetWaiters
        budgetWaiters.removeAll(keepingCapacity: true)
        for connection in waiting { connection.resumeFromBudget() }
    }

    func protocolError() { counters.protocolErrorsTotal.add(1, ordering: .relaxed) }

    /// Flushes every connection marked during this iteration; flushing may mark more.
    private func flushDirty() {
        while !dirty.isEmpty {
            swap(&dirty, &flushing)
            for connection in flushing { connection.flush() }
            flushing.removeAll(keepingCapacity: true)
        }
        if shuttingDown && connections.isEmpty && !drainReported {
            drainReported = true
            onDrained?()
        }
    }

    private func tick(nowMs: Int64) {
        if shuttingDown {
            if nowMs >= shutdownDeadlineMs {
                for connection in Array(connections.values) { connection.close() }
            }
            return
        }
        let idle = Int64(configuration.idleTimeoutMs)
        let auth = configuration.requiresAuth ? Int64(configuration.authTimeoutMs) : 0
        let stalled = Int64(configuration.stalledReaderTimeoutMs)
        if stalled > 0 {
            for connection in Array(connections.values) where connection.isStalledReader(nowMs: nowMs, timeoutMs: stalled) {
                counters.stalledReadersClosedTotal.add(1, ordering: .relaxed)
                connection.close()
            }
        }
        guard idle > 0 || auth > 0 else { return }
        for connection in Array(connections.values) where connection.isQuiet {
            let idleTooLong = idle > 0 && nowMs - connection.lastActivityMs >= idle
            // A connection that never authenticated gets `authTimeoutMs` from its accept,
            // however busy it keeps itself with refused commands.
            let unauthenticatedTooLong = auth > 0 && nowMs - connection.openedMs >= auth && !connection.context.authenticated
            if idleTooLong || unauthenticatedTooLong {
                counters.idleClosedTotal.add(1, ordering: .relaxed)
                connection.close()
            }
        }
    }

    /// Stop reading everywhere; connections close as their last replies are written, and all
    /// are cut at the grace deadline. The loop stops once none is left.
    func beginShutdown(graceMs: Int) {
        shuttingDown = true
        shutdownDeadlineMs = EventLoop.nowMs() + Int64(graceMs)
        for connection in connections.values { connection.drain() }
        flushDirty()
    }
}
