#if canImport(Glibc)
import Glibc
#endif

/// One queued write: its batch, and its outcome once a group commit covered it.
final class Writer {
    private(set) var batch: WriteBatch
    let sync: Bool
    /// Its durability is the syncer's business (`write(_:durable:)`): the group need not fsync for it.
    let deferred: Bool
    var done = false
    var error: StorageError?
    /// The last sequence of the group that committed it.
    var sequence: SequenceNumber = 0
    init(_ batch: consuming WriteBatch, sync: Bool = false, deferred: Bool = false) {
        self.batch = batch
        self.sync = sync
        self.deferred = deferred
    }

    /// Moves the batch out (so the leader can stamp its sequence without copying it).
    func take() -> WriteBatch {
        let b = batch
        batch = WriteBatch(rep: [])
        return b
    }
}

extension Store {
    @inlinable
    public func put(_ key: [UInt8], _ value: [UInt8], sync: Bool = false) throws(StorageError) {
        var batch = WriteBatch()
        batch.put(key, value)
        try write(batch, sync: sync)
    }

    @inlinable
    public func delete(_ key: [UInt8]) throws(StorageError) {
        var batch = WriteBatch()
        batch.delete(key)
        try write(batch)
    }

    /// Applies `batch` atomically. Under `.always` it returns only after an fsync covered it.
    ///
    /// Group commit: writers queue; the one at the head becomes leader, merges the batches
    /// queued behind it (up to 1 MiB), appends them as one WAL record, syncs once, applies
    /// them to the memtable, and wakes the followers it covered.
    /// `sync: true` fsyncs this write's group whatever the store's policy (for the few
    /// records that must never be lost, such as a counter lease).
    ///
    /// A writer that finds no queue and no commit in flight commits alone without queueing
    /// (`soloCommitting` stands in for its place at the head of the queue); writers that
    /// arrive meanwhile queue behind it as usual.
    public func write(_ batch: consuming WriteBatch, sync: Bool = false) throws(StorageError) {
        _ = try enqueueWrite(batch, sync: sync, deferred: false)
    }

    /// Applies `batch` now (WAL append and memtable: readable at once) without waiting for a
    /// sync, and calls `durable` once it is as durable as the store's policy promises: under
    /// `.always`, when the syncer's next fsync covered it (on the syncer thread); otherwise
    /// at once. A write that throws calls nothing. For callers that must not block on fsync
    /// (event loops): one fsync covers every write appended before it, from any thread.
    /// Reads may see the write before it is durable (as in Redis); the write is acknowledged
    /// only through `durable`. If the fsync fails, `durable` gets the error, the store
    /// refuses writes, and the writes it failed are never flushed or replayed.
    public func write(_ batch: consuming WriteBatch, durable: @escaping @Sendable (StorageError?) -> Void) throws(StorageError) {
        let sequence = try enqueueWrite(batch, sync: false, deferred: true)
        if let walSyncer, sequence > 0 {
            walSyncer.enqueue(sequence, durable)
        } else {
            durable(nil)
        }
    }

    /// Calls `durable` once every write applied so far is durable (at once without a
    /// syncer): for a caller that found its data already written, perhaps by a write whose
    /// fsync is still to come.
    public func whenDurable(_ durable: @escaping @Sendable (StorageError?) -> Void) {
        guard let walSyncer else { return durable(nil) }
        let (upTo, floor) = mutex.withLock { (visibleSequence, durableSequence) }
        if upTo <= floor { return durable(nil) }
        walSyncer.enqueue(upTo, durable)
    }

