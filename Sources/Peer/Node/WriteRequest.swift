import Net
import Synchronization

/// One write being coordinated at this node (stage 2, after CoordinatorRouter): the write
/// state machine, the versioned record, its timers and where the answer goes, in one object
/// behind one lock. It versions the write locally, replicates it, and counts W acks.
///
/// Why an object: like `ReadRequest`, it replaces a box and nested closures that every timer,
/// durability callback and ack captured again (issue 12: allocations and retains per request).
final class WriteRequest: @unchecked Sendable {
    private struct State {
        var machine: WriteCoordinator
        var record: [UInt8] = []
        var answered = false
        /// The deferred store step: versioned already, and a durability outcome that
        /// arrived (from the syncer) before the versioning was reported.
        var versioned = false
        var earlyDurable: Bool?
        /// The TIMEOUT and the replicas' late deadlines, served by one timer and dropped at the
        /// answer (after it neither does anything), so no timer keeps this request alive.
        var deadlines = RequestDeadlines()
    }

    private let state: Mutex<State>
    private let engine: NodeEngine
    private let plan: NodeEngine.WritePlan
    private let timeoutMs: Int
    private let value: SiblingValue
    private let completion: @Sendable (ClientError?) -> Void

    init(engine: NodeEngine, plan: NodeEngine.WritePlan, timeoutMs: Int, completion: @escaping @Sendable (ClientError?) -> Void) {
        state = Mutex(State(machine: WriteCoordinator(replicas: plan.replicas, localNode: engine.nodeID, w: plan.resolved.spec.w,
                                                      strict: plan.resolved.strict, timeoutMs: timeoutMs)))
        self.engine = engine
        self.plan = plan
        self.timeoutMs = timeoutMs
        self.value = plan.request.value.map { .value($0) } ?? .tombstone
        self.completion = completion
    }

    func start() { perform(step { $0.machine.start() }) }

    private func step<R>(_ body: (inout State) -> R) -> R { state.withLock { body(&$0) } }

    private func nowMs() -> Int64 { engine.latency.nowUs() / 1000 }

    private func answer(_ error: ClientError?) {
        let first = step { s -> Bool in
            defer { s.answered = true }
            return !s.answered
        }
        settleTimer()
        if first { completion(error) }
    }

    private func perform(_ actions: [WriteCoordinatorAction]) {
        // Deadlines first, and the timer settled for them, before any action runs.
        var now: Int64?
        for action in actions {
            switch action {
            case .scheduleTimeout(let ms):
                let t = now ?? nowMs()
                now = t
                step { s in if !s.answered { s.deadlines.setTimeout(atMs: t + Int64(ms)) } }
            case .replicate(let node, _):
                // Past its own deadline the target is late: a spare takes a hinted copy
                // (WriteCoordinator.onLate) while the send goes on.
                let t = now ?? nowMs()
                now = t
                let at = t + Int64(engine.latency.deadlineMs(node, .replica))
                step { s in if !s.answered { s.deadlines.addLate(node, atMs: at) } }
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
            case .applyLocally(nil, _) where EventLoop.current != nil:
                applyDeferred()
            case .applyLocally(let hintFor, _):
                if applyBlocking(hintFor: hintFor) {
                    settleTimer()
                    return
                }
            case .replicate(let node, let hintFor):
                replicate(to: node, hintFor: hintFor)
            case .reply(let reply):
                switch reply {
                case .ok: answer(nil)
                case .failed(let failure):
                    engine.counters.bump(engine.counters.failedRequests)
                    answer(ClientError(failure.message))
                }
            }
        }
        settleTimer()
    }

    /// Arms, keeps or cancels the one timer for what is still pending.
    private func settleTimer() {
        let (cancel, arm) = step { s -> (UInt64?, (generation: UInt64, atMs: Int64)?) in
            if s.answered { s.deadlines.dropAll() }
            return s.deadlines.settle()
        }
        engine.scheduler.settle((cancel, arm), nowMs: nowMs(), fire: { [self] in fire($0) },
                                record: { id, g in step { $0.deadlines.armedID(id, generation: g) } })
    }

