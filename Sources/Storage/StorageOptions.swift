/// When the write-ahead log is fsynced.
public enum SyncPolicy: Equatable, Sendable, CustomStringConvertible {
    /// fsync before acknowledging; concurrent writers share one fsync (group commit).
    case always
    /// fsync in the background every `milliseconds`; a crash may lose that window.
    case periodic(milliseconds: Int)
    /// never fsync the log (the OS writes it back); a machine crash may lose recent writes.
    /// Under `.periodic` and `.never` the lost writes are those after the last log sync, not
    /// necessarily a suffix of them (the OS writes pages back in any order, and a log
    /// replaced by a newer one is synced only by the next sync). A write made with
    /// `sync: true` is durable with everything written before it.
    case never

    /// Parses `always`, `periodic:MS` or `never`.
    public init(parsing text: String) throws(StorageError) {
        switch text {
        case "always": self = .always
        case "never": self = .never
        default:
            if text.hasPrefix("periodic:"), let ms = Int(text.dropFirst("periodic:".count)), ms > 0, ms <= 3_600_000 {
                self = .periodic(milliseconds: ms)
            } else {
                throw .invalidArgument("sync policy \"\(text)\": expected always, periodic:MS (1...3600000) or never")
            }
        }
    }

    public var description: String {
        switch self {
        case .always: return "always"
        case .never: return "never"
        case let .periodic(ms): return "periodic:\(ms)"
        }
    }
}

/// What a compaction filter says about one key's newest surviving value at the bottom level.
public enum CompactionDecision: Sendable {
    case keep
    case drop
}

/// A hook the layer above uses to decide what a compaction may drop. It is asked about each
/// user key's newest version that no snapshot still needs (the value, or nil for a
/// tombstone); it must be fast and thread-safe (compaction runs on a background thread).
public protocol CompactionFilter: AnyObject, Sendable {
    func filter(userKey: ArraySlice<UInt8>, value: ArraySlice<UInt8>?, isBottomLevel: Bool) -> CompactionDecision
}

/// Tuning of one store. The defaults follow LevelDB's where they exist.
public struct StorageOptions: Sendable {
    public var fileSystem: FileSystem = PosixFileSystem.shared
    public var createIfMissing = true
    public var errorIfExists = false
    public var sync: SyncPolicy = .always
    /// Under `.always`, how long the syncer may let deferred writes gather before an fsync,
    /// once the last fsync covered writes from several writers; 0 never waits (WALSyncer).
    public var syncGatherMaxUs = 1_000
    /// Size at which the memtable becomes immutable and is flushed.
    public var memtableSizeBytes = 4 << 20
    public var blockSizeBytes = 4096
    public var blockRestartInterval = 16
    public var blockCacheBytes = 8 << 20
    /// Bound on open table files kept in the table cache.
    public var maxOpenFiles = 1000
    public var bloomBitsPerKey = 10
    public var targetFileSizeBytes = 2 << 20
    /// Level 1 holds this many bytes; each deeper level 10x more.
    public var level1SizeBytes = 10 << 20
    public var levelSizeMultiplier = 10
    public var l0CompactionTrigger = 4
    /// L0 file counts at which writers are slowed by 1 ms per write, then stopped.
    public var l0SlowdownTrigger = 8
    public var l0StopTrigger = 12
    public var verifyChecksums = true
    public var compactionFilter: CompactionFilter? = nil
    /// Told how long each flush and compaction took (BackgroundJobObserver.swift).
    public var backgroundObserver: BackgroundJobObserver? = nil
    /// After a write or background error from the system (ENOSPC, EIO), how often the
    /// store tries to resume by itself (Store+Recovery.swift); 0 never (writes then fail
    /// until the store is reopened).
    public var errorRecoveryIntervalMs = 1_000

    public init() {}

    func validate() throws(StorageError) {
        guard memtableSizeBytes >= 4096 else { throw .invalidArgument("memtableSizeBytes must be at least 4096") }
        guard blockSizeBytes >= 256 else { throw .invalidArgument("blockSizeBytes must be at least 256") }
        guard blockRestartInterval >= 1 else { throw .invalidArgument("blockRestartInterval must be at least 1") }
        guard maxOpenFiles >= 16 else { throw .invalidArgument("maxOpenFiles must be at least 16") }
        guard l0CompactionTrigger >= 1, l0SlowdownTrigger >= l0CompactionTrigger, l0StopTrigger >= l0SlowdownTrigger else {
            throw .invalidArgument("need 1 <= l0CompactionTrigger <= l0SlowdownTrigger <= l0StopTrigger")
        }
        guard levelSizeMultiplier >= 2 else { throw .invalidArgument("levelSizeMultiplier must be at least 2") }
        if case let .periodic(ms) = sync, ms <= 0 { throw .invalidArgument("periodic sync interval must be positive") }
    }
}
