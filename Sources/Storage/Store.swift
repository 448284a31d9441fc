#if canImport(Glibc)
import Glibc
#endif

/// An embeddable LSM key-value store of LevelDB's design: a write-ahead log with group
/// commit, a skiplist memtable flushed in the background, sorted tables in levels merged by
/// background compaction, snapshots, range iteration and range deletion.
///
/// Thread-safety: every method may be called from any thread. Writers queue and commit in
/// groups (one WAL append and, under `.always`, one fsync per group); reads never wait for
/// writers except for a brief read lock on the memtable. Errors are `StorageError`; a failed
/// WAL write or sync, or a failed flush or compaction, makes later writes fail with it
/// (reads continue) until the store resumes by itself (Store+Recovery.swift).
/// Call order: `open`, any operations, then `close()` (which ends the background threads;
/// a store that is never closed keeps them, and its lock, for the life of the process).
public final class Store: @unchecked Sendable {
    public let path: String
    let options: StorageOptions
    let fs: FileSystem
    let lockFile: FileLock

    /// Guards everything below (metadata, writer queue, memtables) and signals changes.
    let mutex = Condition()
    let versions: VersionSet
    var mem: MemTable
    var imm: MemTable?
    var wal: LogWriter?
    var walNumber: UInt64 = 0
    /// Sequence up to which writes are applied to the memtable and readable.
    var visibleSequence: SequenceNumber = 0
    /// Sequence up to which writes are known to be synced (tracked under `.always`).
    var durableSequence: SequenceNumber = 0
    /// The last sequence in the immutable memtable (its log must be durable before it is flushed).
    var immLastSequence: SequenceNumber = 0
    /// Set when a deferred fsync failed: recovery keeps only writes up to it.
    var deferredFailureFloor: SequenceNumber?
    var writers: [Writer] = []
    /// A writer is committing alone, outside the queue (see `write`): queued writers wait.
    var soloCommitting = false
    var snapshots: [SequenceNumber: Int] = [:]
    var backgroundError: StorageError?
    var closing = false
    var pendingOutputs: Set<UInt64> = []
    var compactingFiles: Set<UInt64> = []
    var manualCompaction: ManualCompaction?
    var recoveredTornTailBytes = 0
    /// Logs whose last record failed its checksum at open, and one line per dropped tail.
    var recoveredChecksumTails = 0
    var recoveryNotes: [String] = []

    /// Serialises WAL appends with the periodic syncer; guards the two below.
    let walMutex = Condition()
    /// Logs replaced by a newer one and not yet synced (see `switchMemtable`).
    var retiredLogs: [WritableFile] = []
    /// A log was created since the directory was last synced.
    var walDirectoryPending = false
    let tables: TableCache
    let blockCache: BlockCache
    let counters = StatsCounters()
    var background: BackgroundThread?
    var syncer: BackgroundThread?
    /// Under `.always`: the syncer of `write(_:durable:)` (WALSyncer.swift).
    var walSyncer: WALSyncer?

    private init(path: String, options: StorageOptions, lock: FileLock) {
        self.path = path
        self.options = options
        self.fs = options.fileSystem
        self.lockFile = lock
        versions = VersionSet(directory: path, fileSystem: options.fileSystem)
        mem = MemTable(capacityBytes: options.memtableSizeBytes)
        blockCache = BlockCache(capacityBytes: options.blockCacheBytes)
        tables = TableCache(directory: path, fileSystem: options.fileSystem, blockCache: blockCache,
                            capacity: options.maxOpenFiles - 10, verifyChecksums: options.verifyChecksums)
    }

    /// Opens (or creates) the store in directory `path`, replaying its write-ahead log.
    public static func open(path: String, options: StorageOptions = StorageOptions()) throws(StorageError) -> Store {
        try options.validate()
        let fs = options.fileSystem
        if !fs.fileExists(path) {
            guard options.createIfMissing else { throw .invalidArgument("\(path) does not exist (createIfMissing is off)") }
        }
        try fs.createDirectory(path)
        let lock = try fs.lock(StoreFiles.lockPath(path))
        let store = Store(path: path, options: options, lock: lock)
        do {
            try store.recover()
        } catch {
            store.versions.closeManifest()
            fs.unlock(lock)
            throw error
        }
        // The threads hold the store until `close()` ends them: a store must be closed.
        store.background = BackgroundThread(name: "chorus-compact") { store.backgroundLoop() }
        if case let .periodic(ms) = options.sync {
            store.syncer = BackgroundThread(name: "chorus-walsync") { store.syncLoop(intervalMs: ms) }
        }
        if options.sync == .always {
            store.walSyncer = WALSyncer(name: "chorus-syncer", gatherMaxUs: options.syncGatherMaxUs, sync: { () throws(StorageError) -> SequenceNumber in
                try store.syncForSyncer()
            }, durableFloor: { store.durableFloorForSyncer() })
        }
        return store
    }

