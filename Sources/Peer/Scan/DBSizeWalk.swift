// DBSIZE as an estimate across the ring (SPEC section 5), as a pure state machine: which
// partition chunk to read next, and when the count is good enough. Driven by
// NodeEngine+DBSize over the same chunk reads SCAN uses (R replicas per chunk, merged,
// tombstones not counted).
//
//   next()                  -> .chunk(partition:position:limit:)  or  .done(estimate)
//   onChunk(liveKeys:next:) after each merged chunk
//
// How it estimates: partitions are read whole, in order from partition 0, counting live
// keys, until every partition is read (the count is exact: every key that lived for the
// whole walk is counted once) or at least `sampleKeys` keys were counted; then
//     estimate = counted * Q / partitionsRead   (rounded).
// A key's partition is the top bits of a uniform hash, so every partition holds an equal
// share of the keys in expectation, and whole partitions are an unbiased sample. The
// relative error is about 1/sqrt(counted): ~1% at the default 10,000. A namespace with
// fewer than `sampleKeys` keys is counted exactly; a larger one costs about `sampleKeys`
// keys' worth of chunk reads, never a pass over everything.

/// The partition walk of one DBSIZE.
public struct DBSizeWalk: Sendable {
    public enum Next: Equatable, Sendable {
        case chunk(partition: Int, position: UInt64, limit: Int)
        case done(estimate: Int64)
    }

    public let partitionCount: Int
    public let sampleKeys: Int
    public private(set) var partition = 0
    public private(set) var position: UInt64 = 0
    /// Live keys in the partitions read so far (and the one being read).
    public private(set) var counted = 0
    /// Partitions read to their end.
    public private(set) var partitionsRead = 0
    private var countedInWholePartitions = 0

    public init(partitionCount: Int, sampleKeys: Int = 10_000) {
        precondition(partitionCount > 0, "DBSizeWalk: no partitions")
        self.partitionCount = partitionCount
        self.sampleKeys = max(1, sampleKeys)
    }

    public mutating func next() -> Next {
        if partitionsRead == partitionCount { return .done(estimate: Int64(countedInWholePartitions)) }
        if position == 0 && countedInWholePartitions >= sampleKeys {
            let estimate = (Double(countedInWholePartitions) * Double(partitionCount) / Double(partitionsRead)).rounded()
            return .done(estimate: Int64(estimate))
        }
        return .chunk(partition: partition, position: position, limit: ScanFormat.maxChunkEntries)
    }

    /// The merged chunk asked for last: how many live keys it held and where its partition
    /// continues (nil: the partition is done).
    public mutating func onChunk(liveKeys: Int, next: UInt64?) {
        counted += liveKeys
        if let next {
            precondition(next > position, "DBSizeWalk: chunk did not advance")
            position = next
        } else {
            partitionsRead += 1
            countedInWholePartitions = counted
            partition += 1
            position = 0
        }
    }
}
