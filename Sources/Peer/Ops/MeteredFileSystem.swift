import Net
import Storage

/// A `FileSystem` that passes everything to another one and times each `sync()` of a file
/// it created into `chorus_fsync_duration_seconds{file}` (file = wal, table, manifest or
/// other, decided once when the file is created). Reads are not wrapped at all.
public final class MeteredFileSystem: FileSystem, @unchecked Sendable {
    let base: FileSystem
    private let wal, table, manifest, other: MetricHistogram
    private let directorySyncs: MetricHistogram

    public init(base: FileSystem, registry: MetricsRegistry) {
        self.base = base
        let family = registry.histogram("chorus_fsync_duration_seconds",
                                        help: "Duration of each fsync (fdatasync) of a storage file, by kind of file.",
                                        labels: ["file"], buckets: MetricHistogram.latencyBuckets)
        wal = family.labels("wal")
        table = family.labels("table")
        manifest = family.labels("manifest")
        other = family.labels("other")
        directorySyncs = family.labels("directory")
    }

    func histogram(forPath path: String) -> MetricHistogram {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".log") { return wal }
        if name.hasSuffix(".sst") { return table }
        if name.hasPrefix("MANIFEST-") { return manifest }
        return other
    }

    public func createWritable(_ path: String) throws(StorageError) -> WritableFile {
        MeteredWritableFile(base: try base.createWritable(path), syncs: histogram(forPath: path))
    }

    public func openReadable(_ path: String) throws(StorageError) -> RandomAccessFile { try base.openReadable(path) }
    public func readFile(_ path: String) throws(StorageError) -> [UInt8] { try base.readFile(path) }
    public func fileExists(_ path: String) -> Bool { base.fileExists(path) }
    public func fileSize(_ path: String) throws(StorageError) -> Int { try base.fileSize(path) }
    public func children(_ directory: String) throws(StorageError) -> [String] { try base.children(directory) }
    public func createDirectory(_ path: String) throws(StorageError) { try base.createDirectory(path) }
    public func removeFile(_ path: String) throws(StorageError) { try base.removeFile(path) }
    public func rename(_ from: String, to: String) throws(StorageError) { try base.rename(from, to: to) }

    public func syncDirectory(_ directory: String) throws(StorageError) {
        let start = MonotonicClock.nowNs()
        defer { directorySyncs.observeSince(start) }
        try base.syncDirectory(directory)
    }

    public func lock(_ path: String) throws(StorageError) -> FileLock { try base.lock(path) }
    public func unlock(_ lock: FileLock) { base.unlock(lock) }
}

/// A writable file whose `sync()` is timed; everything else is passed through.
final class MeteredWritableFile: WritableFile {
    let base: WritableFile
    let syncs: MetricHistogram

    init(base: WritableFile, syncs: MetricHistogram) {
        self.base = base
        self.syncs = syncs
    }

    var size: Int { base.size }
    func append(_ bytes: UnsafeRawBufferPointer) throws(StorageError) { try base.append(bytes) }
    func flush() throws(StorageError) { try base.flush() }

    func sync() throws(StorageError) {
        let start = MonotonicClock.nowNs()
        defer { syncs.observeSince(start) }
        try base.sync()
    }

    func syncFlushed() throws(StorageError) {
        let start = MonotonicClock.nowNs()
        defer { syncs.observeSince(start) }
        try base.syncFlushed()
    }

    func close() throws(StorageError) { try base.close() }
}
