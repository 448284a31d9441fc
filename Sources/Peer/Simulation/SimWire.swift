import Ring
import Synchronization

/// A seeded network in virtual time: each message takes 1-10 ms each way (drawn per link,
/// so one link's delays do not depend on traffic elsewhere), may be lost, and fails at its
/// deadline when lost or cut; a down node refuses at once. Faults no failure detector has
/// seen yet: a silent node (everything to and from it vanishes, as with iptables DROP), a
/// one-way drop (from -> to vanishes, the other way works), a slow node (its links' delays
/// multiplied).
final class SimWire: @unchecked Sendable {
    let clock: SimClock
    let seed: UInt64
    private struct State {
        var engines: [String: NodeEngine] = [:]
        var down: Set<String> = []
        var cuts: Set<[String]> = []
        var links: [String: SeededRandom] = [:]
        var lossPercent = 0
        /// Requests delivered twice (the copy a little later), as a retransmission might.
        var duplicatePercent = 0
        var silent: Set<String> = []
        var drops: Set<[String]> = []
        var slowFactor: [String: Int] = [:]
        /// Paused nodes (SIGSTOP): what reaches them, and what they send, waits here in
        /// order until they resume, as bytes wait in a stopped process's sockets.
        var paused: Set<String> = []
        var held: [String: [@Sendable () -> Void]] = [:]
        /// The real transport's frame bound: a request over it is refused, an answer over it
        /// becomes a remote error (PeerRPCServerConnection). nil: unbounded.
        var maxFrameBytes: Int?

        func vanishes(_ from: String, _ to: String) -> Bool {
            silent.contains(from) || silent.contains(to) || drops.contains([from, to])
        }
    }
    private let state = Mutex(State())

    init(clock: SimClock, seed: UInt64) {
        self.clock = clock
        self.seed = seed
    }

    func add(_ e: NodeEngine) { state.withLock { $0.engines[e.nodeID] = e } }
    func setDown(_ id: String, _ down: Bool) { state.withLock { if down { $0.down.insert(id) } else { $0.down.remove(id) } } }
    func setLoss(percent: Int) { state.withLock { $0.lossPercent = percent } }
    func setDuplication(percent: Int) { state.withLock { $0.duplicatePercent = percent } }
    func cut(_ a: [String], _ b: [String]) {
        state.withLock { s in for x in a { for y in b { s.cuts.insert([x, y]); s.cuts.insert([y, x]) } } }
    }
    func heal() {
        state.withLock {
            $0.cuts.removeAll()
            $0.silent.removeAll()
            $0.drops.removeAll()
            $0.slowFactor.removeAll()
        }
    }
    func setSilent(_ id: String) { state.withLock { _ = $0.silent.insert(id) } }
    func drop(from: String, to: String) { state.withLock { _ = $0.drops.insert([from, to]) } }
    func setSlow(_ id: String, factor: Int) { state.withLock { $0.slowFactor[id] = factor } }
    func pause(_ id: String) { state.withLock { _ = $0.paused.insert(id) } }
    /// The paused node runs again: everything held for it is delivered (and everything it
    /// tried to send is sent) in the order it was held.
    func resume(_ id: String) {
        let work = state.withLock { s -> [@Sendable () -> Void] in
            s.paused.remove(id)
            return s.held.removeValue(forKey: id) ?? []
        }
        for w in work { clock.async(w) }
    }
    var pausedNodes: Set<String> { state.withLock { $0.paused } }
    func setMaxFrameBytes(_ n: Int?) { state.withLock { $0.maxFrameBytes = n } }

    /// Holds `work` for `id` if it is paused; false (run it now) otherwise.
    private func holdIfPaused(_ id: String, _ work: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { s in
            guard s.paused.contains(id) else { return false }
            s.held[id, default: []].append(work)
            return true
        }
    }

    private func draw(_ from: String, _ to: String) -> (delay: Int64, lost: Bool, duplicated: Bool) {
        state.withLock { s in
            let link = from + ">" + to
            var r = s.links[link] ?? SeededRandom(seed: seed ^ KeyHash.xxh64(Array(link.utf8), seed: 7))
            let factor = max(s.slowFactor[from] ?? 1, s.slowFactor[to] ?? 1)
            let delay = Int64(r.int(1...10) * factor)
            let lost = r.chance(s.lossPercent)
            let duplicated = s.duplicatePercent > 0 && r.chance(s.duplicatePercent)
            s.links[link] = r
            return (delay, lost, duplicated)
        }
    }

    func send(from: String, to: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        if holdIfPaused(from, { [self] in send(from: from, to: to, type: type, payload: payload, timeoutMs: timeoutMs, completion: completion) }) {
            return
        }
        let once = Once(completion)
        let deadline = clock.nowMs + Int64(timeoutMs)
        clock.schedule(at: deadline) { once.call(.failure(.timeout)) }
        let (reachable, engine) = state.withLock { s in
            (!s.down.contains(from) && !s.down.contains(to) && !s.cuts.contains([from, to]), s.engines[to])
        }
        guard reachable, let engine else {
            return clock.async { once.call(.failure(.unreachable("\(to) unreachable from \(from)"))) }
        }
        let maxFrame = state.withLock { $0.maxFrameBytes }
        if let maxFrame, payload.count > maxFrame {
            return clock.async { once.call(.failure(.frameTooLarge(bytes: payload.count))) }
        }
        let there = draw(from, to)
        guard !there.lost, !state.withLock({ $0.vanishes(from, to) }) else { return }
        @Sendable func deliver() {
            if holdIfPaused(to, deliver) { return }
            guard state.withLock({ !$0.down.contains(to) && !$0.cuts.contains([from, to]) && !$0.vanishes(from, to) }),
                  state.withLock({ $0.engines[to] }) === engine else { return }
            engine.handleRPC(type: type, payload: payload) { [self] answer in
                var result = answer
                if let maxFrame, case .success(let body) = answer, body.count > maxFrame {
                    result = .failure(.remote(code: 500, message: "response too large (\(body.count) bytes)"))
                }
                let back = draw(to, from)
                guard !back.lost else { return }
                clock.schedule(at: clock.nowMs + back.delay) { [self] in
                    if state.withLock({ !$0.down.contains(from) && !$0.cuts.contains([to, from]) && !$0.vanishes(to, from) }) { once.call(result) }
                }
            }
        }
        clock.schedule(at: clock.nowMs + there.delay) { deliver() }
        if there.duplicated { clock.schedule(at: clock.nowMs + there.delay * 3 + 1) { deliver() } }
    }
}

/// Calls a completion at most once (answer or deadline, whichever comes first).
final class Once: @unchecked Sendable {
    private let lock = Mutex(false)
    private let body: @Sendable (Result<[UInt8], RPCError>) -> Void
    init(_ body: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) { self.body = body }
    func call(_ r: Result<[UInt8], RPCError>) {
        guard lock.withLock({ done in defer { done = true }; return !done }) else { return }
        body(r)
    }
}

final class SimWireTransport: PeerTransport, @unchecked Sendable {
    let wire: SimWire
    let from: String
    init(wire: SimWire, from: String) {
        self.wire = wire
        self.from = from
    }
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        wire.send(from: from, to: node, type: type, payload: payload, timeoutMs: timeoutMs, completion: completion)
    }
}
