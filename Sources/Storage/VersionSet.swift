import Synchronization

/// The store's metadata: the current `Version`, file numbering, the last sequence, the live
/// WAL number, and the manifest that records every change as a `VersionEdit`.
///
/// Not thread-safe: the store calls it with its metadata lock held. Call order: `recover`
/// (or `create`), then `logAndApply` for each change.
final class VersionSet {
    let directory: String
    let fileSystem: FileSystem
    private(set) var current = Version.empty
    var nextFileNumber: UInt64 = 2
    var lastSequence: SequenceNumber = 0
    private(set) var logNumber: UInt64 = 0
    private(set) var manifestNumber: UInt64 = 0
    private var manifest: LogWriter?
    /// Set when an append to the manifest or its fsync failed: the manifest may end in a
    /// torn edit, and after a failed fsync the kernel may have dropped its unwritten pages
    /// while marking them clean (fsyncgate), so nothing more is ever appended to it. Only
    /// a fresh manifest (`writeNewManifest`, run by error recovery) clears it.
    private(set) var manifestFailure: StorageError?
    /// Where the next compaction of each level starts (round robin over the key space).
    var compactPointers: [[UInt8]] = Array(repeating: [], count: Version.levelCount)
    /// Files named by versions still referenced by readers (they must not be deleted). A
    /// count per file kept by the versions themselves, not weak references: a weakly
    /// referenced object's every retain and release takes a slow path, and readers retain
    /// the current version on every get.
    private let live = LiveFiles()

    init(directory: String, fileSystem: FileSystem) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    func newFileNumber() -> UInt64 {
        defer { nextFileNumber += 1 }
        return nextFileNumber
    }

    /// Reads CURRENT and replays the manifest it names.
    func recover() throws(StorageError) {
        let currentPath = StoreFiles.currentPath(directory)
        let currentBytes = try fileSystem.readFile(currentPath)
        guard currentBytes.last == UInt8(ascii: "\n") else {
            throw .corruption(file: currentPath, offset: currentBytes.count, reason: "CURRENT does not end with a newline")
        }
        let name = String(decoding: currentBytes.dropLast(), as: UTF8.self)
        guard case let .manifest(number)? = StoreFiles.parse(name) else {
            throw .corruption(file: currentPath, offset: 0, reason: "CURRENT names \"\(name)\", not a manifest")
        }
        let path = directory + "/" + name
        var reader = LogReader(path: path, data: try fileSystem.readFile(path), strictChecksums: true)
        var builder = VersionBuilder(base: .empty)
        var sawNextFile = false, sawLastSequence = false, sawLogNumber = false
        while let (record, offset) = try reader.next() {
            let edit = try VersionEdit(decoding: record, file: path, offset: offset)
            try builder.apply(edit, file: path, offset: offset)
            if let v = edit.logNumber { logNumber = v; sawLogNumber = true }
            if let v = edit.nextFileNumber { nextFileNumber = v; sawNextFile = true }
            if let v = edit.lastSequence { lastSequence = v; sawLastSequence = true }
            for p in edit.compactPointers where p.level < Version.levelCount { compactPointers[p.level] = p.key }
        }
        guard sawNextFile, sawLastSequence, sawLogNumber else {
            throw .corruption(file: path, offset: 0, reason: "manifest lacks next file number, last sequence or log number")
        }
        manifestNumber = number
        nextFileNumber = max(nextFileNumber, number + 1)
        install(builder.build())
    }

    /// Starts a new manifest holding the whole current state, then points CURRENT at it.
    /// Done at every open, so a manifest never grows without bound across restarts.
    /// Nothing in memory changes unless it succeeds (error recovery retries it).
    func writeNewManifest(replacing version: Version, logNumber log: UInt64) throws(StorageError) {
        let number = newFileNumber()
        var snapshot = VersionEdit()
        snapshot.logNumber = log
        snapshot.nextFileNumber = nextFileNumber
        snapshot.lastSequence = lastSequence
        for (level, files) in version.files.enumerated() {
            for f in files { snapshot.addFile(level: level, f) }
        }
        snapshot.addedRangeTombstones = version.rangeTombstones
        for (level, key) in compactPointers.enumerated() where !key.isEmpty { snapshot.compactPointers.append((level, key)) }
        let path = directory + "/" + StoreFiles.manifestName(number)
        let file = try fileSystem.createWritable(path)
        let writer = LogWriter(file: file)
        try writer.addRecord(snapshot.encode())
        try file.sync()
        try fileSystem.syncDirectory(directory)
        var current = Array(StoreFiles.manifestName(number).utf8)
        current.append(UInt8(ascii: "\n"))
        try fileSystem.writeAtomically(current, to: StoreFiles.currentPath(directory), directory: directory)
        if let old = manifest { try? old.file.close() }
        manifest = writer
        manifestNumber = number
        manifestFailure = nil
        install(version)
        logNumber = log
    }

