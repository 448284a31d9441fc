#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// A joinable OS thread running one closure (the store's flush/compaction and sync loops).
final class BackgroundThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var started = false

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(name: String, _ body: @escaping () -> Void) {
        // The OS name (the kernel keeps 15 bytes) is what top -H and perf show for the thread.
        let box = Unmanaged.passRetained(Box({ chorus_set_thread_name(name); body() })).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc == 0 {
            started = true
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
        }
    }

    var isRunning: Bool { started }

    func join() {
        guard started else { return }
        pthread_join(thread, nil)
        started = false
    }
}
