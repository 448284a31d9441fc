/// The deadlines of one request at its coordinator, served by a single timer: each remote
/// target's late deadline and the request's TIMEOUT. A pure value; times are monotonic ms.
///
/// Why one timer: a request used to arm its TIMEOUT and one late deadline per remote target,
/// and to cancel them all at the answer, so three to four timers per request went through the
/// timer heap and its lock. Almost none of them ever fires; one timer at the earliest pending
/// deadline does the same work. When it fires the shell takes what is due (`takeDue`) and
/// arms the next (`next`), and a request that is over cancels it.
public struct RequestDeadlines: Equatable, Sendable {
    /// Late deadlines not yet passed or dropped, in the order they were added.
    public private(set) var lates: [(node: String, atMs: Int64)] = []
    public private(set) var timeoutAtMs: Int64?

    public init() {}

    public static func == (a: RequestDeadlines, b: RequestDeadlines) -> Bool {
        a.timeoutAtMs == b.timeoutAtMs && a.generation == b.generation
            && a.armed?.generation == b.armed?.generation && a.armed?.atMs == b.armed?.atMs && a.armed?.id == b.armed?.id
            && a.lates.elementsEqual(b.lates) { $0.node == $1.node && $0.atMs == $1.atMs }
    }

    public mutating func setTimeout(atMs: Int64) { timeoutAtMs = atMs }

    public mutating func addLate(_ node: String, atMs: Int64) { lates.append((node, atMs)) }

    /// The request has answered: late deadlines no longer matter (after the answer a late
    /// target asks for no spare).
    public mutating func dropLates() { lates.removeAll() }

    /// The request is over: nothing is due any more.
    public mutating func dropAll() {
        lates.removeAll()
        timeoutAtMs = nil
    }

    /// When the timer should fire next, or nil when nothing is pending.
    public var next: Int64? {
        let late = lates.lazy.map(\.atMs).min()
        switch (late, timeoutAtMs) {
        case let (l?, t?): return min(l, t)
        case let (l?, nil): return l
        case let (nil, t?): return t
        case (nil, nil): return nil
        }
    }

    // MARK: The one timer

    /// The timer armed (or being armed): its generation, when it fires, and the scheduler's
    /// id once known. A fire or an id for another generation is stale and changes nothing.
    public private(set) var armed: (generation: UInt64, atMs: Int64, id: UInt64?)?
    private var generation: UInt64 = 0

    /// After any change: the timer to cancel, and the deadline to arm (with its generation).
    /// A timer armed at or before the next deadline is kept: it fires, finds less or nothing
    /// due, and the next `settle` arms the rest.
    public mutating func settle() -> (cancel: UInt64?, arm: (generation: UInt64, atMs: Int64)?) {
        let target = next
        var cancel: UInt64?
        if let current = armed {
            if let target, current.atMs <= target { return (nil, nil) }
            cancel = current.id
            armed = nil
        }
        guard let target else { return (cancel, nil) }
        generation += 1
        armed = (generation, target, nil)
        return (cancel, (generation, target))
    }

    /// The scheduler's id for the timer of `generation`; false when that timer is no longer
    /// wanted (the caller cancels the id).
    public mutating func armedID(_ id: UInt64?, generation g: UInt64) -> Bool {
        guard armed?.generation == g else { return false }
        armed?.id = id
        return true
    }

    /// The timer of generation `g` fired at `nowMs`: what is due, or nil when it was stale.
    public mutating func fired(generation g: UInt64, nowMs: Int64) -> (lates: [String], timeout: Bool)? {
        guard armed?.generation == g else { return nil }
        armed = nil
        return takeDue(nowMs: nowMs)
    }

    /// Removes and returns what is due at `nowMs`: the late targets, and whether the TIMEOUT is.
    public mutating func takeDue(nowMs: Int64) -> (lates: [String], timeout: Bool) {
        var due: [String] = []
        lates.removeAll { entry in
            guard entry.atMs <= nowMs else { return false }
            due.append(entry.node)
            return true
        }
        var timeout = false
        if let t = timeoutAtMs, t <= nowMs {
            timeout = true
            timeoutAtMs = nil
        }
        return (due, timeout)
    }
}

extension NodeScheduler {
    /// Carries out what `RequestDeadlines.settle()` decided: cancels the timer it names, arms
    /// the one it asks for (`fire` gets its generation), and hands the new id to `record`,
    /// which says whether that timer is still wanted (if not, it is cancelled at once).
    func settle(_ decided: (cancel: UInt64?, arm: (generation: UInt64, atMs: Int64)?), nowMs: Int64,
                fire: @escaping @Sendable (UInt64) -> Void, record: (UInt64?, UInt64) -> Bool) {
        if let cancel = decided.cancel { cancelCoarse(cancel) }
        guard let arm = decided.arm else { return }
        let generation = arm.generation
        let id = afterCoarseCancellable(ms: max(0, Int(arm.atMs - nowMs))) { fire(generation) }
        if !record(id, generation), let id { cancelCoarse(id) }
    }
}
