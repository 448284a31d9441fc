// Group commit for writers that must not block (event loops): `Store.write(_:durable:)`
// appends to the WAL and the memtable at once, and this thread's next fsync covers the
// write. One fsync covers every write appended before it started, however many loops and
// connections they came from; the callbacks of a round run in sequence order on this thread,
// after it, never before. A failed fsync fails every write it would have covered (the
// store then refuses writes until it recovers, Store+Recovery.swift).

/// The dedicated syncer of a store opened with `sync: .always`.
final class WALSyncer: @unchecked Sendable {
    typealias Durable = @Sendable (StorageError?) -> Void

    private let condition = Condition()
    private var waiters: [(sequence: SequenceNumber, done: Durable)] = []
    private var stopping = false
    private var thread: BackgroundThread?

    private let sync: () throws(StorageError) -> SequenceNumber
    private let durableFloor: () -> SequenceNumber

    /// `sync` makes the log durable up to at least the sequence it returns; after it fails,
    /// `durableFloor` says up to where writes are durable all the same (made so by a blocking
    /// sync or a memtable flush), and those still succeed.
    init(name: String, sync: @escaping () throws(StorageError) -> SequenceNumber, durableFloor: @escaping () -> SequenceNumber) {
        self.sync = sync
        self.durableFloor = durableFloor
        thread = BackgroundThread(name: name) { [self] in run() }
    }

    /// Calls `done` once a sync covers `sequence`.
    func enqueue(_ sequence: SequenceNumber, _ done: @escaping Durable) {
        let accepted: Bool = condition.withLock {
            guard !stopping else { return false }
            waiters.append((sequence, done))
            if waiters.count == 1 { condition.signalWork() }
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

    private func run() {
        while true {
            let batch: [(sequence: SequenceNumber, done: Durable)] = condition.withLock {
                while waiters.isEmpty && !stopping { condition.waitForWork() }
                defer { waiters.removeAll(keepingCapacity: true) }
                return waiters
            }
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