    private func fire(_ generation: UInt64) {
        let now = nowMs()
        guard let due = step({ $0.deadlines.fired(generation: generation, nowMs: now) }) else { return }
        var actions: [WriteCoordinatorAction] = []
        for node in due.lates {
            let more = step { s -> [WriteCoordinatorAction]? in
                s.machine.hasAnswered(node) || s.machine.reply != nil ? nil : s.machine.onLate(node)
            }
            guard let more else { continue }
            engine.latency.missed(node)
            actions += more
        }
        if due.timeout { actions += step { $0.machine.onTimeout() } }
        perform(actions)
    }

    /// On a loop: applied now, durable when the syncer says so; the replica frames leave
    /// after the key's lock is released, while the fsync runs.
    private func applyDeferred() {
        do {
            let result = try engine.versionLocally(plan, value: value, durable: { [self] error in
                perform(step { s in
                    guard s.versioned else {
                        s.earlyDurable = error == nil
                        return []
                    }
                    return s.machine.onLocalDurable(ok: error == nil)
                })
            })
            switch result {
            case .written(let record):
                let bytes = record.encode()
                perform(step { s in
                    s.record = bytes
                    s.versioned = true
                    var actions = s.machine.onLocalVersioned()
                    if let ok = s.earlyDurable { actions += s.machine.onLocalDurable(ok: ok) }
                    return actions
                })
            case .refused(let line):
                answer(ClientError(line))
            case .unchanged:
                answer(nil)  // a read-modify-write that writes nothing
            }
        } catch {
            answer(ClientError("UNAVAILABLE the coordinating replica could not store the write: \(error)"))
        }
    }

    /// Off the loops (or as a fallback keeping a hint): the store blocks until durable.
    /// Replication starts as soon as the write is versioned, while the local fsync runs: the
    /// latency is the slower of the two, not their sum. True when the request is over here
    /// (the remaining actions of this batch are not performed).
    private func applyBlocking(hintFor: String?) -> Bool {
        var started = false
        let outcome: Result<KeyRecord, ClientError>
        do {
            let result = try engine.versionLocally(plan, value: value) { [self] record in
                started = true
                let bytes = record.encode()
                perform(step { s in
                    s.record = bytes
                    return s.machine.onLocalVersioned()
                })
            }
            switch result {
            case .written(let record): outcome = .success(record)
            case .refused(let line): outcome = .failure(ClientError(line))
            case .unchanged:
                answer(nil)  // a read-modify-write that writes nothing
                return true
            }
        } catch {
            outcome = .failure(ClientError("UNAVAILABLE the coordinating replica could not store the write: \(error)"))
        }
        switch outcome {
        case .failure(let e):
            if started {
                perform(step { $0.machine.onLocalDurable(ok: false) })
            } else {
                answer(e)
            }
            return true
        case .success(let record):
            if let owner = hintFor, (try? engine.replica.hints.add(target: owner, address: plan.address, record: record.encode())) != true {
                engine.counters.bump(engine.counters.hintsRefused)
                // A fallback that could not keep the hint does not count as a copy.
                perform(step { $0.machine.onLocalDurable(ok: false) })
                return true
            }
            perform(step { $0.machine.onLocalDurable(ok: true) })
            return false
        }
    }

    private func replicate(to node: String, hintFor: String?) {
        let bytes = step { $0.record }
        let message = ReplicaWriteMessage(address: plan.address, record: bytes, hintFor: hintFor)
        engine.transport.send(to: node, type: .replicaWrite, payload: message.encode(), timeoutMs: timeoutMs) { [self] result in
            switch result {
            case .success: perform(step { $0.machine.onAck(from: node) })
            case .failure: perform(step { $0.machine.onNack(from: node) })
            }
        }
    }
}
