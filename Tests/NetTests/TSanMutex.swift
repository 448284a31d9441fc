// ThreadSanitizer builds only (scripts/sanitize.sh passes -DCHORUS_TSAN_LOCKS): a `Mutex`
// with Synchronization.Mutex's `withLock`, over a pthread mutex. TSan does not see
// Synchronization.Mutex on Linux (it takes a futex directly, unannotated), so every access
// it guards is reported as a race; pthread locks are intercepted, so under this lock TSan
// checks the code's real locking. Declared in this module, it shadows the imported type here
// only; normal builds never compile it. docs/SANITIZERS.md.
#if CHORUS_TSAN_LOCKS
import Glibc

/// TSan builds: a pthread-backed stand-in for Synchronization.Mutex (see above).
struct Mutex<Value>: ~Copyable, @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    init(_ initial: Value) {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        value = .allocate(capacity: 1)
        value.initialize(to: initial)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    borrowing func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body(&value.pointee)
    }
}
#endif