    private func recover() throws(StorageError) {
        let exists = fs.fileExists(StoreFiles.currentPath(path))
        if exists {
            guard !options.errorIfExists else { throw .invalidArgument("\(path) already holds a store (errorIfExists is on)") }
            try versions.recover()
        }
        // Replay every log the manifest does not cover, oldest first.
        var logs: [UInt64] = []
        for name in try fs.children(path) {
            if case let .log(n)? = StoreFiles.parse(name), n >= versions.logNumber { logs.append(n) }
            if case let .table(n)? = StoreFiles.parse(name) { versions.nextFileNumber = max(versions.nextFileNumber, n + 1) }
            if case let .log(n)? = StoreFiles.parse(name) { versions.nextFileNumber = max(versions.nextFileNumber, n + 1) }
        }
        if exists {
            // Every table the manifest names must exist: a missing one is lost data.
            for f in versions.current.files.joined() where !fs.fileExists(StoreFiles.tablePath(path, f.number)) {
                throw .corruption(file: StoreFiles.tablePath(path, f.number), offset: 0, reason: "table named by the manifest is missing")
            }
        }
        var edit = VersionEdit()
        // Sequences only grow from one logged batch to the next. A batch that repeats or
        // goes back (a sector written twice, a record copied by damage: the CRC still holds)
        // is corruption: replayed, it would put two entries with one internal key in the
        // memtable, which no table can hold.
        var replayedUpTo: SequenceNumber?
        for number in logs.sorted() {
            let logPath = StoreFiles.logPath(path, number)
            var reader = LogReader(path: logPath, data: try fs.readFile(logPath))
            while let (record, offset) = try reader.next() {
                let batch = WriteBatch(rep: record)
                if batch.count > 0 {
                    guard batch.sequence > 0, batch.sequence <= InternalKey.maxSequence - SequenceNumber(batch.count) else {
                        throw .corruption(file: logPath, offset: offset, reason: "batch sequence \(batch.sequence) with \(batch.count) entries is out of range")
                    }
                    if let upTo = replayedUpTo, batch.sequence <= upTo {
                        throw .corruption(file: logPath, offset: offset, reason: "batch sequence \(batch.sequence) does not follow the previous batch's \(upTo)")
                    }
                    replayedUpTo = batch.sequence + SequenceNumber(batch.count) - 1
                }
                try apply(batch, to: mem, file: logPath, offset: offset)
                let last = batch.sequence + SequenceNumber(batch.count) - 1
                if batch.count > 0, last > versions.lastSequence { versions.lastSequence = last }
                if mem.approximateMemoryUsage > options.memtableSizeBytes {
                    edit.addFile(level: 0, try writeLevel0Table(mem))
                    mem = MemTable(capacityBytes: options.memtableSizeBytes)
                }
            }
            recoveredTornTailBytes += reader.droppedTailBytes
            if let tail = reader.droppedTail {
                // Dropped like a torn write (nothing after it was acknowledged durable by a
                // later sync), but never silently: a bit flip looks the same.
                if tail.checksumFailed { recoveredChecksumTails += 1 }
                recoveryNotes.append("dropped the last \(reader.droppedTailBytes) bytes of \(logPath) at offset \(tail.offset): \(tail.reason)"
                                     + (tail.checksumFailed ? " (a whole record failed its checksum: a bit flip or a torn sector)" : " (a torn write)"))
            }
        }
        if mem.count > 0 {
            edit.addFile(level: 0, try writeLevel0Table(mem))
            mem = MemTable(capacityBytes: options.memtableSizeBytes)
        }
        visibleSequence = versions.lastSequence
        durableSequence = versions.lastSequence
        // A fresh manifest with the recovered state, then a fresh log; old logs go.
        walNumber = versions.newFileNumber()
        let walFile = try fs.createWritable(StoreFiles.logPath(path, walNumber))
        wal = LogWriter(file: walFile)
        var builder = VersionBuilder(base: versions.current)
        try builder.apply(edit, file: "recovery", offset: 0)
        try fs.syncDirectory(path)
        try versions.writeNewManifest(replacing: builder.build(), logNumber: walNumber)
        mutex.withLock { deleteObsoleteFiles() }
    }

