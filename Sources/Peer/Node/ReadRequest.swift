import Ring
import Synchronization

/// One read in flight at its coordinator: the read state machine, its timers and where its
/// answer goes, in one object behind one lock.
///
/// Why an object: a read used to keep its machine, its TIMEOUT timer and its late
/// deadlines in three boxes captured by a nested closure, which every timer and every
/// remote answer captured again; perf showed the retains and allocations of those captures
/// as the largest share of a GET's user time (issue 12).
final class ReadRequest: @unchecked Sendable {
    private struct State {
        var machine: ReadCoordinator<KeyRecord>
        /// The TIMEOUT and the remote replicas' late deadlines, served by one timer: late
        /// deadlines are dropped at the answer, everything once the read is finished (a
        /// pending timer would keep this object alive until it fires).
        var deadlines = RequestDeadlines()
    }

    private let state: Mutex<State>
    private let engine: NodeEngine
    private let address: KeyAddress
    private let timeoutMs: Int
    private let completion: @Sendable (Result<KeyRecord?, ClientError>) -> Void

    init(engine: NodeEngine, machine: ReadCoordinator<KeyRecord>, address: KeyAddress, timeoutMs: Int,
         completion: @escaping @Sendable (Result<KeyRecord?, ClientError>) -> Void) {
        state = Mutex(State(machine: machine))
        self.engine = engine
        self.address = address
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    func start() { perform(step { $0.start() }) }

    private func step(_ body: (inout ReadCoordinator<KeyRecord>) -> [ReadCoordinatorAction<KeyRecord>]) -> [ReadCoordinatorAction<KeyRecord>] {
        state.withLock { body(&$0.machine) }
    }

    private func nowMs() -> Int64 { engine.latency.nowUs() / 1000 }

    private func perform(_ actions: [ReadCoordinatorAction<KeyRecord>]) {
        // Deadlines first (all of a read's are known at its start: one timer armed, not one
        // re-armed), and the timer settled for them, before any action runs.
        var now: Int64?
        for action in actions {
            switch action {
            case .scheduleTimeout(let ms):
                let t = now ?? nowMs()
                now = t
                state.withLock { $0.deadlines.setTimeout(atMs: t + Int64(ms)) }
            case .read(let node) where node != engine.nodeID:
                // Past its own deadline the replica is late: a spare is read too
                // (ReadCoordinator.onLate) while this read goes on.
                let t = now ?? nowMs()
                now = t
                let at = t + Int64(engine.latency.deadlineMs(node, .replica))
                state.withLock { $0.deadlines.addLate(node, atMs: at) }
            default:
                break
            }
        }
        // Armed before any request leaves: at equal deadlines the TIMEOUT then fires before
        // the RPCs' own timeouts (armed after it), and the client is told TIMEOUT.
        settleTimer()
        for action in actions {
            switch action {
            case .scheduleTimeout:
                break
            case .read(let node):
                if node == engine.nodeID {
                    readLocal(node)
                } else {
                    readRemote(node)
                }
            case .reply(let reply):
                switch reply {
                case .value(let record):
                    completion(.success(record))
                case .failed(let failure):
                    engine.counters.bump(engine.counters.failedRequests)
                    completion(.failure(ClientError(failure.message)))
                }
            case .readRepair(let nodes, let merged):
                engine.counters.bump(engine.counters.readRepairs, UInt64(nodes.count))
                engine.repair(address, record: merged, on: nodes, timeoutMs: timeoutMs)
            }
        }
        settleTimer()
    }

    /// Arms, keeps or cancels the one timer for what is still pending.
    private func settleTimer() {
        let (cancel, arm) = state.withLock { s -> (UInt64?, (generation: UInt64, atMs: Int64)?) in
            if s.machine.isFinished {
                s.deadlines.dropAll()
            } else if s.machine.reply != nil {
                s.deadlines.dropLates()
            }
            return s.deadlines.settle()
        }
        engine.scheduler.settle((cancel, arm), nowMs: nowMs(), fire: { [self] in fire($0) },
                                record: { id, g in state.withLock { $0.deadlines.armedID(id, generation: g) } })
    }

    private func fire(_ generation: UInt64) {
        let now = nowMs()
        guard let due = state.withLock({ $0.deadlines.fired(generation: generation, nowMs: now) }) else { return }
        var actions: [ReadCoordinatorAction<KeyRecord>] = []
        for node in due.lates {
            let more = state.withLock { s -> [ReadCoordinatorAction<KeyRecord>]? in
                s.machine.hasAnswered(node) || s.machine.reply != nil ? nil : s.machine.onLate(node)
            }
            guard let more else { continue }
            engine.latency.missed(node)
            actions += more
        }
        if due.timeout { actions += step { $0.onTimeout() } }
        perform(actions)
    }

    private func readLocal(_ node: String) {
        let record: KeyRecord?
        do {
            record = try engine.replica.read(address)
        } catch {
            return perform(step { $0.onFailure(from: node) })
        }
        perform(step { $0.onReply(from: node, state: record) })
    }

    private func readRemote(_ node: String) {
        let message = ReplicaReadMessage(address: address)
        engine.transport.send(to: node, type: .replicaRead, payload: message.encode(), timeoutMs: timeoutMs) { [self] result in
            guard case .success(let bytes) = result else {
                return perform(step { $0.onFailure(from: node) })
            }
            let record: KeyRecord?
            do {
                if let raw = try ReplicaReadAnswer.decode(bytes) {
                    record = try KeyRecord(decoding: raw)
                } else {
                    record = nil
                }
            } catch {
                return perform(step { $0.onFailure(from: node) })
            }
            perform(step { $0.onReply(from: node, state: record) })
        }
    }
}
