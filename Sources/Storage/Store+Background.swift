import Synchronization

// The background thread: flushes the immutable memtable, then runs compactions, one at a
// time. It holds the store's lock only to plan and to install results; table building and
// merging run unlocked.

extension Store {
    func backgroundLoop() {
        mutex.lock()
        while true {
            while !closing && backgroundError == nil && !hasBackgroundWork { mutex.waitForWork() }
            if closing { break }
            if backgroundError != nil {
                waitAndRecover()
                continue
            }
            do throws(StorageError) {
                if imm != nil {
                    try flushImmutable()
                } else if let manual = manualCompaction {
                    try runManualStep(manual)
                } else if let c = CompactionPicker(options: options).pick(versions.current, compactPointers: versions.compactPointers, busy: compactingFiles) {
                    try runCompaction(c)
                }
                // Here, not inside the steps: their locals may still hold the old version.
                deleteObsoleteFiles()
            } catch {
                noteBackgroundError(error)
                if let manual = manualCompaction {
                    manual.error = error
                    manual.done = true
                    manualCompaction = nil
                }
            }
            mutex.broadcast()
        }
        mutex.unlock()
    }

    /// Lock held.
    private var hasBackgroundWork: Bool {
        imm != nil || manualCompaction != nil || CompactionPicker(options: options).needsCompaction(versions.current)
    }

    /// Writes the immutable memtable to a table and records it. Lock held (released inside).
    func flushImmutable() throws(StorageError) {
        guard let table = imm else { return }
        let started = monotonicMicros()
        let number = versions.newFileNumber()
        pendingOutputs.insert(number)
        defer { pendingOutputs.remove(number) }
        mutex.unlock()
        var built: FileMetaData?
        var failure: StorageError?
        do throws(StorageError) {
            if walSyncer != nil { try syncImmutableLog() }
            built = try buildTable(number: number, from: table.makeIterator())
        } catch { failure = error }
        mutex.lock()
        if let failure { throw failure }
        var edit = VersionEdit()
        if let meta = built { edit.addFile(level: levelForFlush(meta), meta) }
        edit.logNumber = walNumber
        try versions.logAndApply(edit)
        // The flushed memtable's log is no longer needed for recovery.
        walMutex.withLock { closeRetiredLogs() }
        imm = nil
        StatsCounters.add(counters.flushes, 1)
        options.backgroundObserver?.finished(.flush, seconds: Double(monotonicMicros() &- started) / 1e6, bytesWritten: built?.size ?? 0)
        mutex.broadcast()
    }

    /// LevelDB's placement: a flushed table that overlaps nothing may go straight to level
    /// 1 or 2, sparing a compaction, unless it would overlap too much of the level below.
    private func levelForFlush(_ meta: FileMetaData) -> Int {
        let v = versions.current
        let lo = meta.smallestUserKey, hi = meta.largestUserKey
        var level = 0
        guard v.overlapping(level: 0, smallest: lo, largest: hi).isEmpty else { return 0 }
        while level < 2 {
            if !v.overlapping(level: level + 1, smallest: lo, largest: hi).isEmpty { break }
            if level + 2 < Version.levelCount {
                let grand = v.overlapping(level: level + 2, smallest: lo, largest: hi).reduce(0) { $0 + $1.size }
                if grand > UInt64(10 * options.targetFileSizeBytes) { break }
            }
            level += 1
        }
        return level
    }

    /// Writes every entry of `input` to table `number`, synced. Nil if there were none.
    func buildTable(number: UInt64, from input: InternalIterator) throws(StorageError) -> FileMetaData? {
        let tablePath = StoreFiles.tablePath(path, number)
        let file = try fs.createWritable(tablePath)
        let builder = TableBuilder(file: file, options: tableOptions)
        try input.seekToFirst()
        while input.isValid {
            try builder.add(input.keyBytes, input.valueBytes)
            try input.next()
        }
        guard builder.numEntries > 0 else {
            builder.abandon()
            try? file.close()
            try? fs.removeFile(tablePath)
            return nil
        }
        let size = try builder.finish()
        try file.sync()
        try file.close()
        return FileMetaData(number: number, size: size, smallest: builder.smallestKey, largest: builder.largestKey)
    }

