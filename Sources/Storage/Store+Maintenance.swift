// Caller-driven maintenance: forced flushes, range compaction and range deletion.

extension Store {
    /// Runs `body` with the lock held while this thread is at the head of the writer queue,
    /// so no group commit is in flight (the log and memtable may be switched safely).
    func withWriteLeadership<R>(_ body: () throws(StorageError) -> R) throws(StorageError) -> R {
        let me = Writer(WriteBatch())
        mutex.lock()
        defer {
            writers.removeAll { $0 === me }
            mutex.broadcast()
            mutex.unlock()
        }
        writers.append(me)
        while writers.first !== me || soloCommitting { mutex.wait() }
        if let backgroundError { throw backgroundError }
        if closing { throw .closed("store is closing") }
        return try body()
    }

    /// Writes the memtable to a table now and waits until it is durable in the manifest.
    public func flush() throws(StorageError) {
        try withWriteLeadership { () throws(StorageError) in
            while imm != nil {
                if let backgroundError { throw backgroundError }
                mutex.wait()
            }
            if mem.count > 0 { try switchMemtable() }
        }
        try mutex.withLock { () throws(StorageError) in
            while imm != nil {
                if let backgroundError { throw backgroundError }
                if closing { throw .closed("store closed during flush") }
                mutex.wait()
            }
        }
    }

    /// Compacts every table holding keys of `range` down through all levels, dropping
    /// shadowed versions and deleted entries; then retires range deletions it made final.
    public func compactRange(_ range: KeyRange = .all) throws(StorageError) {
        try flush()
        let manual = ManualCompaction(start: range.start, end: range.end)
        try mutex.withLock { () throws(StorageError) in
            while manualCompaction != nil {
                if closing { throw .closed("store closed during compaction") }
                mutex.wait()
            }
            manualCompaction = manual
            mutex.signalWork()
            while !manual.done {
                if closing { throw .closed("store closed during compaction") }
                mutex.wait()
            }
        }
        if let error = manual.error { throw error }
    }

    /// One step of a manual compaction: compacts the next level holding keys of its range.
    /// When every level is done, retires range tombstones it covered. Lock held.
    func runManualStep(_ manual: ManualCompaction) throws(StorageError) {
        let picker = CompactionPicker(options: options)
        let endInclusive = manual.end  // overlap test is inclusive; harmless for an exclusive end
        while manual.level < Version.levelCount {
            if let c = picker.pick(versions.current, level: manual.level, start: manual.start, end: endInclusive, busy: compactingFiles) {
                try runCompaction(c)
                if manual.level < Version.levelCount - 1 { manual.level += 1 }
                else { break }
                return
            }
            manual.level += 1
        }
        // Every entry older than a tombstone inside the range is now gone from the tables.
        let snapshotFloor = smallestSnapshot
        var edit = VersionEdit()
        for t in versions.current.rangeTombstones where t.sequence <= snapshotFloor && contains(manual, t) {
            edit.removedRangeTombstones.append(t.sequence)
        }
        if !edit.removedRangeTombstones.isEmpty { try versions.logAndApply(edit) }
        manual.done = true
        manualCompaction = nil
    }

    private func contains(_ manual: ManualCompaction, _ t: RangeTombstone) -> Bool {
        (manual.start.map { Bytewise.compare($0, t.start) <= 0 } ?? true) && (manual.end.map { Bytewise.compare(t.end, $0) <= 0 } ?? true)
    }

    /// Deletes every key in [start, end) at once: durable when this returns. Whole tables
    /// inside the range are dropped immediately; the rest is hidden by a range tombstone
    /// and reclaimed by compaction (`compactRange` finishes the job).
    public func deleteRange(start: [UInt8], end: [UInt8]) throws(StorageError) {
        guard Bytewise.compare(start, end) < 0 else { throw .invalidArgument("deleteRange needs start < end") }
        try withWriteLeadership { () throws(StorageError) in
            versions.lastSequence += 1
            let tombstone = RangeTombstone(sequence: versions.lastSequence, start: start, end: end)
            var edit = VersionEdit()
            edit.addedRangeTombstones.append(tombstone)
            // Whole tables inside the range can go at once, unless a snapshot (or an open
            // iterator) may still read what they hold.
            for (level, files) in versions.current.files.enumerated() where snapshots.isEmpty {
                for f in files where !compactingFiles.contains(f.number)
                    && Bytewise.compare(f.smallestUserKey, start) >= 0 && Bytewise.compare(f.largestUserKey, end) < 0 {
                    edit.deletedFiles.append((level, f.number))
                }
            }
            do throws(StorageError) {
                try versions.logAndApply(edit)
            } catch {
                // Sticky, as a failed WAL write is: the manifest cannot be trusted, so writes
                // stop until recovery has written a fresh one (Store+Recovery.swift).
                noteBackgroundError(error)
                throw error
            }
            visibleSequence = versions.lastSequence
            durableSequence = max(durableSequence, versions.lastSequence)
            deleteObsoleteFiles()
        }
    }
}