    func apply(_ batch: WriteBatch, sequence: SequenceNumber? = nil, to table: MemTable, file: String, offset: Int) throws(StorageError) {
        try batch.forEach(file: file, offset: offset, sequence: sequence) { type, key, value, seq in
            table.add(sequence: seq, type: type, key: key, value: value)
        }
    }

    /// Writes a memtable to a new level-0 table during recovery (no lock needed yet).
    private func writeLevel0Table(_ table: MemTable) throws(StorageError) -> FileMetaData {
        let number = versions.newFileNumber()
        guard let meta = try buildTable(number: number, from: table.makeIterator()) else {
            throw .invalidArgument("empty memtable flushed")
        }
        return meta
    }

    /// Closes the store: waits for background work, syncs the log, releases the lock.
    /// Later calls fail with `.closed`.
    public func close() throws(StorageError) {
        let already: Bool = mutex.withLock {
            let was = closing
            closing = true
            mutex.broadcast()
            mutex.signalWork()
            return was
        }
        if already { return }
        background?.join()
        syncer?.join()
        walSyncer?.stop()
        var failure: StorageError?
        walMutex.withLock {
            do throws(StorageError) {
                try syncRetiredLogs()
                try wal?.file.sync()
                try wal?.file.close()
            } catch { failure = error }
            wal = nil
        }
        mutex.withLock { versions.closeManifest() }
        fs.unlock(lockFile)
        if let failure { throw failure }
    }

    // MARK: Reads

    /// The value of `key`, or nil if absent, as of `snapshot` (or now).
    public func get(_ key: [UInt8], snapshot: Snapshot? = nil) throws(StorageError) -> [UInt8]? {
        let (sequence, mem, imm, version, closed) = mutex.withLock {
            (snapshot?.sequence ?? visibleSequence, self.mem, self.imm, versions.current, closing)
        }
        if closed { throw .closed("get on a closed store") }
        StatsCounters.add(counters.gets, 1)
        let result = try key.withBytes { (user) throws(StorageError) -> MemTable.Lookup in
            let fromMem = mem.get(userKey: user, sequence: sequence)
            guard case .notFound = fromMem else { return fromMem }
            if let imm {
                let fromImm = imm.get(userKey: user, sequence: sequence)
                guard case .notFound = fromImm else { return fromImm }
            }
            // The lookup key (user key ++ trailer) on the stack.
            return try withUnsafeTemporaryAllocation(byteCount: user.count + 8, alignment: 8) { (buf) throws(StorageError) -> MemTable.Lookup in
                if let u = user.baseAddress, user.count > 0 { buf.baseAddress.unsafelyUnwrapped.copyMemory(from: u, byteCount: user.count) }
                buf.storeBytes(of: (sequence << 8 | UInt64(ValueType.value.rawValue)).littleEndian, toByteOffset: user.count, as: UInt64.self)
                return try version.get(userKey: user, lookupKey: UnsafeRawBufferPointer(buf), tables: tables)
            }
        }
        switch result {
        case .notFound, .deleted:
            return nil
        case let .value(value, seq):
            if version.isRangeDeleted(key, entrySequence: seq, snapshot: sequence) { return nil }
            StatsCounters.add(counters.userBytesRead, UInt64(value.count))
            return value
        }
    }

    /// A read view fixed at the current sequence.
    public func snapshot() -> Snapshot {
        mutex.withLock {
            snapshots[visibleSequence, default: 0] += 1
            return Snapshot(sequence: visibleSequence, store: self)
        }
    }

    func releaseSnapshot(_ sequence: SequenceNumber) {
        mutex.withLock {
            guard let n = snapshots[sequence] else { return }
            if n <= 1 { snapshots.removeValue(forKey: sequence) } else { snapshots[sequence] = n - 1 }
        }
    }

    /// Oldest sequence some reader may still need (call with the lock held).
    var smallestSnapshot: SequenceNumber { snapshots.keys.min() ?? versions.lastSequence }

    /// Iterates the user keys of `range` in order, as of `snapshot` (or now).
    public func makeIterator(range: KeyRange = .all, snapshot: Snapshot? = nil) throws(StorageError) -> StoreIterator {
        let (sequence, mem, imm, version, closed) = mutex.withLock {
            (snapshot?.sequence ?? visibleSequence, self.mem, self.imm, versions.current, closing)
        }
        if closed { throw .closed("iterator on a closed store") }
        // Skipping an empty memtable spares the merge a comparison on every step.
        var children: [InternalIterator] = mem.count > 0 ? [mem.makeIterator()] : []
        if let imm { children.append(imm.makeIterator()) }
        for f in version.files[0].reversed() { children.append(try tables.table(f.number).makeIterator()) }
        for level in 1..<Version.levelCount where !version.files[level].isEmpty {
            children.append(try LevelIterator(files: version.files[level], tables: tables))
        }
        // The iterator holds a snapshot of its own so compaction keeps what it reads.
        let own = snapshot ?? mutex.withLock {
            snapshots[sequence, default: 0] += 1
            return Snapshot(sequence: sequence, store: self)
        }
        return try StoreIterator(input: MergingIterator(children), sequence: sequence, range: range, version: version, snapshot: own)
    }

