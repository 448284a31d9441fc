// The store's side of the syncer (WALSyncer.swift): the fsync it runs, what a failed one
// leaves behind, and the memtable flush's part in the promise that a write refused because
// its fsync failed is never flushed, replayed or recovered.

extension Store {
    /// The syncer's round: makes every write appended so far durable (the retired logs, the
    /// directory, then the live log, whose fsync runs outside `walMutex` so appends go on
    /// meanwhile). Returns the sequence up to which writes are now durable.
    func syncForSyncer() throws(StorageError) -> SequenceNumber {
        let (target, stopped) = mutex.withLock { (visibleSequence, backgroundError) }
        if let stopped { throw stopped }
        do throws(StorageError) {
            let file: WritableFile? = try walMutex.withLock { () throws(StorageError) -> WritableFile? in
                try syncRetiredLogs()
                try wal?.file.flush()
                return wal?.file
            }
            try file?.syncFlushed()
        } catch {
            mutex.withLock {
                // What the failed fsync covered is lost from the log's point of view
                // (fsyncgate): recovery keeps only what was durable before it.
                if backgroundError == nil { deferredFailureFloor = durableSequence }
                noteBackgroundError(error)
            }
            throw error
        }
        StatsCounters.add(counters.walSyncs, 1)
        mutex.withLock { durableSequence = max(durableSequence, target) }
        return target
    }

    /// Sequence up to which writes are known durable (after a failed fsync: those still succeed).
    func durableFloorForSyncer() -> SequenceNumber { mutex.withLock { durableSequence } }

    /// Before the immutable memtable becomes a table, its log must be durable: otherwise a
    /// write whose fsync is about to fail could reach a table. Lock NOT held.
    func syncImmutableLog() throws(StorageError) {
        let upTo = mutex.withLock { immLastSequence }
        try walMutex.withLock { () throws(StorageError) in try syncRetiredLogs() }
        mutex.withLock { durableSequence = max(durableSequence, upTo) }
    }
}

/// Skips the entries of `base` whose sequence is above `maxSequence` (error recovery after a
/// failed deferred fsync builds tables only from what was durable).
final class SequenceCappedIterator: InternalIterator {
    private let base: InternalIterator
    private let maxSequence: SequenceNumber

    init(_ base: InternalIterator, maxSequence: SequenceNumber) {
        self.base = base
        self.maxSequence = maxSequence
    }

    var isValid: Bool { base.isValid }
    var keyBytes: UnsafeRawBufferPointer { base.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { base.valueBytes }

    func seekToFirst() throws(StorageError) {
        try base.seekToFirst()
        try skip()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        try base.seek(target)
        try skip()
    }

    func next() throws(StorageError) {
        try base.next()
        try skip()
    }

    private func skip() throws(StorageError) {
        while base.isValid, let trailer = InternalKey.trailer(base.keyBytes), trailer >> 8 > maxSequence {
            try base.next()
        }
    }
}
