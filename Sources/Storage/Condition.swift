#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with two condition variables: the store's metadata lock. Foreground
/// waiters (queued writers, stalled writers, flush and compaction callers) wait on the main
/// one; the background threads wait on `work`, which only new background work signals, so
/// a commit does not wake the compaction thread.
final class Condition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private let workCond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        // Timed waits measure CLOCK_MONOTONIC: with the default (CLOCK_REALTIME) a wall
        // clock stepped back would stall every timed wait (the error-recovery probe, the
        // periodic sync) by the size of the step, and one stepped forward would end them early.
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        pthread_cond_init(cond, &attr)
        workCond = .allocate(capacity: 1)
        workCond.initialize(to: pthread_cond_t())
        pthread_cond_init(workCond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_cond_destroy(workCond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        workCond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a broadcast; call with the lock held.
    func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits for a broadcast or `milliseconds`; call with the lock held.
    func wait(milliseconds: Int) { timedWait(cond, milliseconds) }

    /// Background threads: waits for `signalWork` (or `milliseconds`); lock held.
    func waitForWork() { pthread_cond_wait(workCond, mutex) }
    func waitForWork(milliseconds: Int) { timedWait(workCond, milliseconds) }
    func waitForWork(microseconds: Int) { timedWait(workCond, nanoseconds: microseconds * 1000) }

    /// Wakes the background threads: there is new work (or the store is closing).
    func signalWork() { pthread_cond_broadcast(workCond) }

    private func timedWait(_ c: UnsafeMutablePointer<pthread_cond_t>, _ milliseconds: Int) {
        timedWait(c, nanoseconds: milliseconds * 1_000_000)
    }

    private func timedWait(_ c: UnsafeMutablePointer<pthread_cond_t>, nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanos = Int(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + nanoseconds / 1_000_000_000 + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_cond_timedwait(c, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(cond) }
}