    /// Approximate bytes on disk holding keys in `range` (memtables not counted).
    public func approximateSize(_ range: KeyRange) throws(StorageError) -> UInt64 {
        let version = mutex.withLock { versions.current }
        let startKey = range.start.map { InternalKey.lookup(userKey: $0, sequence: InternalKey.maxSequence) }
        let endKey = range.end.map { InternalKey.lookup(userKey: $0, sequence: InternalKey.maxSequence) }
        var total: UInt64 = 0
        for f in version.files.joined() {
            if let startKey, InternalKey.compare(f.largest, startKey) < 0 { continue }
            if let endKey, InternalKey.compare(f.smallest, endKey) >= 0 { continue }
            let table = try tables.table(f.number)
            let from = startKey.map { table.approximateOffset(of: $0) } ?? 0
            let to = endKey.map { table.approximateOffset(of: $0) } ?? f.size
            if to > from { total += to - from }
        }
        return total
    }

    /// A copy of the store's counters and shape.
    public func stats() -> StorageStats {
        var s = StorageStats()
        s.userBytesWritten = counters.userBytesWritten.load(ordering: .relaxed)
        s.userBytesRead = counters.userBytesRead.load(ordering: .relaxed)
        s.walBytesWritten = counters.walBytesWritten.load(ordering: .relaxed)
        s.walSyncs = counters.walSyncs.load(ordering: .relaxed)
        s.writeGroups = counters.writeGroups.load(ordering: .relaxed)
        s.writes = counters.writes.load(ordering: .relaxed)
        s.gets = counters.gets.load(ordering: .relaxed)
        s.flushes = counters.flushes.load(ordering: .relaxed)
        s.compactions = counters.compactions.load(ordering: .relaxed)
        s.trivialMoves = counters.trivialMoves.load(ordering: .relaxed)
        s.compactionBytesRead = counters.compactionBytesRead.load(ordering: .relaxed)
        s.compactionBytesWritten = counters.compactionBytesWritten.load(ordering: .relaxed)
        s.stalls = counters.stalls.load(ordering: .relaxed)
        s.stallMicros = counters.stallMicros.load(ordering: .relaxed)
        s.slowdowns = counters.slowdowns.load(ordering: .relaxed)
        s.writeErrors = counters.writeErrors.load(ordering: .relaxed)
        s.errorRecoveries = counters.errorRecoveries.load(ordering: .relaxed)
        let cache = blockCache.stats
        s.blockCacheHits = cache.hits
        s.blockCacheMisses = cache.misses
        let tc = tables.counters
        s.tableCacheHits = tc.hits
        s.tableCacheMisses = tc.misses
        mutex.withLock {
            s.writeError = backgroundError
            let v = versions.current
            s.filesPerLevel = v.files.map(\.count)
            s.bytesPerLevel = (0..<Version.levelCount).map { v.levelBytes($0) }
            s.rangeTombstones = v.rangeTombstones.count
            s.memtableBytes = mem.approximateMemoryUsage + (imm?.approximateMemoryUsage ?? 0)
        }
        s.recoveredTornTailBytes = recoveredTornTailBytes
        s.recoveredChecksumTails = recoveredChecksumTails
        s.recoveryNotes = recoveryNotes
        return s
    }

    /// Deletes files no live version, pending output or current log needs. Lock held.
    func deleteObsoleteFiles() {
        guard backgroundError == nil else { return }
        let live = versions.liveFiles().union(pendingOutputs)
        guard let names = try? fs.children(path) else { return }
        for name in names {
            let keep: Bool
            switch StoreFiles.parse(name) {
            case let .table(n)?: keep = live.contains(n)
            case let .log(n)?: keep = n >= versions.logNumber || n == walNumber
            case let .manifest(n)?: keep = n >= versions.manifestNumber
            case .temp?: keep = false
            default: keep = true
            }
            if !keep {
                if case let .table(n)? = StoreFiles.parse(name) { tables.evict(n) }
                try? fs.removeFile(path + "/" + name)
            }
        }
    }
}
