import Dispatch
import Gossip
import Synchronization

/// How the node reaches other peers by node id: the real RPC client, or a simulated network
/// in tests. Completions may run on any thread.
public protocol PeerTransport: AnyObject, Sendable {
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void)
}

/// Runs work later or elsewhere: the real dispatch queues, or a simulated clock in tests.
public protocol NodeScheduler: AnyObject, Sendable {
    func after(ms: Int, _ work: @escaping @Sendable () -> Void)
    func async(_ work: @escaping @Sendable () -> Void)
    /// Like `after`, for per-request deadlines that rarely fire: may run up to a few ms late,
    /// on a shared timer thread, and must not block (CoarseTimer).
    func afterCoarse(ms: Int, _ work: @escaping @Sendable () -> Void)
    /// `afterCoarse` that `cancelCoarse` can drop before it is due (a request's TIMEOUT once
    /// the request is over), so pending deadlines do not keep finished requests in memory.
    /// nil: this scheduler cannot cancel (the work then runs and finds nothing to do).
    func afterCoarseCancellable(ms: Int, _ work: @escaping @Sendable () -> Void) -> UInt64?
    func cancelCoarse(_ id: UInt64)
}

extension NodeScheduler {
    public func afterCoarse(ms: Int, _ work: @escaping @Sendable () -> Void) { after(ms: ms, work) }
    public func afterCoarseCancellable(ms: Int, _ work: @escaping @Sendable () -> Void) -> UInt64? {
        afterCoarse(ms: ms, work)
        return nil
    }
    public func cancelCoarse(_ id: UInt64) {}
}

/// `NodeScheduler` on a fixed set of serial Dispatch queues, used round robin. Work here
/// blocks on fsync: a width-limited concurrent queue would run only one task per core and
/// starve group commit, while each serial queue gets a thread of its own (overcommit).
public final class DispatchNodeScheduler: NodeScheduler, @unchecked Sendable {
    private let queues: [DispatchQueue]
    private let next = Atomic<Int>(0)
    private let timer = CoarseTimer()

    public init(width: Int = 32, label: String = "chorus.node", qos: DispatchQoS = .userInitiated) {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "\(label).\($0)", qos: qos) }
    }

    private var queue: DispatchQueue {
        queues[next.wrappingAdd(1, ordering: .relaxed).oldValue % queues.count]
    }

    public func after(ms: Int, _ work: @escaping @Sendable () -> Void) {
        queue.asyncAfter(deadline: .now() + .milliseconds(ms), execute: work)
    }

    public func async(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    public func afterCoarse(ms: Int, _ work: @escaping @Sendable () -> Void) { timer.after(ms: ms, work) }
    public func afterCoarseCancellable(ms: Int, _ work: @escaping @Sendable () -> Void) -> UInt64? { timer.after(ms: ms, work) }
    public func cancelCoarse(_ id: UInt64) { timer.cancel(id) }
    /// Coarse timers still pending (for tests and INFO).
    public var pendingCoarseTimers: Int { timer.pendingCount }
}

/// `PeerTransport` over `PeerRPCClient`, resolving node ids to peer endpoints through gossip.
public final class RPCPeerTransport: PeerTransport, @unchecked Sendable {
    let client: PeerRPCClient
    let resolve: @Sendable (String) -> Endpoint?

    public init(client: PeerRPCClient, resolve: @escaping @Sendable (String) -> Endpoint?) {
        self.client = client
        self.resolve = resolve
    }

    public func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
                     completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        guard let endpoint = resolve(node) else { return completion(.failure(.unreachable("no address known for \(node)"))) }
        client.send(to: endpoint, type: type, payload: payload, timeoutMs: timeoutMs, completion: completion)
    }
}
