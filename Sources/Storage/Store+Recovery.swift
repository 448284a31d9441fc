// Resuming after a write error, by itself (RocksDB's error handler with auto-recovery from
// a full disk, reduced to what this engine needs).
//
// What stops writes: a failed WAL append or sync, a failed periodic sync, a failed flush
// or compaction, a failed manifest write (a range deletion's too: the manifest is never
// appended to again, VersionSet.manifestFailure). The store then refuses every write with that error (`backgroundError`),
// keeps serving reads, and the background thread probes every `errorRecoveryIntervalMs`.
//
// Why not just retry the failed call: after a failed fsync the kernel may already have
// dropped the dirty pages it could not write and marked them clean, so a second fsync
// "succeeds" without the data ever reaching the disk (PostgreSQL's fsyncgate, 2018). The
// log from the failed record on is therefore treated as lost and never synced or replayed
// again. What survives instead is the memtable: it holds exactly the writes that committed
// (a group is applied to it only after its WAL record was written and, if asked, synced),
// never the failed group. So one recovery attempt is:
//   1. wait until no commit is in flight (every queued writer sees the error and leaves);
//   2. write the immutable memtable and the memtable to new level-0 tables, synced;
//   3. create a new log, sync the directory;
//   4. write a fresh manifest naming the new tables and the new log as the oldest to
//      replay (the old manifest may end in a half-written edit of its own);
//   5. only then, switch to the new log and empty memtables and clear the error. The old
//      logs are abandoned and deleted: nothing in them is needed, and the failed record in
//      them is never replayed, so a refused write can never reappear after a restart.
// Any step failing (the disk still full) leaves everything as it was; the next probe tries
// again. Nothing is lost (every committed write is in a synced table before the error is
// cleared) or duplicated (the memtables are replaced by their tables in one step).
// Corruption and misuse are not retried: they need an operator.

extension Store {
    /// The error stopping writes now, nil when the store accepts them.
    public var writeError: StorageError? { mutex.withLock { backgroundError } }

    /// Records the error that stops writes (the first one wins). Lock held.
    func noteBackgroundError(_ error: StorageError) {
        guard backgroundError == nil else { return }
        backgroundError = error
        StatsCounters.add(counters.writeErrors, 1)
        // Wake the background thread, which may sleep waiting for work: it runs the probes.
        mutex.signalWork()
    }

    /// On the background thread, lock held, `backgroundError` set: waits one probe interval
    /// (or for the store to close), then tries to resume.
    func waitAndRecover() {
        guard let error = backgroundError, error.isRetryable, options.errorRecoveryIntervalMs > 0 else {
            mutex.waitForWork()
            return
        }
        let deadline = monotonicMicros() + UInt64(options.errorRecoveryIntervalMs) * 1000
        var now = monotonicMicros()
        while !closing && now < deadline {
            mutex.waitForWork(milliseconds: max(1, Int((deadline - now) / 1000)))
            now = monotonicMicros()
        }
        if !closing { _ = attemptRecovery() }
    }

    /// One recovery attempt now, on the caller's thread: what the background probe does every
    /// `errorRecoveryIntervalMs`, for a driver with a clock of its own (the deterministic
    /// simulation sets the interval to 0 and probes in virtual time). True when writes are
    /// accepted again.
    public func attemptRecoveryNow() -> Bool {
        mutex.lock()
        defer { mutex.unlock() }
        return attemptRecovery()
    }

    /// One recovery attempt (the steps above). Lock held; released while tables are built.
    /// True when writes are accepted again.
    func attemptRecovery() -> Bool {
        guard let error = backgroundError, error.isRetryable, !closing else { return false }
        // 1. No commit in flight: writers that see the error leave the queue at once.
        let drainDeadline = monotonicMicros() + 1_000_000
        while (!writers.isEmpty || soloCommitting) && !closing {
            if monotonicMicros() > drainDeadline { return false }
            mutex.wait(milliseconds: 10)
        }
        if closing { return false }
        // While `backgroundError` stays set no write can reach the memtables, so they are
        // frozen for the unlocked part below.
        let frozen = [imm, mem].compactMap { $0 }.filter { $0.count > 0 }
        let numbers = frozen.map { _ in versions.newFileNumber() }
        let logNumber = versions.newFileNumber()
        for n in numbers { pendingOutputs.insert(n) }
        pendingOutputs.insert(logNumber)
        defer {
            for n in numbers { pendingOutputs.remove(n) }
            pendingOutputs.remove(logNumber)
        }
        let logPath = StoreFiles.logPath(path, logNumber)
        let floor = deferredFailureFloor
        mutex.unlock()
        var built: [FileMetaData] = []
        var logFile: WritableFile?
        var failure: StorageError?
        do throws(StorageError) {
            // 2, 3.
            for (table, number) in zip(frozen, numbers) {
                let entries: InternalIterator = floor.map { SequenceCappedIterator(table.makeIterator(), maxSequence: $0) } ?? table.makeIterator()
                if let meta = try buildTable(number: number, from: entries) { built.append(meta) }
            }
            logFile = try fs.createWritable(logPath)
            try fs.syncDirectory(path)
        } catch {
            failure = error
        }
        mutex.lock()
        var version: Version?
        if failure == nil {
            do throws(StorageError) {
                // 4.
                var edit = VersionEdit()
                for meta in built { edit.addFile(level: 0, meta) }
                var builder = VersionBuilder(base: versions.current)
                try builder.apply(edit, file: "error recovery", offset: 0)
                let next = builder.build()
                try versions.writeNewManifest(replacing: next, logNumber: logNumber)
                version = next
            } catch {
                failure = error
            }
        }
        guard failure == nil, version != nil, let logFile else {
            // Still failing: leave the store as it was, remove what this attempt made.
            try? logFile?.close()
            try? fs.removeFile(logPath)
            for number in numbers { try? fs.removeFile(StoreFiles.tablePath(path, number)) }
            return false
        }
        // 5.
        walMutex.withLock {
            for old in retiredLogs { try? old.close() }
            retiredLogs.removeAll()
            if let old = wal { try? old.file.close() }
            wal = LogWriter(file: logFile)
            walDirectoryPending = false
        }
        walNumber = logNumber
        imm = nil
        mem = MemTable(capacityBytes: options.memtableSizeBytes)
        visibleSequence = versions.lastSequence
        durableSequence = versions.lastSequence
        deferredFailureFloor = nil
        backgroundError = nil
        StatsCounters.add(counters.errorRecoveries, 1)
        StatsCounters.add(counters.flushes, UInt64(built.count))
        deleteObsoleteFiles()
        mutex.broadcast()
        mutex.signalWork()
        return true
    }
}
