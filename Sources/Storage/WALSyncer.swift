// Group commit for writers that must not block (event loops): `Store.write(_:durable:)`
// appends to the WAL and the memtable at once, and this thread's next fsync covers the
// write. One fsync covers every write appended before it started, however many loops and
// connections they came from; the callbacks of a round run in sequence order on this thread,
// after it, never before. Under load a round first lets writes gather for a short while
// (`windowUs`): on the 2-core VM this was measured on, an fsync costs about 70 µs of CPU, and
// covering twice the writes per fsync cut a 3-peer SET from about 100 to 80 µs of CPU.
// A failed fsync fails every write it would have covered (the store then refuses writes
// until it recovers, Store+Recovery.swift).

#if canImport(Glibc)
import Glibc
#endif

/// The dedicated syncer of a store opened with `sync: .always`.
final class WALSyncer: @unchecked Sendable {
    typealias Durable = @Sendable (StorageError?) -> Void

    private let condition = Condition()
    private var waiters: [(sequence: SequenceNumber, done: Durable)] = []
    private var stopping = false
    /// While the syncer gathers writes before a round, the count that ends the wait early.
    private var gatherTarget = 0
    private var thread: BackgroundThread?

    private let sync: () throws(StorageError) -> SequenceNumber
    private let durableFloor: () -> SequenceNumber
    private let gatherMaxUs: Int

    /// `sync` makes the log durable up to at least the sequence it returns; after it fails,
    /// `durableFloor` says up to where writes are durable all the same (made so by a blocking
    /// sync or a memtable flush), and those still succeed.
    init(name: String, gatherMaxUs: Int = 1_000, sync: @escaping () throws(StorageError) -> SequenceNumber,
         durableFloor: @escaping () -> SequenceNumber) {
        self.gatherMaxUs = gatherMaxUs
        self.sync = sync
        self.durableFloor = durableFloor
        thread = BackgroundThread(name: name) { [self] in run() }
    }

    /// Calls `done` once a sync covers `sequence`.
    func enqueue(_ sequence: SequenceNumber, _ done: @escaping Durable) {
        let accepted: Bool = condition.withLock {
            guard !stopping else { return false }
            waiters.append((sequence, done))
            if waiters.count == 1 || waiters.count == gatherTarget { condition.signalWork() }
            return true
        }
        if !accepted { done(.closed("write on a closing store")) }
    }

    /// Runs the last round for what is queued, then ends the thread.
    func stop() {
        condition.withLock {
            stopping = true
            condition.signalWork()
        }
        thread?.join()
        thread = nil
    }

    /// How long a round may wait for writes to gather before its fsync: only after a round
    /// that covered several writes (a lone writer is never held back), at most four fsyncs'
    /// time and `gatherMaxUs`. The wait ends early once as many writes are queued as the last
    /// round covered: under a steady load those writers are back, and waiting longer buys little.
    static func windowUs(lastBatch: Int, lastSyncUs: Int, maxUs: Int) -> Int {
        guard lastBatch >= 2, maxUs > 0 else { return 0 }
        return min(maxUs, max(100, 4 * lastSyncUs))
    }

    private static func nowUs() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int(t.tv_sec) * 1_000_000 + Int(t.tv_nsec) / 1000
    }

    private func run() {
        var lastBatch = 0
        var lastSyncUs = 0
        while true {
            let batch: [(sequence: SequenceNumber, done: Durable)] = condition.withLock {
                while waiters.isEmpty && !stopping { condition.waitForWork() }
                let window = Self.windowUs(lastBatch: lastBatch, lastSyncUs: lastSyncUs, maxUs: gatherMaxUs)
                if window > 0 && waiters.count < lastBatch && !stopping {
                    gatherTarget = lastBatch
                    condition.waitForWork(microseconds: window)
                    gatherTarget = 0
                }
                defer { waiters.removeAll(keepingCapacity: true) }
                return waiters
            }
            lastBatch = batch.count
            let started = Self.nowUs()
            defer { lastSyncUs = Self.nowUs() - started }
            if batch.isEmpty { return }
            var i = 0
            do throws(StorageError) {
                var durable = try sync()
                // Waiters queue in append order, but one appended after the sync began is
                // not covered: sync again for it.
                while i < batch.count {
                    if batch[i].sequence > durable { durable = try sync() }
                    batch[i].done(nil)
                    i += 1
                }
            } catch {
                let floor = durableFloor()
                while i < batch.count {
                    batch[i].done(batch[i].sequence <= floor ? nil : error)
                    i += 1
                }
            }
        }
    }
}
