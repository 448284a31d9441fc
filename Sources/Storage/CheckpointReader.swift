/// A checkpoint (or any closed store without a write-ahead log to replay) opened read-only:
/// its manifest is read, nothing is written, no lock is taken, so a backup can be read while
/// it is being copied elsewhere and is never changed by reading it. `Store.open` on a
/// checkpoint works as well, but writes a new manifest and log into it.
///
/// Thread-safety: `get` and `makeIterator` may be called from any thread; each iterator is
/// used by one thread at a time.
public final class CheckpointReader: @unchecked Sendable {
    public let path: String
    /// Every write up to this sequence is visible.
    public let sequence: SequenceNumber
    private let version: Version
    private let tables: TableCache

    /// Opens the checkpoint in `path`. Fails when it has no CURRENT, when the manifest is
    /// corrupt or names a missing table, and when a write-ahead log would need replaying
    /// (a live store's directory: open that with `Store.open`).
    public init(path: String, fileSystem: FileSystem = PosixFileSystem.shared, blockCacheBytes: Int = 8 << 20) throws(StorageError) {
        guard fileSystem.fileExists(StoreFiles.currentPath(path)) else {
            throw .invalidArgument("\(path) holds no checkpoint (no CURRENT file)")
        }
        let versions = VersionSet(directory: path, fileSystem: fileSystem)
        try versions.recover()
        for name in try fileSystem.children(path) {
            if case let .log(n)? = StoreFiles.parse(name), n >= versions.logNumber {
                throw .invalidArgument("\(path) has a write-ahead log to replay (\(name)): it is a store, not a checkpoint")
            }
        }
        for f in versions.current.files.joined() where !fileSystem.fileExists(StoreFiles.tablePath(path, f.number)) {
            throw .corruption(file: StoreFiles.tablePath(path, f.number), offset: 0, reason: "table named by the manifest is missing")
        }
        self.path = path
        sequence = versions.lastSequence
        version = versions.current
        versions.closeManifest()
        tables = TableCache(directory: path, fileSystem: fileSystem, blockCache: BlockCache(capacityBytes: blockCacheBytes),
                            capacity: 500, verifyChecksums: true)
    }

    /// Number of tables and their total bytes.
    public var tableCount: Int { version.files.joined().count }
    public var tableBytes: UInt64 { version.totalBytes }

    /// The value of `key`, or nil if absent.
    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        let lookup = InternalKey.lookup(userKey: key, sequence: sequence)
        let result = try key.withBytes { (user) throws(StorageError) -> MemTable.Lookup in
            try lookup.withBytes { (l) throws(StorageError) -> MemTable.Lookup in
                try version.get(userKey: user, lookupKey: l, tables: tables)
            }
        }
        guard case let .value(value, seq) = result, !version.isRangeDeleted(key, entrySequence: seq, snapshot: sequence) else { return nil }
        return value
    }

    /// Iterates the live user keys of `range` in order.
    public func makeIterator(range: KeyRange = .all) throws(StorageError) -> StoreIterator {
        var children: [InternalIterator] = []
        for f in version.files[0].reversed() { children.append(try tables.table(f.number).makeIterator(fillCache: false)) }
        for level in 1..<Version.levelCount where !version.files[level].isEmpty {
            children.append(try LevelIterator(files: version.files[level], tables: tables, fillCache: false))
        }
        return try StoreIterator(input: MergingIterator(children), sequence: sequence, range: range, version: version, snapshot: nil)
    }
}