    /// Records `edit` durably in the manifest, then makes its result the current version.
    func logAndApply(_ edit: VersionEdit) throws(StorageError) {
        var edit = edit
        if let v = edit.logNumber { logNumber = v } else { edit.logNumber = logNumber }
        edit.nextFileNumber = nextFileNumber
        edit.lastSequence = lastSequence
        var builder = VersionBuilder(base: current)
        try builder.apply(edit, file: "version edit", offset: 0)
        let version = builder.build()
        guard let manifest else { throw .closed("manifest is not open") }
        if let manifestFailure { throw manifestFailure }
        // New tables' directory entries must be durable before the manifest names them.
        if !edit.newFiles.isEmpty { try fileSystem.syncDirectory(directory) }
        do throws(StorageError) {
            try manifest.addRecord(edit.encode())
            try manifest.file.sync()
        } catch {
            manifestFailure = error
            throw error
        }
        for p in edit.compactPointers where p.level < Version.levelCount { compactPointers[p.level] = p.key }
        install(version)
    }

    private func install(_ version: Version) {
        version.register(in: live)
        current = version
    }

    /// Every table file some live version still names.
    func liveFiles() -> Set<UInt64> {
        current.allFileNumbers().union(live.numbers)
    }

    func closeManifest() {
        if let manifest { try? manifest.file.close() }
        manifest = nil
    }
}

/// Applies edits to a base version and produces the next one, checking file invariants.
struct VersionBuilder {
    private var files: [[UInt64: FileMetaData]]
    private var tombstones: [RangeTombstone]

    init(base: Version) {
        files = base.files.map { level in Dictionary(uniqueKeysWithValues: level.map { ($0.number, $0) }) }
        tombstones = base.rangeTombstones
    }

    mutating func apply(_ edit: VersionEdit, file: String, offset: Int) throws(StorageError) {
        for d in edit.deletedFiles {
            guard d.level < Version.levelCount else { throw .corruption(file: file, offset: offset, reason: "level \(d.level) out of range") }
            files[d.level].removeValue(forKey: d.number)
        }
        for f in edit.newFiles {
            guard f.level < Version.levelCount else { throw .corruption(file: file, offset: offset, reason: "level \(f.level) out of range") }
            files[f.level][f.number] = FileMetaData(number: f.number, size: f.size, smallest: f.smallest, largest: f.largest)
        }
        tombstones.removeAll { edit.removedRangeTombstones.contains($0.sequence) }
        tombstones.append(contentsOf: edit.addedRangeTombstones)
    }

    func build() -> Version {
        var levels: [[FileMetaData]] = []
        for (level, byNumber) in files.enumerated() {
            if level == 0 {
                levels.append(byNumber.values.sorted { $0.number < $1.number })
            } else {
                levels.append(byNumber.values.sorted { InternalKey.compare($0.smallest, $1.smallest) < 0 })
            }
        }
        return Version(files: levels, rangeTombstones: tombstones)
    }
}

/// How many live versions name each table file. Versions add themselves when installed and
/// remove themselves when freed (on whatever thread drops the last reference).
final class LiveFiles: Sendable {
    private let counts = Mutex<[UInt64: Int]>([:])

    func add(_ numbers: [UInt64]) {
        counts.withLock { c in for n in numbers { c[n, default: 0] += 1 } }
    }

    func remove(_ numbers: [UInt64]) {
        counts.withLock { c in
            for n in numbers {
                if let k = c[n], k > 1 { c[n] = k - 1 } else { c.removeValue(forKey: n) }
            }
        }
    }

    var numbers: Set<UInt64> { counts.withLock { Set($0.keys) } }
}
