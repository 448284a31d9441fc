import Net
import Foundation
import Gossip
import Synchronization

/// Sends RPCs to peers: one `ConnectionPool` per peer address, request ids, deadlines.
///
/// Every request completes exactly once: with the answer, the peer's error, `.timeout` when
/// its deadline passes (a scan thread checks every `deadlineScanIntervalMs`),
/// `.connectionLost`, `.overloaded`, `.unreachable`, `.authenticationFailed` or `.shutdown`.
/// Completions run on the connection reader, the scan thread or the caller's thread (for
/// immediate failures), never under a lock; they must not block for long.
/// Thread-safe; call `shutdown()` to stop its threads.
public final class PeerRPCClient: @unchecked Sendable {
    public let config: PeerRPCConfig
    public let counters: RPCCounters
    private let pools = Mutex<[Endpoint: ConnectionPool]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let stopped = Atomic(false)
    private let scanWake = DispatchSemaphore(value: 0)
    private let scanDone = DispatchSemaphore(value: 0)

    /// The loops the connections live on; `ownsLoops`: made here, stopped by `shutdown`.
    let loops: LoopGroup
    private let ownsLoops: Bool

    /// `loops`: the node's event loops (nil: one loop of the client's own, for tools and tests).
    public init(config: PeerRPCConfig, counters: RPCCounters = RPCCounters(), loops: LoopGroup? = nil) throws(SocketError) {
        self.config = config
        self.counters = counters
        (self.loops, ownsLoops) = try LoopGroup.given(loops, orOwn: "rpc-client")
        if ownsLoops { try self.loops.start() }
        let t = Thread { [self] in
            scanLoop()
            scanDone.signal()
        }
        t.name = "rpc-deadlines"
        t.start()
    }

    /// Sends a request; `completion` gets the peer's answer or why there is none.
    /// `timeoutMs` nil = `config.defaultTimeoutMs`.
    public func send(to peer: Endpoint, type: PeerMessageType, payload: [UInt8], timeoutMs: Int? = nil,
                     completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        let budget = Self.budget(timeoutMs ?? config.defaultTimeoutMs)
        let size = FrameFormat.headerBytes + payload.count
        guard size <= config.maxFrameBytes else { return completion(.failure(.frameTooLarge(bytes: size))) }
        guard !stopped.load(ordering: .acquiring) else { return completion(.failure(.shutdown)) }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let p = RPCPending(id: id, type: type, payload: payload, deadline: RPCDeadline.now().adding(ms: budget), completion: completion)
        pool(for: peer).submit(p)
    }

    /// Blocks until the answer or the timeout: for tools and tests, never on a reader thread.
    public func call(to peer: Endpoint, type: PeerMessageType, payload: [UInt8], timeoutMs: Int? = nil) -> Result<[UInt8], RPCError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<[UInt8], RPCError>?>(nil)
        send(to: peer, type: type, payload: payload, timeoutMs: timeoutMs) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        // The scan completes the request by its deadline; the margin only guards against a bug.
        let budget = Self.budget(timeoutMs ?? config.defaultTimeoutMs)
        guard done.wait(timeout: .now() + .milliseconds(budget + 5_000)) == .success else { return .failure(.timeout) }
        return box.withLock { $0 } ?? .failure(.timeout)
    }

    /// Best-effort one-way message: false when no connection to the peer is open right now
    /// (one is then opened for the next time) or the write failed.
    @discardableResult
    public func sendOneWay(to peer: Endpoint, type: PeerMessageType, payload: [UInt8]) -> Bool {
        guard !stopped.load(ordering: .acquiring), FrameFormat.headerBytes + payload.count <= config.maxFrameBytes else { return false }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return pool(for: peer).sendOneWay(Frame(kind: .oneWay, type: type.rawValue, requestID: id, payload: payload))
    }

    /// Open connections to `peer` (for tests and /status).
    public func openConnections(to peer: Endpoint) -> Int {
        pools.withLock { $0[peer] }?.openConnections ?? 0
    }

    /// Drops the pool of a peer that left the cluster: its connections close and its
    /// pending requests fail with `.shutdown`.
    public func forget(_ peer: Endpoint) {
        pools.withLock { $0.removeValue(forKey: peer) }?.close()
    }

    /// Fails everything pending with `.shutdown`, closes all connections, stops the scan thread.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        scanWake.signal()
        _ = scanDone.wait(timeout: .now() + .seconds(5))
        let all = pools.withLock { p -> [ConnectionPool] in
            defer { p.removeAll() }
            return Array(p.values)
        }
        for pool in all { pool.close() }
        if ownsLoops { loops.stop() }
    }

    /// A request's budget in ms: at least 1, at most what the wire's u32 carries.
    static func budget(_ ms: Int) -> Int { min(max(1, ms), Int(UInt32.max)) }

    private func pool(for peer: Endpoint) -> ConnectionPool {
        pools.withLock { p in
            if let existing = p[peer] { return existing }
            let created = ConnectionPool(peer: peer, config: config, counters: counters, loops: loops)
            p[peer] = created
            return created
        }
    }

    private func scanLoop() {
        let interval = max(1, config.deadlineScanIntervalMs)
        while !stopped.load(ordering: .acquiring) {
            _ = scanWake.wait(timeout: .now() + .milliseconds(interval))
            let now = RPCDeadline.now()
            let all = pools.withLock { Array($0.values) }
            for pool in all {
                for p in pool.expire(now: now) {
                    RPCCounters.add(counters.timeouts)
                    p.completion(.failure(.timeout))
                }
            }
        }
    }
}
