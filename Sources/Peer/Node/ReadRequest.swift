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
        /// The TIMEOUT's timer, cancelled once the read is finished (a pending timer would
        /// keep this object alive until it fires).
        var timer: UInt64?
        /// The replicas' late deadlines, cancelled once the read has answered (after that
        /// they do nothing); nil once cancelled, so one armed later is cancelled at once.
        var lates: [UInt64]? = []
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

    private func perform(_ actions: [ReadCoordinatorAction<KeyRecord>]) {
        for action in actions {
            switch action {
            case .scheduleTimeout(let ms):
                let id = engine.scheduler.afterCoarseCancellable(ms: ms) { [self] in perform(step { $0.onTimeout() }) }
                state.withLock { $0.timer = id }
            case .read(let node):
                if node == engine.nodeID {
                    readLocal(node)
                } else {
                    armLate(node)
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
        let (timer, lates) = state.withLock { s -> (UInt64?, [UInt64]?) in
            var timer: UInt64?, lates: [UInt64]?
            if s.machine.isFinished { timer = s.timer; s.timer = nil }
            if s.machine.reply != nil { lates = s.lates; s.lates = nil }
            return (timer, lates)
        }
        if let timer { engine.scheduler.cancelCoarse(timer) }
        for id in lates ?? [] { engine.scheduler.cancelCoarse(id) }
    }

    /// Past its own deadline the replica is late: a spare is read too (ReadCoordinator.onLate)
    /// while this read goes on.
    private func armLate(_ node: String) {
        let ms = engine.latency.deadlineMs(node, .replica)
        guard let late = engine.scheduler.afterCoarseCancellable(ms: ms, { [self] in
            let actions = state.withLock { s -> [ReadCoordinatorAction<KeyRecord>]? in
                s.machine.hasAnswered(node) || s.machine.reply != nil ? nil : s.machine.onLate(node)
            }
            guard let actions else { return }
            engine.latency.missed(node)
            perform(actions)
        }) else { return }
        let kept = state.withLock { s -> Bool in
            guard s.lates != nil else { return false }
            s.lates?.append(late)
            return true
        }
        if !kept { engine.scheduler.cancelCoarse(late) }
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
