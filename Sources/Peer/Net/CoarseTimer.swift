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
///
/// Timers are kept in shards, one per event loop (by `EventLoop.ordinal`; other threads use
/// shard 0), each behind its own lock: the loops arm and cancel timers on every request, and
/// one shared lock was contended between them (perf: `lockSlow` under `after`/`cancel`). A
/// timer's id names its shard, its slot and the slot's generation, so a cancel is an array
/// access, with no hashing, and a stale id (a slot since reused) matches nothing.
final class CoarseTimer: @unchecked Sendable {
    /// A heap entry: the deadline, an order for equal deadlines, and the slot it fires.
    private struct Entry {
        let atMs: Int64
        let seq: UInt64
        let slot: Int32
        let generation: UInt32
        func before(_ o: Entry) -> Bool { (atMs, seq) < (o.atMs, o.seq) }
    }
    /// The work of one pending timer; a cancelled or run timer frees its slot at once, so what
    /// its closure captured goes then, and its 24-byte heap entry when its deadline passes.
    private struct Slot {
        var generation: UInt32 = 0
        var work: (@Sendable () -> Void)?
    }
    private struct State {
        var heap: [Entry] = []
        var slots: [Slot] = []
        var free: [Int32] = []
        var seq: UInt64 = 0
        var live = 0
    }
    private final class Shard: Sendable {
        let state = Mutex(State())
    }
    private static let shardCount = 8
    private static let drainBatch = 64
    private let shards: [Shard] = (0..<CoarseTimer.shardCount).map { _ in Shard() }
    /// Set by the timer thread just before it sleeps with every shard empty; `after` clears
    /// it and signals. Sequentially consistent, with the shard locks between, so either the
    /// thread sees the new entry or `after` sees the flag (no lost wake-up, no shared lock).
    private let sleeping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
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

    // id: shard in the top 8 bits, slot in the next 32, generation in the low 24.
    private static func id(shard: Int, slot: Int32, generation: UInt32) -> UInt64 {
        UInt64(shard) << 56 | UInt64(UInt32(bitPattern: slot)) << 24 | UInt64(generation & 0xFF_FFFF)
    }

    /// Runs `work` after about `ms`; the returned id cancels it.
    @discardableResult
    func after(ms: Int, _ work: @escaping @Sendable () -> Void) -> UInt64 {
        let at = EventLoop.nowMs() + Int64(max(0, ms))
        let index = (EventLoop.current?.ordinal ?? 0) % Self.shardCount
        let id = shards[index].state.withLock { s -> UInt64 in
            let slot: Int32
            if let reused = s.free.popLast() {
                slot = reused
            } else {
                slot = Int32(s.slots.count)
                s.slots.append(Slot())
            }
            let generation = s.slots[Int(slot)].generation
            s.slots[Int(slot)].work = work
            s.seq += 1
            s.live += 1
            s.heap.append(Entry(atMs: at, seq: s.seq, slot: slot, generation: generation))
            Self.siftUp(&s.heap, s.heap.count - 1)
            return Self.id(shard: index, slot: slot, generation: generation)
        }
        if sleeping.load(ordering: .sequentiallyConsistent),
           sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            wake.signal()
        }
        return id
    }

    /// Drops `id`'s work if it has not run yet (a finished request's TIMEOUT): without this, at
    /// 40,000 requests a second and a 5 s TIMEOUT, 200,000 finished requests' states stayed
    /// reachable from pending timers (about 1 KB each, measured as RSS).
    func cancel(_ id: UInt64) {
        let index = Int(id >> 56)
        guard index < Self.shardCount else { return }
        let slot = Int(Int32(bitPattern: UInt32(truncatingIfNeeded: id >> 24)))
        let generation = UInt32(id & 0xFF_FFFF)
        let dropped: (@Sendable () -> Void)? = shards[index].state.withLock { s in
            Self.release(&s, slot: slot, generation: generation)
        }
        _ = dropped  // released here, outside the lock
    }

    /// Takes the slot's work if `generation` is still its generation, and frees the slot.
    private static func release(_ s: inout State, slot: Int, generation: UInt32) -> (@Sendable () -> Void)? {
        guard slot >= 0, slot < s.slots.count, s.slots[slot].generation & 0xFF_FFFF == generation,
              let work = s.slots[slot].work else { return nil }
        s.slots[slot].work = nil
        s.slots[slot].generation = (s.slots[slot].generation &+ 1) & 0xFF_FFFF
        s.free.append(Int32(slot))
        s.live -= 1
        return work
    }

    /// Timers whose work is still pending (run or cancelled ones are not counted).
    var pendingCount: Int { shards.reduce(0) { n, shard in n + shard.state.withLock { $0.live } } }

    /// Stops the thread; work not yet due never runs.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wake.signal()
    }

    private func loop() {
        while true {
            if stopped.load(ordering: .sequentiallyConsistent) { return }
            let now = EventLoop.nowMs()
            var due: [(atMs: Int64, work: @Sendable () -> Void)] = []
            var empty = true
            for shard in shards {
                // Due entries (most of them cancelled timers) leave in batches, the lock
                // released between them: a loop arming a timer waits at most one batch
                // (perf: loops blocked in the kernel on this lock while the thread drained
                // thousands of entries at once).
                var more = true
                while more {
                    more = shard.state.withLock { s -> Bool in
                        var popped = 0
                        while let first = s.heap.first, first.atMs <= now {
                            if popped == Self.drainBatch { return true }
                            if let w = Self.release(&s, slot: Int(first.slot), generation: first.generation) {
                                due.append((first.atMs, w))
                            }
                            Self.popFirst(&s.heap)
                            popped += 1
                        }
                        if !s.heap.isEmpty { empty = false }
                        return false
                    }
                }
            }
            // Shards are drained one after another; deadline order across them is restored here.
            if due.count > 1 { due.sort { $0.atMs < $1.atMs } }
            for d in due { d.work() }
            if empty {
                // Raise the flag, then look again: an `after` that came in before this look is
                // seen here, and one after it sees the flag and signals.
                sleeping.store(true, ordering: .sequentiallyConsistent)
                if shards.allSatisfy({ $0.state.withLock { $0.heap.isEmpty } }) {
                    wake.wait()
                }
                sleeping.store(false, ordering: .sequentiallyConsistent)
            } else {
                usleep(useconds_t(granularityMs * 1000))
            }
        }
    }

    private static func siftUp(_ h: inout [Entry], _ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard h[i].before(h[parent]) else { return }
            h.swapAt(i, parent)
            i = parent
        }
    }

    private static func popFirst(_ h: inout [Entry]) {
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