    var tableOptions: TableOptions {
        TableOptions(blockSizeBytes: options.blockSizeBytes, restartInterval: options.blockRestartInterval,
                     bloomBitsPerKey: options.bloomBitsPerKey)
    }

    /// Runs one compaction. Lock held (released while merging).
    func runCompaction(_ c: Compaction) throws(StorageError) {
        let outputLevel = min(c.level + 1, Version.levelCount - 1)
        var edit = VersionEdit()
        if c.isTrivialMove && outputLevel != c.level {
            let f = c.inputs[0][0]
            edit.deletedFiles.append((c.level, f.number))
            edit.addFile(level: outputLevel, f)
            edit.compactPointers.append((c.level, f.largest))
            try versions.logAndApply(edit)
            StatsCounters.add(counters.trivialMoves, 1)
            return
        }
        let started = monotonicMicros()
        let smallestSnapshot = self.smallestSnapshot
        let version = versions.current
        let inputs = c.allInputs
        for f in inputs { compactingFiles.insert(f.number) }
        defer { for f in inputs { compactingFiles.remove(f.number) } }
        mutex.unlock()
        var outputs: [FileMetaData] = []
        var failure: StorageError?
        do throws(StorageError) {
            outputs = try merge(c, outputLevel: outputLevel, version: version, smallestSnapshot: smallestSnapshot)
        } catch { failure = error }
        mutex.lock()
        defer { for f in outputs { pendingOutputs.remove(f.number) } }
        if let failure { throw failure }
        for (i, files) in c.inputs.enumerated() {
            for f in files { edit.deletedFiles.append((i == 0 ? c.level : outputLevel, f.number)) }
        }
        for f in outputs { edit.addFile(level: outputLevel, f) }
        if let last = c.inputs[0].last { edit.compactPointers.append((c.level, last.largest)) }
        try versions.logAndApply(edit)
        StatsCounters.add(counters.compactions, 1)
        StatsCounters.add(counters.compactionBytesRead, c.inputBytes)
        let written = outputs.reduce(0) { $0 + $1.size }
        StatsCounters.add(counters.compactionBytesWritten, written)
        options.backgroundObserver?.finished(.compaction, seconds: Double(monotonicMicros() &- started) / 1e6, bytesWritten: written)
    }

