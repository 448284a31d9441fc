import Synchronization

/// The node-wide bound on client commands waiting inside the node (issue 14): commands
/// parsed from any connection and not yet answered, whether queued for the engine, waiting
/// on a forward or a quorum, or in a scheduler queue. Each connection is bounded on its own
/// (`maxCommandsInFlight`), but many connections under their own bound could still grow the
/// node's queues without limit; this bounds their sum.
///
/// Full means backpressure, not an error: a connection that finds no room stops parsing and
/// reading (its client's writes back up in TCP, as against a busy Redis) and is woken once
/// a reply frees room. Nothing is refused and nothing is lost.
///
/// Any thread. `tryAcquire` never lets the count pass `limit`; `release` is called exactly
/// once per successful acquire, when the command's reply is handed back (also after its
/// connection closed: the work was still queued in the node until then).
public final class ClientRequestBudget: Sendable {
    public let limit: Int
    private let count = Atomic<Int>(0)
    /// Some connection stopped at the bound and waits for a wake-up.
    private let waiters = Atomic<Bool>(false)
    /// Times a connection stopped reading because the node was at the bound.
    public let pausedTotal = Atomic<UInt64>(0)
    /// The high-water mark of `queued` since start.
    private let peak = Atomic<Int>(0)

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Commands admitted and not yet answered.
    public var queued: Int { count.load(ordering: .relaxed) }
    /// The most commands ever admitted at once (never above `limit`).
    public var peakQueued: Int { peak.load(ordering: .relaxed) }

    /// Takes room for one command; false when the node is at the bound.
    public func tryAcquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1,
                                                              ordering: .sequentiallyConsistent)
            if exchanged {
                var high = peak.load(ordering: .relaxed)
                while high < current + 1 {
                    let (done, seen) = peak.compareExchange(expected: high, desired: current + 1, ordering: .relaxed)
                    if done { break }
                    high = seen
                }
                return true
            }
            current = original
        }
        return false
    }

    /// Takes room that cannot be refused (a reply the server writes itself at once, such as a
    /// protocol error): it is released in the same loop step, so the bound holds between steps.
    public func acquireUnchecked() { count.add(1, ordering: .sequentiallyConsistent) }

    /// A caller that found no room registers as a waiter and then tries once more, so a
    /// release between its failed try and the registration cannot be missed: either that
    /// release sees the waiter (and wakes it) or this retry sees the room.
    public func waitOrAcquire() -> Bool {
        waiters.store(true, ordering: .sequentiallyConsistent)
        if tryAcquire() { return true }
        pausedTotal.add(1, ordering: .relaxed)
        return false
    }

    /// Frees one command's room; true when a waiter should be woken (the caller wakes every
    /// loop's waiting connections: each tries again and the losers wait again).
    public func release() -> Bool {
        count.subtract(1, ordering: .sequentiallyConsistent)
        guard waiters.load(ordering: .sequentiallyConsistent) else { return false }
        return waiters.exchange(false, ordering: .sequentiallyConsistent)
    }
}
