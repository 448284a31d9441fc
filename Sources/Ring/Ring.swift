// The partition ring (SPEC section 4). Pure values, no I/O; safe to share across threads.
//
// Invariants (checked by every initializer and by the decoder):
//  1. partitionCount (Q) is a power of two, 1...2^16; partition = top log2(Q) bits of the key hash.
//  2. owners.count == nextOwners.count == Q; every node id is non-empty UTF-8 of at most 1024 bytes.
//  3. nextOwners[p], when set, differs from owners[p]: partition p is in transfer from its owner
//     to its next owner, and both receive writes until the transfer completes.
//  4. Every change made through this API raises `version`; peers adopt the highest version
//     (`Ring.merge`), so the claimant's latest decision wins everywhere.

/// Q partitions (chunks) of the key space, each with an owner, some in transfer to a next owner.
public struct Ring: Sendable, Hashable {
    /// Ring size used when a cluster is created without `--partitions`.
    public static let defaultPartitionCount = 256
    /// Replicas the claim spaces owners for when nothing larger is asked for.
    public static let defaultTargetN = 3

    /// Q: the number of partitions, a power of two.
    public let partitionCount: Int
    /// log2(Q): how many top bits of the key hash name the partition.
    public let partitionBits: Int
    /// Raised by one on every change; the highest version wins a merge.
    public internal(set) var version: UInt64
    /// The claim keeps any `targetN` consecutive partitions on distinct owners (when it can).
    public internal(set) var targetN: Int
    /// The owner of each partition, indexed by partition.
    public internal(set) var owners: [String]
    /// The next owner of each partition in transfer, nil for a partition at rest.
    public internal(set) var nextOwners: [String?]

    /// A new cluster's ring: one node owns every partition.
    public init(partitionCount: Int = Ring.defaultPartitionCount, owner: String, targetN: Int = Ring.defaultTargetN) throws(RingError) {
        try self.init(partitionCount: partitionCount, version: 1, targetN: targetN,
                      owners: Array(repeating: owner, count: max(partitionCount, 0)))
    }

    /// A ring from its parts, validated (see the invariants at the top of this file).
    public init(partitionCount: Int, version: UInt64, targetN: Int, owners: [String], nextOwners: [String?]? = nil) throws(RingError) {
        let bits = try Ring.partitionBits(of: partitionCount)
        guard (1...RingFormat.maxReplicas).contains(targetN) else { throw .invalidTargetN(targetN) }
        guard owners.count == partitionCount else {
            throw .invalidOwners("\(owners.count) owners for \(partitionCount) partitions")
        }
        let next = nextOwners ?? Array(repeating: nil, count: partitionCount)
        guard next.count == partitionCount else {
            throw .invalidOwners("\(next.count) next owners for \(partitionCount) partitions")
        }
        for p in 0..<partitionCount {
            guard Ring.isValidNodeID(owners[p]) else { throw .invalidOwners("bad node id at partition \(p)") }
            if let n = next[p] {
                guard Ring.isValidNodeID(n) else { throw .invalidOwners("bad next owner at partition \(p)") }
                guard n != owners[p] else { throw .invalidOwners("partition \(p) is in transfer to its own owner") }
            }
        }
        self.partitionCount = partitionCount
        self.partitionBits = bits
        self.version = version
        self.targetN = targetN
        self.owners = owners
        self.nextOwners = next
    }

    /// log2(Q), or `.invalidPartitionCount` when Q is not a power of two in 1...2^16.
    public static func partitionBits(of partitionCount: Int) throws(RingError) -> Int {
        guard partitionCount > 0, partitionCount & (partitionCount - 1) == 0,
              partitionCount <= 1 << RingFormat.maxPartitionBits else {
            throw .invalidPartitionCount(partitionCount)
        }
        return partitionCount.trailingZeroBitCount
    }

    static func isValidNodeID(_ id: String) -> Bool {
        let count = id.utf8.count
        return count > 0 && count <= RingFormat.maxNameBytes
    }

    /// The partition of a key hash: its top log2(Q) bits.
    @inlinable
    public func partition(forHash hash: UInt64) -> Int {
        partitionBits == 0 ? 0 : Int(truncatingIfNeeded: hash >> UInt64(64 - partitionBits))
    }

    /// The partition of a key in a namespace.
    public func partition(namespace: [UInt8], key: [UInt8]) -> Int {
        partition(forHash: KeyHash.hash(namespace: namespace, key: key))
    }

    /// The owner of `partition` where it must be in `0..<partitionCount`.
    public func owner(of partition: Int) -> String { owners[partition] }

    /// The owner `partition` will have once its transfer completes (its owner when at rest).
    public func futureOwner(of partition: Int) -> String { nextOwners[partition] ?? owners[partition] }

    /// The owners once every transfer in flight has completed.
    public var futureOwners: [String] { (0..<partitionCount).map { futureOwner(of: $0) } }

    /// Whether any partition is in transfer.
    public var isTransferring: Bool { nextOwners.contains { $0 != nil } }

    /// Every node that owns or is receiving a partition, in byte order of the id.
    public var nodes: [String] {
        var set = Set(owners)
        for case let n? in nextOwners { set.insert(n) }
        return Ring.sortedIDs(set)
    }

    /// Partitions owned by `node` (at rest or being handed off), ascending.
    public func partitions(ownedBy node: String) -> [Int] {
        (0..<partitionCount).filter { owners[$0] == node }
    }

    /// How many partitions each node owns (current owners, not next owners).
    public func ownershipCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for o in owners { counts[o, default: 0] += 1 }
        return counts
    }

    /// Node ids sorted by their UTF-8 bytes: the one order every machine agrees on.
    public static func sortedIDs<S: Sequence>(_ ids: S) -> [String] where S.Element == String {
        Set(ids).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