    /// The group commit behind both `write`s; returns the last sequence of the group that
    /// committed the batch (0 for an empty batch).
    private func enqueueWrite(_ batch: consuming WriteBatch, sync: Bool, deferred: Bool) throws(StorageError) -> SequenceNumber {
        guard !batch.isEmpty else { return 0 }
        let policySync = options.sync == .always && !deferred
        mutex.lock()
        if writers.isEmpty && !soloCommitting {
            soloCommitting = true
            do {
                try makeRoomForWrite()
            } catch {
                soloCommitting = false
                mutex.broadcast()
                mutex.unlock()
                throw error
            }
            return try commit(batch, sync: sync || policySync, followers: 0)
        }
        let me = Writer(batch, sync: sync, deferred: deferred)
        writers.append(me)
        while !me.done && (writers.first !== me || soloCommitting) { mutex.wait() }
        if me.done {
            mutex.unlock()
            if let error = me.error { throw error }
            return me.sequence
        }
        // This writer leads a group.
        do {
            try makeRoomForWrite()
        } catch {
            writers.removeFirst()
            mutex.broadcast()
            mutex.unlock()
            throw error
        }
        var last = 0
        var group = me.take()
        var syncGroup = me.sync || policySync
        let limit = group.byteSize <= 128 << 10 ? group.byteSize + (128 << 10) : 1 << 20
        var i = 1
        // A writer with an empty batch is a maintenance barrier (`withWriteLeadership`): it
        // must reach the head of the queue itself, so a group never absorbs it.
        while i < writers.count, !writers[i].batch.isEmpty, group.byteSize + writers[i].batch.byteSize <= limit {
            group.append(writers[i].batch)
            syncGroup = syncGroup || writers[i].sync || (options.sync == .always && !writers[i].deferred)
            last = i
            i += 1
        }
        return try commit(group, sync: syncGroup, followers: last + 1)
    }

    /// Commits `group` as the leader: the WAL record, the memtable, then wakes the covered
    /// writers (`followers` queued writers at the head of the queue, the leader's own entry
    /// among them; 0 for a solo commit). Called with the lock held; returns with it released.
    private func commit(_ group: consuming WriteBatch, sync syncGroup: Bool, followers: Int) throws(StorageError) -> SequenceNumber {
        let group = group
        let first = versions.lastSequence + 1
        let lastInGroup = versions.lastSequence + SequenceNumber(group.count)
        // The sequence is stamped on the log record, not on `group`: a batch still shared
        // with the caller is then never copied.
        versions.lastSequence += SequenceNumber(group.count)
        let table = mem
        let log = wal
        mutex.unlock()

        var failure: StorageError?
        do throws(StorageError) {
            try walMutex.withLock { () throws(StorageError) in
                guard let log else { throw StorageError.closed("no write-ahead log") }
                try log.addBatchRecord(group.rep, sequence: first)
                if syncGroup {
                    try syncRetiredLogs()
                    try log.file.sync()
                    StatsCounters.add(counters.walSyncs, 1)
                } else if options.sync != .always {
                    try log.file.flush()
                }
                // Under `.always` a group that needs no sync is all deferred writes, acked only
                // by the syncer, which flushes the log's buffer before its fsync: the record
                // stays in the buffer, so every deferred write between two fsyncs costs one
                // write(2) in all instead of one each.
            }
            try apply(group, sequence: first, to: table, file: "write batch", offset: 0)
        } catch {
            failure = error
        }
        StatsCounters.addSerialized(counters.walBytesWritten, UInt64(group.byteSize))
        StatsCounters.addSerialized(counters.userBytesWritten, UInt64(group.byteSize - WriteBatch.headerSize))
        StatsCounters.addSerialized(counters.writeGroups, 1)
        StatsCounters.addSerialized(counters.writes, UInt64(max(1, followers)))

        mutex.lock()
        if let failure {
            // The log may now hold a partial record: refuse further writes rather than risk
            // acknowledging one that recovery would not find.
            noteBackgroundError(failure)
        } else {
            visibleSequence = versions.lastSequence
            if syncGroup { durableSequence = max(durableSequence, lastInGroup) }
        }
        if followers == 0 {
            soloCommitting = false
        } else {
            for w in writers[0..<followers] {
                w.error = failure
                w.sequence = lastInGroup
                w.done = true
            }
            writers.removeFirst(followers)
        }
        mutex.broadcast()
        mutex.unlock()
        if let failure { throw failure }
        return lastInGroup
    }

