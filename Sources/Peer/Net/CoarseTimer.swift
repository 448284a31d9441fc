import Foundation
import Synchronization

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
    private struct Entry {
        let atMs: Int64
        let seq: UInt64
        let work: @Sendable () -> Void
        func before(_ o: Entry) -> Bool { (atMs, seq) < (o.atMs, o.seq) }
    }
    private struct State {
        var heap: [Entry] = []
        var seq: UInt64 = 0
        var sleeping = false
        var stopped = false
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    let granularityMs: Int64

    init(granularityMs: Int64 = 10, name: String = "chorus.timer") {
        self.granularityMs = max(1, granularityMs)
        let t = Thread { [self] in loop() }
        t.name = name
        t.start()
    }

    func after(ms: Int, _ work: @escaping @Sendable () -> Void) {
        let at = EventLoop.nowMs() + Int64(max(0, ms))
        let wasSleeping = state.withLock { s -> Bool in
            s.seq += 1
            s.heap.append(Entry(atMs: at, seq: s.seq, work: work))
            siftUp(&s.heap, s.heap.count - 1)
            defer { s.sleeping = false }
            return s.sleeping
        }
        if wasSleeping { wake.signal() }
    }

    /// Stops the thread; work not yet due never runs.
    func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    private func loop() {
        while true {
            let now = EventLoop.nowMs()
            var due: [Entry] = []
            let (stopped, idle) = state.withLock { s -> (Bool, Bool) in
                while let first = s.heap.first, first.atMs <= now {
                    due.append(first)
                    popFirst(&s.heap)
                }
                if s.heap.isEmpty && !s.stopped { s.sleeping = true }
                return (s.stopped, s.heap.isEmpty)
            }
            if stopped { return }
            for e in due { e.work() }
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
