// One epoll loop on its own thread.
//
// Thread-safety contract:
// - `register`, `modify`, `unregister`, `addTick`, `addIterationHook` and every handler
//   callback run on the loop thread only (hooks may be added before `start`).
// - `execute` and `stop` may be called from any thread; `execute` wakes the loop through an
//   eventfd, coalesced: one write per batch of tasks, not per task.
// - `inLoop` tells a caller whether it runs on this loop's thread (for reply fast paths).
// Order of one iteration: epoll_wait → ready handlers → queued tasks → due ticks → iteration
// hooks (where the server does its single write per connection) → sleep again.

#if canImport(Glibc)
import Glibc
#endif
import CSystem
import Synchronization

/// The loop whose thread this is (nil off the loops).
private let currentLoopKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// How many loops this process has made (`EventLoop.ordinal`).
private let loopsMade = Atomic<Int>(0)

/// An epoll event loop running on one dedicated thread.
public final class EventLoop: @unchecked Sendable {
    /// Event bits for `register` and `modify`, and as `handleEvents` gets them.
    public static let readable = EPOLLIN.rawValue
    public static let writable = EPOLLOUT.rawValue
    public static let hangup = EPOLLHUP.rawValue | EPOLLERR.rawValue

    private let epollFD: Int32
    private let wakeFD: Int32
    private var handlers: [EventLoopHandler?] = []
    private let tasks = Mutex<[() -> Void]>([])
    private let wakePending = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var started = false
    private var ticks: [(intervalMs: Int64, nextMs: Int64, body: (Int64) -> Void)] = []
    private var iterationHooks: [() -> Void] = []
    private var pendingFlush: [EventLoopFlushable] = []
    private var flushing: [EventLoopFlushable] = []
    public let name: String
    /// This loop's number among the loops made in this process, from 0: an index for state
    /// kept per loop elsewhere (timer shards).
    public let ordinal: Int
    /// Monotonic ms when this loop's current iteration began (its epoll_wait returned): for
    /// bookkeeping on the loop thread that needs milliseconds, not a fresh clock read per use
    /// (a connection's last activity). Read it only on the loop's thread.
    public private(set) var iterationMs: Int64 = EventLoop.nowMs()

    public init(name: String) throws(SocketError) {
        self.name = name
        ordinal = loopsMade.wrappingAdd(1, ordering: .relaxed).oldValue
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .system(operation: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let code = errno
            close(epollFD)
            throw .system(operation: "eventfd", errno: code)
        }
        var event = epoll_event()
        event.events = EventLoop.readable
        event.data.u64 = UInt64(UInt32(bitPattern: wakeFD))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            close(wakeFD)
            close(epollFD)
            throw .system(operation: "epoll_ctl wake", errno: code)
        }
    }

    deinit {
        close(wakeFD)
        close(epollFD)
    }

    /// Monotonic milliseconds: the loop's notion of now (ticks and idle timeouts).
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic microseconds, for round-trip measurements.
    public static func nowUs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    /// True on this loop's thread.
    public var inLoop: Bool { EventLoop.current === self }

    /// The loop running the calling thread, nil when called off the loops. Work that
    /// completes elsewhere (an fsync on the syncer) hops back to it.
    public static var current: EventLoop? {
        guard let raw = pthread_getspecific(currentLoopKey) else { return nil }
        return Unmanaged<EventLoop>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Runs `task` here: at once when already on this loop, else queued.
    public func run(_ task: @escaping @Sendable () -> Void) {
        if inLoop { task() } else { execute(task) }
    }

    // MARK: Loop-thread API

    /// Watches `fd` for `events`, calling `handler` when they come.
    public func register(fd: Int32, events: UInt32, handler: EventLoopHandler) throws(SocketError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(UInt32(bitPattern: fd))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw .system(operation: "epoll_ctl add", errno: errno)
        }
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: index + 1 - handlers.count))
        }
        handlers[index] = handler
    }

    /// Changes the events watched on a registered `fd`.
    public func modify(fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(UInt32(bitPattern: fd))
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Removes the registration; call before closing `fd`.
    public func unregister(fd: Int32) {
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    /// Calls `body(nowMs)` every `intervalMs` on the loop thread.
    public func addTick(intervalMs: Int64, _ body: @escaping (Int64) -> Void) {
        ticks.append((max(1, intervalMs), EventLoop.nowMs() + max(1, intervalMs), body))
    }

    /// Calls `body` at the end of every iteration, before the loop sleeps.
    public func addIterationHook(_ body: @escaping () -> Void) {
        iterationHooks.append(body)
    }

    /// Calls `flushQueued` on `target` at the end of this iteration (loop thread; the
    /// caller marks itself so it asks once per iteration).
    public func flushAtEndOfIteration(_ target: EventLoopFlushable) {
        pendingFlush.append(target)
    }

    // MARK: Any-thread API

    /// Runs `task` on the loop thread soon (FIFO with other tasks).
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Starts the loop thread.
    public func start() throws(SocketError) {
        precondition(!started, "EventLoop \(name) started twice")
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let loop = Unmanaged<EventLoop>.fromOpaque(raw).takeRetainedValue()
            // Named so that top -H and perf show which loop a thread is (the kernel keeps 15 bytes).
            chorus_set_thread_name(loop.name)
            loop.run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<EventLoop>.fromOpaque(box).release()
            throw .system(operation: "pthread_create", errno: rc)
        }
        started = true
    }

    /// Asks the loop to exit after its current iteration; does not wait.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Waits for the loop thread to exit (after `stop`); must not be called on the loop.
    public func join() {
        precondition(!inLoop, "EventLoop \(name) joined from its own thread")
        guard started else { return }
        pthread_join(thread, nil)
        started = false
    }

    // MARK: The loop

    private func run() {
        pthread_setspecific(currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(currentLoopKey, nil) }
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopping.load(ordering: .acquiring) {
            let n = epoll_wait(epollFD, events, Int32(capacity), waitTimeoutMs())
            iterationMs = EventLoop.nowMs()
            if n > 0 {
                for i in 0..<Int(n) {
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: events[i].data.u64))
                    if fd == wakeFD {
                        var counter: UInt64 = 0
                        _ = read(wakeFD, &counter, 8)
                        continue
                    }
                    if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                        handler.handleEvents(events[i].events)
                    }
                }
            }
            runTasks()
            runDueTicks()
            for hook in iterationHooks { hook() }
            flushPending()
        }
        // Tasks queued before the stop still run, so no reply or registration is silently lost.
        runTasks()
        for hook in iterationHooks { hook() }
        flushPending()
    }

    /// Flushing may queue more (a reply that completes a request): until none is left.
    private func flushPending() {
        while !pendingFlush.isEmpty {
            swap(&pendingFlush, &flushing)
            for target in flushing { target.flushQueued() }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    private func runTasks() {
        wakePending.store(false, ordering: .releasing)
        let batch = tasks.withLock { queue -> [() -> Void] in
            if queue.isEmpty { return [] }
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for task in batch { task() }
    }

    private func waitTimeoutMs() -> Int32 {
        guard !ticks.isEmpty else { return -1 }
        let now = EventLoop.nowMs()
        var soonest = Int64.max
        for tick in ticks { soonest = min(soonest, tick.nextMs) }
        return Int32(clamping: max(0, soonest - now))
    }

    private func runDueTicks() {
        guard !ticks.isEmpty else { return }
        let now = EventLoop.nowMs()
        for i in ticks.indices where ticks[i].nextMs <= now {
            ticks[i].nextMs = now + ticks[i].intervalMs
            ticks[i].body(now)
        }
    }
}