    /// Merges the inputs into new tables, dropping what no reader can see. Unlocked.
    private func merge(_ c: Compaction, outputLevel: Int, version: Version, smallestSnapshot: SequenceNumber) throws(StorageError) -> [FileMetaData] {
        var children: [InternalIterator] = []
        if c.level == 0 {
            for f in c.inputs[0] { children.append(try tables.table(f.number).makeIterator(fillCache: false)) }
        } else {
            children.append(try LevelIterator(files: c.inputs[0], tables: tables, fillCache: false))
        }
        if !c.inputs[1].isEmpty { children.append(try LevelIterator(files: c.inputs[1], tables: tables, fillCache: false)) }
        let input = MergingIterator(children)
        var base = BaseLevelChecker(version: version, fromLevel: outputLevel + 1)
        let filter = options.compactionFilter

        var outputs: [FileMetaData] = []
        var builder: TableBuilder?
        var file: WritableFile?
        var number: UInt64 = 0
        var currentUserKey: [UInt8] = []
        var hasCurrentUserKey = false
        var lastSequenceForKey = SequenceNumber.max
        var lastAddedUserKey: [UInt8] = []
        var rewritten: [UInt8] = []
        var processed = 0

        func finishOutput() throws(StorageError) {
            guard let b = builder, let f = file else { return }
            let size = try b.finish()
            try f.sync()
            try f.close()
            outputs.append(FileMetaData(number: number, size: size, smallest: b.smallestKey, largest: b.largestKey))
            builder = nil
            file = nil
        }

        try input.seekToFirst()
        do throws(StorageError) {
            while input.isValid {
                processed += 1
                if processed & 255 == 0, immutablePending { try flushInline() }
                let key = input.keyBytes
                guard key.count >= 8 else {
                    throw .corruption(file: "compaction input", offset: 0, reason: "internal key shorter than its trailer")
                }
                let trailer = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: key.count - 8, as: UInt64.self))
                let user = UnsafeRawBufferPointer(rebasing: key[0..<(key.count - 8)])
                let sequence = trailer >> 8
                let isDeletion = trailer & 0xff == UInt64(ValueType.deletion.rawValue)
                let firstOfKey = !hasCurrentUserKey || currentUserKey.withUnsafeBytes({ TableKeyOrder.compareRaw(user, $0) }) != 0
                if firstOfKey {
                    currentUserKey.assign(user)
                    hasCurrentUserKey = true
                    lastSequenceForKey = .max
                }
                var drop = false
                var emitAsDeletion = false
                if lastSequenceForKey <= smallestSnapshot {
                    drop = true  // a newer version of this key is visible to every reader
                } else if isDeletion && sequence <= smallestSnapshot && base.isBase(user) {
                    drop = true  // nothing older below for this tombstone to hide
                } else if version.isRangeDeleted(user, entrySequence: sequence, snapshot: smallestSnapshot) {
                    drop = true
                } else if !isDeletion, firstOfKey, sequence <= smallestSnapshot, let filter {
                    let isBase = base.isBase(user)
                    if filter.filter(userKey: ArraySlice(user), value: ArraySlice(input.valueBytes), isBottomLevel: isBase) == .drop {
                        if isBase { drop = true } else { emitAsDeletion = true }
                    }
                }
                lastSequenceForKey = sequence
                if !drop {
                    if let b = builder, b.estimatedFileSize >= UInt64(options.targetFileSizeBytes),
                       lastAddedUserKey.withUnsafeBytes({ TableKeyOrder.compareRaw(user, $0) }) != 0 {
                        // Cut only between user keys, so no key spans two files of a level.
                        try finishOutput()
                    }
                    if builder == nil {
                        number = mutex.withLock {
                            let n = versions.newFileNumber()
                            pendingOutputs.insert(n)
                            return n
                        }
                        let f = try fs.createWritable(StoreFiles.tablePath(path, number))
                        file = f
                        builder = TableBuilder(file: f, options: tableOptions)
                    }
                    if emitAsDeletion {
                        rewritten.removeAll(keepingCapacity: true)
                        InternalKey.append(userKey: user, sequence: sequence, type: .deletion, to: &rewritten)
                        try builder?.add(rewritten, EmptyCollection<UInt8>())
                    } else {
                        try builder?.add(key, input.valueBytes)
                    }
                    lastAddedUserKey.assign(user)
                }
                try input.next()
            }
            try finishOutput()
        } catch {
            builder?.abandon()
            try? file?.close()
            throw error
        }
        return outputs
    }

    private var immutablePending: Bool { mutex.withLock { imm != nil } }

    /// Flushes the immutable memtable from inside a long compaction, so writers do not
    /// stall behind it. Unlocked on entry and exit.
    private func flushInline() throws(StorageError) {
        mutex.lock()
        defer { mutex.unlock() }
        if imm != nil { try flushImmutable() }
    }
}

/// Answers "is there nothing for this user key below the output level?" for ascending keys,
/// walking each deeper level's files once (LevelDB's IsBaseLevelForKey).
struct BaseLevelChecker {
    let version: Version
    let fromLevel: Int
    var positions: [Int] = Array(repeating: 0, count: Version.levelCount)

    init(version: Version, fromLevel: Int) {
        self.version = version
        self.fromLevel = fromLevel
    }

    mutating func isBase<K: ContiguousBytes>(_ userKey: K) -> Bool {
        guard fromLevel < Version.levelCount else { return true }
        for level in fromLevel..<Version.levelCount {
            let files = version.files[level]
            while positions[level] < files.count, Bytewise.compare(files[positions[level]].largestUserKey, userKey) < 0 {
                positions[level] += 1
            }
            if positions[level] < files.count, Bytewise.compare(files[positions[level]].smallestUserKey, userKey) <= 0 {
                return false
            }
        }
        return true
    }
}
