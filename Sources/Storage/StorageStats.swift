import Synchronization

/// A point-in-time copy of a store's counters.
public struct StorageStats: Sendable, CustomStringConvertible {
    public var userBytesWritten: UInt64 = 0
    public var userBytesRead: UInt64 = 0
    public var walBytesWritten: UInt64 = 0
    public var walSyncs: UInt64 = 0
    public var writeGroups: UInt64 = 0
    public var writes: UInt64 = 0
    public var gets: UInt64 = 0
    public var flushes: UInt64 = 0
    public var compactions: UInt64 = 0
    public var trivialMoves: UInt64 = 0
    public var compactionBytesRead: UInt64 = 0
    public var compactionBytesWritten: UInt64 = 0
    /// Writers that waited for a flush or compaction to catch up, and for how long.
    public var stalls: UInt64 = 0
    public var stallMicros: UInt64 = 0
    /// Writers delayed 1 ms because level 0 was filling up.
    public var slowdowns: UInt64 = 0
    public var blockCacheHits: UInt64 = 0
    public var blockCacheMisses: UInt64 = 0
    public var tableCacheHits: UInt64 = 0
    public var tableCacheMisses: UInt64 = 0
    public var filesPerLevel: [Int] = []
    public var bytesPerLevel: [UInt64] = []
    public var memtableBytes: Int = 0
    public var rangeTombstones: Int = 0
    /// Bytes of a torn WAL tail ignored at the last open.
    public var recoveredTornTailBytes: Int = 0
    /// WAL tails dropped at the last open because a whole record failed its checksum, and
    /// one line for each dropped tail (for the node's log).
    public var recoveredChecksumTails: Int = 0
    public var recoveryNotes: [String] = []
    /// Times writes stopped on an error (a failed WAL write or sync, flush, compaction),
    /// and times the store resumed by itself afterwards (Store+Recovery.swift).
    public var writeErrors: UInt64 = 0
    public var errorRecoveries: UInt64 = 0
    /// The error stopping writes now (nil: writes are accepted).
    public var writeError: StorageError?

    public init() {}

    public var description: String {
        var lines = ["level  files  bytes"]
        for (i, n) in filesPerLevel.enumerated() where n > 0 { lines.append("L\(i)     \(n)      \(bytesPerLevel[i])") }
        lines.append("writes \(writes) in \(writeGroups) groups, wal syncs \(walSyncs), flushes \(flushes), compactions \(compactions) (+\(trivialMoves) moves)")
        lines.append("stalls \(stalls) (\(stallMicros) us), slowdowns \(slowdowns), block cache \(blockCacheHits) hits / \(blockCacheMisses) misses")
        return lines.joined(separator: "\n")
    }
}

/// Counters bumped on hot paths without the store's lock.
final class StatsCounters: Sendable {
    let userBytesWritten = Atomic<UInt64>(0)
    let userBytesRead = Atomic<UInt64>(0)
    let walBytesWritten = Atomic<UInt64>(0)
    let walSyncs = Atomic<UInt64>(0)
    let writeGroups = Atomic<UInt64>(0)
    let writes = Atomic<UInt64>(0)
    let gets = Atomic<UInt64>(0)
    let flushes = Atomic<UInt64>(0)
    let compactions = Atomic<UInt64>(0)
    let trivialMoves = Atomic<UInt64>(0)
    let compactionBytesRead = Atomic<UInt64>(0)
    let compactionBytesWritten = Atomic<UInt64>(0)
    let stalls = Atomic<UInt64>(0)
    let stallMicros = Atomic<UInt64>(0)
    let slowdowns = Atomic<UInt64>(0)
    let writeErrors = Atomic<UInt64>(0)
    let errorRecoveries = Atomic<UInt64>(0)

    @inline(__always) static func add(_ a: borrowing Atomic<UInt64>, _ n: UInt64) {
        a.wrappingAdd(n, ordering: .relaxed)
    }

    /// `add` for a counter only one thread at a time bumps (the commit leader: commits are
    /// serialised by the write queue, under the store's lock): a plain load and store, no
    /// locked read-modify-write. Readers still see whole values.
    @inline(__always) static func addSerialized(_ a: borrowing Atomic<UInt64>, _ n: UInt64) {
        a.store(a.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }
}