    /// Ensures the memtable has room, switching to a new one (and log) when full and
    /// stalling while flushes or level-0 compactions fall behind. Lock held.
    func makeRoomForWrite() throws(StorageError) {
        var allowDelay = true
        while true {
            if let backgroundError { throw backgroundError }
            if closing { throw .closed("write on a closed store") }
            let level0 = versions.current.files[0].count
            if allowDelay && level0 >= options.l0SlowdownTrigger {
                // Spread the slowdown over many writes instead of one long stall.
                StatsCounters.add(counters.slowdowns, 1)
                mutex.unlock()
                usleep(1000)
                mutex.lock()
                allowDelay = false
            } else if mem.approximateMemoryUsage <= options.memtableSizeBytes {
                return
            } else if imm != nil || level0 >= options.l0StopTrigger {
                StatsCounters.add(counters.stalls, 1)
                let start = monotonicMicros()
                mutex.wait(milliseconds: 100)
                StatsCounters.add(counters.stallMicros, monotonicMicros() - start)
            } else {
                try switchMemtable()
            }
        }
    }

    /// Starts a new log and memtable; the full memtable becomes immutable. Lock held.
    ///
    /// The old log is neither synced nor closed here (an fsync of a full log on the write
    /// path would stall writers): it is retired. Any later sync of the log first syncs the
    /// retired logs and the directory (`syncRetiredLogs`), so a synced write still implies
    /// every earlier write is durable; once the flush of its memtable is in the manifest,
    /// the retired log is closed unsynced (the table holds its entries).
    func switchMemtable() throws(StorageError) {
        let number = versions.newFileNumber()
        let file = try fs.createWritable(StoreFiles.logPath(path, number))
        walMutex.withLock {
            if let old = wal { retiredLogs.append(old.file) }
            walDirectoryPending = true
            wal = LogWriter(file: file)
        }
        walNumber = number
        immLastSequence = versions.lastSequence
        imm = mem
        mem = MemTable(capacityBytes: options.memtableSizeBytes)
        mutex.signalWork()
    }

    /// Under `.periodic(ms)`: sync the log every interval until the store closes.
    func syncLoop(intervalMs: Int) {
        mutex.lock()
        while !closing {
            // Other work signals may wake this wait early: sleep out the whole interval.
            let deadline = monotonicMicros() + UInt64(intervalMs) * 1000
            var now = monotonicMicros()
            while !closing && now < deadline {
                mutex.waitForWork(milliseconds: max(1, Int((deadline - now) / 1000)))
                now = monotonicMicros()
            }
            if closing { break }
            let upTo = visibleSequence
            mutex.unlock()
            let failure: StorageError? = walMutex.withLock {
                do throws(StorageError) {
                    try syncRetiredLogs()
                    try wal?.file.sync()
                    StatsCounters.add(counters.walSyncs, 1)
                    return nil
                } catch {
                    return error
                }
            }
            mutex.lock()
            // Lock order is store mutex, then walMutex (switchMemtable): never the reverse.
            if let failure { noteBackgroundError(failure) } else { durableSequence = max(durableSequence, upTo) }
        }
        mutex.unlock()
    }
}

extension Store {
    /// Syncs and closes the retired logs, and syncs the directory if a log was created
    /// since the last sync: what must be durable before the current log may be synced.
    /// `walMutex` held.
    func syncRetiredLogs() throws(StorageError) {
        while let old = retiredLogs.first {
            try old.sync()
            try old.close()
            retiredLogs.removeFirst()
        }
        if walDirectoryPending {
            try fs.syncDirectory(path)
            walDirectoryPending = false
        }
    }

    /// Closes the retired logs without syncing them: their memtables are in durable tables
    /// now. `walMutex` held.
    func closeRetiredLogs() {
        for old in retiredLogs { try? old.close() }
        retiredLogs.removeAll()
    }
}

func monotonicMicros() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}
