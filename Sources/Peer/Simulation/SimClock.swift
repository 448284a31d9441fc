import Synchronization

/// Virtual time for the deterministic simulation: work runs in (time, order of scheduling)
/// order on the caller's thread, and the clock jumps from one event to the next. Simulation
/// only (docs/FAULTS.md, "Simulated faults"): no running node uses it.
final class SimClock: NodeScheduler, @unchecked Sendable {
    private struct Event {
        let at: Int64
        let seq: Int
        let work: @Sendable () -> Void
    }
    private let state = Mutex<(now: Int64, seq: Int, events: [Event])>((1_700_000_000_000, 0, []))

    var nowMs: Int64 { state.withLock { $0.now } }
    /// The virtual wall clock (Unix-epoch ms): the virtual time, which starts in 2023.
    var wallMs: Int64 { nowMs }

    func after(ms: Int, _ work: @escaping @Sendable () -> Void) { schedule(at: nowMs + Int64(max(0, ms)), work) }
    func async(_ work: @escaping @Sendable () -> Void) { schedule(at: nowMs, work) }

    func schedule(at: Int64, _ work: @escaping @Sendable () -> Void) {
        state.withLock { s in
            s.seq += 1
            let e = Event(at: max(at, s.now), seq: s.seq, work: work)
            // Events are kept sorted; insertion is a binary search.
            var lo = 0, hi = s.events.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let m = s.events[mid]
                if (m.at, m.seq) < (e.at, e.seq) { lo = mid + 1 } else { hi = mid }
            }
            s.events.insert(e, at: lo)
        }
    }

    /// Runs events until `condition` holds or `maxMs` of virtual time pass; true if it held.
    /// A costly condition can be checked only every `checkEveryMs` of virtual time.
    @discardableResult
    func run(forMs maxMs: Int64, checkEveryMs: Int64 = 0, until condition: () -> Bool = { false }) -> Bool {
        let end = nowMs + maxMs
        var steps = 0
        var nextCheck = nowMs
        while true {
            if nowMs >= nextCheck {
                if condition() { return true }
                nextCheck = nowMs + checkEveryMs
            }
            let next = state.withLock { s -> Event? in
                guard let e = s.events.first, e.at <= end else { return nil }
                s.events.removeFirst()
                s.now = e.at
                return e
            }
            guard let next else {
                state.withLock { $0.now = max($0.now, end) }
                return condition()
            }
            next.work()
            steps += 1
            if steps > 20_000_000 { return false }
        }
    }
}
