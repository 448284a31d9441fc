#if canImport(Glibc)
import Glibc
#endif

// Checkpoints (FORMAT.md, "Checkpoints"), after RocksDB's: a directory that opens as a store
// holding exactly what this store held at one sequence number, made while the store keeps
// serving. The store's lock is held only to pick the sequence and the files (a few
// microseconds); everything slow runs outside it:
//   - every table of the current version is hard-linked (copied if the directory is on
//     another file system): tables never change, and the version we hold keeps them from
//     being deleted until the links exist;
//   - the memtables (the part of the store that lives only in the write-ahead log) are
//     written, up to that sequence, as one new level-0 table, which is what a flush would
//     have written. The live log is never copied: a copy would have to be cut at the
//     sequence, and a table is what recovery would make of it anyway;
//   - a fresh manifest names those tables, the range tombstones and the sequence, then
//     CURRENT names the manifest. No log file: opening the checkpoint replays nothing.

/// What a checkpoint holds and what it cost.
public struct CheckpointInfo: Sendable, Equatable {
    /// The checkpoint shows every write up to and including this sequence, and none after.
    public var sequence: SequenceNumber = 0
    /// Tables of the store hard-linked into the checkpoint.
    public var linkedTables = 0
    /// Tables copied because a hard link was impossible (another file system).
    public var copiedTables = 0
    /// Bytes of the linked and copied tables.
    public var tableBytes: UInt64 = 0
    /// Entries of the memtables written to the checkpoint's own table.
    public var memtableEntries = 0
    /// Size of that table (0 when the memtables were empty).
    public var memtableTableBytes: UInt64 = 0
    /// Microseconds the store's lock was held (the only time writers could wait on it).
    public var lockedMicros: UInt64 = 0
    /// Microseconds the whole checkpoint took.
    public var totalMicros: UInt64 = 0

    public init() {}
}

/// A file system that can give one file a second name (a hard link).
public protocol HardLinkingFileSystem {
    /// Makes `to` a second name of the file `from` (fails across file systems).
    func hardLink(_ from: String, to: String) throws(StorageError)
}

extension PosixFileSystem: HardLinkingFileSystem {
    public func hardLink(_ from: String, to: String) throws(StorageError) {
        guard link(from, to) == 0 else { throw .io(operation: "link to \(to)", path: from, errno: errno) }
    }
}

extension FileSystem {
    /// Gives `to` the contents of `from`: a hard link when the file system can make one,
    /// else a copy in 1 MiB pieces, synced. True when linked.
    func linkOrCopy(_ from: String, to: String) throws(StorageError) -> Bool {
        if let linking = self as? HardLinkingFileSystem {
            do {
                try linking.hardLink(from, to: to)
                return true
            } catch {
                // EXDEV (another file system), EPERM (no links there), EMLINK: copy instead.
                guard case .io = error else { throw error }
            }
        }
        let source = try openReadable(from)
        let target = try createWritable(to)
        var offset = 0
        while offset < source.size {
            let piece = try source.read(offset: offset, count: min(1 << 20, source.size - offset))
            guard !piece.isEmpty else { throw .corruption(file: from, offset: offset, reason: "file shrank while being copied") }
            try target.append(piece)
            offset += piece.count
        }
        try target.sync()
        try target.close()
        return false
    }
}

extension Store {
    /// Writes a checkpoint of the store into `directory`, which must not exist or be empty,
    /// while reads and writes go on. See the top of this file and FORMAT.md.
    public func checkpoint(to directory: String) throws(StorageError) -> CheckpointInfo {
        let start = monotonicMicros()
        var info = CheckpointInfo()
        if fs.fileExists(directory) {
            guard try fs.children(directory).isEmpty else {
                throw .invalidArgument("checkpoint directory \(directory) exists and is not empty")
            }
        }
        try fs.createDirectory(directory)

        // The only part under the lock: a sequence, and the tables and memtables holding
        // everything up to it. Every write up to `visibleSequence` is in `mem`/`imm` or a
        // table of `current` (a group commit publishes its sequence only after applying it;
        // a range deletion installs its tombstone and sequence together).
        let lockedAt = monotonicMicros()
        let captured: (SequenceNumber, Version, MemTable, MemTable?, UInt64)? = mutex.withLock {
            closing ? nil : (visibleSequence, versions.current, mem, imm, versions.nextFileNumber)
        }
        info.lockedMicros = monotonicMicros() - lockedAt
        guard let (sequence, version, mem, imm, nextNumber) = captured else { throw .closed("checkpoint of a closed store") }
        info.sequence = sequence

        for f in version.files.joined() {
            let name = StoreFiles.tablePath(directory, f.number)
            if try fs.linkOrCopy(StoreFiles.tablePath(path, f.number), to: name) {
                info.linkedTables += 1
            } else {
                info.copiedTables += 1
            }
            info.tableBytes += f.size
        }

        // The memtables' entries up to `sequence` become the newest level-0 table: its number
        // is above every table of the version (level 0 is read newest number first).
        let memNumber = nextNumber
        var edit = VersionEdit()
        let (meta, entries) = try writeMemtables([mem] + (imm.map { [$0] } ?? []), upTo: sequence,
                                                 to: StoreFiles.tablePath(directory, memNumber), number: memNumber)
        if let meta {
            edit.addFile(level: 0, meta)
            info.memtableTableBytes = meta.size
            info.memtableEntries = entries
        }

        // The checkpoint's manifest: the version's files (plus the memtables' table), its
        // range tombstones, and the sequence. Its log number names no file, so opening the
        // checkpoint replays no log.
        var builder = VersionBuilder(base: version)
        try builder.apply(edit, file: "checkpoint", offset: 0)
        let manifest = VersionSet(directory: directory, fileSystem: fs)
        manifest.lastSequence = sequence
        manifest.nextFileNumber = memNumber + 1
        defer { manifest.closeManifest() }
        try manifest.writeNewManifest(replacing: builder.build(), logNumber: memNumber + 2)
        info.totalMicros = monotonicMicros() - start
        return info
    }

    /// Writes the entries of `tables` with sequence <= `upTo` to one synced table; nil
    /// (and no file) when there are none. Runs without the lock: a memtable may be read
    /// while writers add to it, and entries past `upTo` are skipped.
    private func writeMemtables(_ tables: [MemTable], upTo: SequenceNumber, to tablePath: String,
                                number: UInt64) throws(StorageError) -> (FileMetaData?, Int) {
        let input = MergingIterator(tables.map { $0.makeIterator() })
        try input.seekToFirst()
        var file: WritableFile?
        var builder: TableBuilder?
        var entries = 0
        while input.isValid {
            let key = input.keyBytes
            guard let trailer = InternalKey.trailer(key) else {
                throw .corruption(file: "memtable", offset: 0, reason: "internal key shorter than its trailer")
            }
            if trailer >> 8 <= upTo {
                if builder == nil {
                    let f = try fs.createWritable(tablePath)
                    file = f
                    builder = TableBuilder(file: f, options: tableOptions)
                }
                try builder?.add(key, input.valueBytes)
                entries += 1
            }
            try input.next()
        }
        guard let builder, let file else { return (nil, 0) }
        let size = try builder.finish()
        try file.sync()
        try file.close()
        return (FileMetaData(number: number, size: size, smallest: builder.smallestKey, largest: builder.largestKey), entries)
    }
}
