import Net
import Foundation
import Synchronization
import CSystem

/// Runs work at deadlines that may be late by up to `granularityMs`, all from one thread: the
/// per-request timers of the coordinators (request TIMEOUTs, forward and replica deadlines).
///
/// Why not `DispatchQueue.asyncAfter`: a request arms two to four such timers and almost
/// none of them fires before the request is over, yet each one that fires wakes a thread;
/// at thousands of requests a second that is thousands of context switches. Here the thread
/// sleeps while nothing is pending and otherwise wakes once per `granularityMs`, whatever the
/// request rate, runs what is due, and a finished request's work finds nothing to do.
///
/// Contract: `after` may be called from any thread; work runs on the timer thread, in
/// deadline order, and must not block (it may send, reply, or hand work to a queue).
/// Pending work is bounded only by the requests in flight, each of which arms a few.
final class CoarseTimer: @unchecked Sendable {
    /// The heap holds only (deadline, id); the work lives in `work` until it runs or is
    /// cancelled, so a cancelled timer frees what its closure captured at once, and the
    /// 16 bytes left in the heap go when its deadline passes.
    private struct Entry {
        let atMs: Int64
        let seq: UInt64
        func before(_ o: Entry) -> Bool { (atMs, seq) < (o.atMs, o.seq) }
    }
    private struct State {
        var heap: [Entry] = []
        var work: [UInt64: @Sendable () -> Void] = [:]
        var seq: UInt64 = 0
        var sleeping = false
        var stopped = false
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    let granularityMs: Int64

    init(granularityMs: Int64 = 10, name: String = "chorus.timer") {
        self.granularityMs = max(1, granularityMs)
        let t = Thread { [self] in
            chorus_set_thread_name(name)
            loop()
        }
        t.name = name
        t.start()
    }

    /// Runs `work` after about `ms`; the returned id cancels it.
    @discardableResult
    func after(ms: Int, _ work: @escaping @Sendable () -> Void) -> UInt64 {
        let at = EventLoop.nowMs() + Int64(max(0, ms))
        let (id, wasSleeping) = state.withLock { s -> (UInt64, Bool) in
            s.seq += 1
            s.heap.append(Entry(atMs: at, seq: s.seq))
            s.work[s.seq] = work
            siftUp(&s.heap, s.heap.count - 1)
            defer { s.sleeping = false }
            return (s.seq, s.sleeping)
        }
        if wasSleeping { wake.signal() }
        return id
    }

    /// Drops `id`'s work if it has not run yet (a finished request's TIMEOUT): without this, at
    /// 40,000 requests a second and a 5 s TIMEOUT, 200,000 finished requests' states stayed
    /// reachable from pending timers (about 1 KB each, measured as RSS).
    func cancel(_ id: UInt64) {
        _ = state.withLock { $0.work.removeValue(forKey: id) }
    }

    /// Timers whose work is still pending (run or cancelled ones are not counted).
    var pendingCount: Int { state.withLock { $0.work.count } }

    /// Stops the thread; work not yet due never runs.
    func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    private func loop() {
        while true {
            let now = EventLoop.nowMs()
            var due: [@Sendable () -> Void] = []
            let (stopped, idle) = state.withLock { s -> (Bool, Bool) in
                while let first = s.heap.first, first.atMs <= now {
                    if let w = s.work.removeValue(forKey: first.seq) { due.append(w) }
                    popFirst(&s.heap)
                }
                if s.heap.isEmpty && !s.stopped { s.sleeping = true }
                return (s.stopped, s.heap.isEmpty)
            }
            if stopped { return }
            for w in due { w() }
            if idle {
                wake.wait()
            } else {
                usleep(useconds_t(granularityMs * 1000))
            }
        }
    }

    private func siftUp(_ h: inout [Entry], _ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard h[i].before(h[parent]) else { return }
            h.swapAt(i, parent)
            i = parent
        }
    }

    private func popFirst(_ h: inout [Entry]) {
        let last = h.removeLast()
        guard !h.isEmpty else { return }
        h[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < h.count && h[l].before(h[m]) { m = l }
            if r < h.count && h[r].before(h[m]) { m = r }
            if m == i { return }
            h.swapAt(i, m)
            i = m
        }
    }
}
