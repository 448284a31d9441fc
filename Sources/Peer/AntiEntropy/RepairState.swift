import Synchronization

/// Anti-entropy's bookkeeping on one node: when each replica last compared equal with this
/// one per tree (which is what lets tombstones be reaped), a round-robin position, a byte
/// budget (rate limit), and counters for INFO.
final class RepairState: Sendable {
    struct State {
        /// tree -> peer -> start time (ms) of the last comparison that found the trees equal.
        var lastEqual: [TreeID: [String: UInt64]] = [:]
        var nextIndex = 0
        /// Bytes moved beyond the budget; the rate limit waits until refills pay it off.
        var debtBytes: Int = 0
        var lastRefillMs: Int64 = 0
    }
    let state = Mutex(State())

    let exchanges = Atomic<UInt64>(0)
    let equalExchanges = Atomic<UInt64>(0)
    let keysSent = Atomic<UInt64>(0)
    let keysReceived = Atomic<UInt64>(0)
    let bytesMoved = Atomic<UInt64>(0)
    let tombstonesReaped = Atomic<UInt64>(0)
    let failures = Atomic<UInt64>(0)
    /// Segment answers cut at the byte bound (the rest is sent by later comparisons).
    let answersCut = Atomic<UInt64>(0)

    func recordEqual(_ id: TreeID, peer: String, at ms: UInt64) {
        state.withLock { s in
            let previous = s.lastEqual[id]?[peer] ?? 0
            s.lastEqual[id, default: [:]][peer] = max(previous, ms)
        }
    }

    /// When every one of `peers` last compared equal with us for `id` (the oldest of those
    /// times), 0 when one never did.
    func confirmedAt(_ id: TreeID, peers: [String]) -> UInt64 {
        state.withLock { s in
            var oldest = UInt64.max
            for p in peers { oldest = min(oldest, s.lastEqual[id]?[p] ?? 0) }
            return oldest
        }
    }

    /// Takes `bytes` from the budget of `bytesPerSecond`; false when the budget is spent.
    func hasBudget(nowMs: Int64, bytesPerSecond: Int) -> Bool {
        state.withLock { s in
            let elapsed = max(0, nowMs - s.lastRefillMs)
            s.lastRefillMs = nowMs
            s.debtBytes = max(0, s.debtBytes - Int(min(elapsed, 60_000)) * bytesPerSecond / 1000)
            return s.debtBytes == 0
        }
    }

    func charge(_ bytes: Int) {
        bytesMoved.wrappingAdd(UInt64(bytes), ordering: .relaxed)
        state.withLock { $0.debtBytes += bytes }
    }
}
