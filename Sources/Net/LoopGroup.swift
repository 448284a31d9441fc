#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The node's event loops (one per core by default, `--loops N`): client connections and
/// peer RPC connections alike live on them, so a request runs to completion on the loop
/// that read it and its replica frames, acks and reply leave from there (docs/ARCHITECTURE.md).
public final class LoopGroup: @unchecked Sendable {
    public let loops: [EventLoop]
    private let next = Atomic<Int>(0)
    private let state = Mutex(0)  // 0 created, 1 started, 2 stopped

    /// `count` loops named `<name>-0`...; not started.
    public init(count: Int, name: String = "loop") throws(SocketError) {
        var made: [EventLoop] = []
        for i in 0..<max(1, count) { made.append(try EventLoop(name: "\(name)-\(i)")) }
        loops = made
    }

    /// The default loop count: one per online core.
    public static var defaultCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Starts every loop thread (idempotent).
    public func start() throws(SocketError) {
        let fresh = state.withLock { s -> Bool in
            guard s == 0 else { return false }
            s = 1
            return true
        }
        guard fresh else { return }
        for loop in loops { try loop.start() }
    }

    /// Stops and joins every loop (idempotent; not from a loop thread).
    public func stop() {
        let running = state.withLock { s -> Bool in
            defer { s = 2 }
            return s == 1
        }
        guard running else { return }
        for loop in loops { loop.stop() }
        for loop in loops { loop.join() }
    }

    /// The calling thread's loop when it is one of these, else nil.
    public var current: EventLoop? {
        guard let here = EventLoop.current else { return nil }
        return loops.first { $0 === here }
    }

    /// The calling thread's loop when it is one of these, else the next one round robin.
    public func pick() -> EventLoop {
        current ?? loops[next.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }
}
