// One SCAN step, as a pure state machine (no I/O): which partition chunk to read next, and
// when to stop and answer. Driven by NodeEngine+Scan:
//
//   next()                       -> .chunk(partition:position:limit:)  or  .reply(page)
//   onChunk(liveKeys:next:)      after each merged chunk (ScanChunkMerge)
//
// Partitions are walked in order from the cursor's; within a partition, chunk after chunk
// from the cursor's position. A step stops when, whichever comes first:
// - COUNT live keys were read (before MATCH, as in Redis: COUNT bounds the work, so a
//   step with MATCH may return fewer keys, even none, with a non-zero cursor);
// - it would enter its `maxPartitions + 1`-th partition (huge empty rings still make
//   progress and answer quickly);
// - it read `maxChunks` chunks (a partition full of tombstones cannot hold a step for long);
// - its keys reach `maxReplyBytes` (COUNT 100000 of 8 KiB keys must not make one huge reply);
// - the last partition is done: the reply cursor is "0".
// A step returns at least COUNT keys when that many remain within its bounds; it may
// return more, because a chunk is never cut inside a group of keys sharing their 5-byte
// prefix.
//
// Chunk sizes: each chunk asks for the keys still wanted (COUNT - read), so a step returns
// close to COUNT. A chunk that came back with fewer live keys than it asked for while its
// partition goes on was thinned by tombstones (or by the merge's earliest-next rule); the
// next chunks of the step then ask for at least twice as much (up to the replica bound),
// so a range full of tombstones costs a few chunks, not one per key.

/// One reply of SCAN: the cursor for the next step (0 = done) and the keys.
public struct ScanPage: Equatable, Sendable {
    public var cursor: UInt64
    public var keys: [[UInt8]]
    /// Live keys read before MATCH (the step's work), for KEYS's bound.
    public var scanned: Int

    public init(cursor: UInt64, keys: [[UInt8]], scanned: Int) {
        self.cursor = cursor
        self.keys = keys
        self.scanned = scanned
    }
}

/// The partition walk of one SCAN step.
public struct ScanStep: Sendable {
    /// Bounds on one step's work.
    public struct Limits: Equatable, Sendable {
        public var maxPartitions = 64
        public var maxChunks = 128
        /// Key bytes in one reply (RESP output is bounded too; COUNT x 8 KiB keys could be huge).
        public var maxReplyBytes = 16 << 20
        public init() {}
    }

    public enum Next: Equatable, Sendable {
        case chunk(partition: Int, position: UInt64, limit: Int)
        case reply(ScanPage)
    }

    public let partitionCount: Int
    public let count: Int
    public let ringVersion: UInt8
    public let pattern: GlobPattern?
    public let limits: Limits
    public private(set) var partition: Int
    public private(set) var position: UInt64
    public private(set) var keys: [[UInt8]] = []
    public private(set) var keyBytes = 0
    public private(set) var scanned = 0
    public private(set) var partitionsVisited = 1
    public private(set) var chunks = 0
    /// The least a chunk asks for; doubles after a chunk thinned by tombstones.
    public private(set) var chunkFloor = 1
    private var lastLimit = 0

    public init(cursor: ScanCursor, partitionCount: Int, ringVersion: UInt64, count: Int, pattern: GlobPattern?,
                limits: Limits = Limits()) {
        self.partitionCount = partitionCount
        self.count = max(1, count)
        self.ringVersion = UInt8(truncatingIfNeeded: ringVersion & 0x7F)
        self.pattern = pattern.flatMap { $0.matchesEverything ? nil : $0 }
        self.limits = limits
        partition = cursor.partition
        position = cursor.position
    }

    public mutating func next() -> Next {
        if partition >= partitionCount { return .reply(ScanPage(cursor: 0, keys: keys, scanned: scanned)) }
        if scanned >= count || chunks >= limits.maxChunks || partitionsVisited > limits.maxPartitions
            || keyBytes >= limits.maxReplyBytes {
            let cursor = ScanCursor(partition: partition, ringVersion: ringVersion, position: position)
            return .reply(ScanPage(cursor: cursor.rawValue, keys: keys, scanned: scanned))
        }
        chunks += 1
        lastLimit = max(count - scanned, chunkFloor)
        return .chunk(partition: partition, position: position, limit: lastLimit)
    }

    /// The merged chunk of the partition asked for last: its live keys (below `next`) and
    /// where the partition continues (nil: it is done).
    public mutating func onChunk(liveKeys: [[UInt8]], next: UInt64?) {
        scanned += liveKeys.count
        if next != nil && liveKeys.count < lastLimit { chunkFloor = min(chunkFloor * 2, ScanFormat.maxChunkEntries) }
        for k in liveKeys where pattern?.matches(k) ?? true {
            keys.append(k)
            keyBytes += k.count
        }
        if let next {
            // ScanChunkCoordinator refuses answers that do not move forward.
            precondition(next > position, "ScanStep: chunk did not advance")
            position = next
        } else {
            partition += 1
            position = 0
            if partition < partitionCount { partitionsVisited += 1 }
        }
    }
}
