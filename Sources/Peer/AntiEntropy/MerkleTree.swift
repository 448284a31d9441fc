import Ring

/// Anti-entropy's hash tree over one partition's keys in one namespace: 1,024 leaf segments,
/// each the XOR of `entryHash(key, digest)` over the keys that fall in it, and 32 inner
/// nodes over 32 leaves each. XOR makes every write an O(1) update (take the old entry out,
/// put the new one in) and makes the tree independent of the order keys were written in.
///
/// Two replicas compare the 32 inner hashes first and fetch leaves only below the inner
/// nodes that differ, then list keys only in the segments that differ.
public struct MerkleTree: Equatable, Sendable {
    public static let segmentBits = 10
    public static let segmentCount = 1 << segmentBits
    public static let fanout = 32
    public static let innerCount = segmentCount / fanout

    public private(set) var leaves: [UInt64]
    public private(set) var inner: [UInt64]
    /// Keys the tree covers (absent records included).
    public private(set) var keyCount: Int

    public init() {
        leaves = Array(repeating: 0, count: MerkleTree.segmentCount)
        inner = Array(repeating: 0, count: MerkleTree.innerCount)
        keyCount = 0
    }

    /// The segment a key falls in: the top bits of a stable hash of the key alone, so a
    /// key stays in one segment whatever its versions.
    public static func segment(of key: [UInt8]) -> Int {
        Int(KeyHash.xxh64(key, seed: 0x6368_6f72_7573) >> UInt64(64 - segmentBits))
    }

    /// What one key with the record digest `digest` contributes to its segment.
    public static func entryHash(key: [UInt8], digest: UInt64) -> UInt64 {
        // Mixing the digest into the seed keeps two keys with equal records from cancelling.
        let h = KeyHash.xxh64(key, seed: digest)
        return h == 0 ? 1 : h
    }

    /// Replaces a key's old record digest (nil: the key was not there) by the new one
    /// (nil: the key is gone).
    public mutating func update(key: [UInt8], old: UInt64?, new: UInt64?) {
        guard old != new else { return }
        let s = MerkleTree.segment(of: key)
        var delta: UInt64 = 0
        if let old { delta ^= MerkleTree.entryHash(key: key, digest: old); keyCount -= 1 }
        if let new { delta ^= MerkleTree.entryHash(key: key, digest: new); keyCount += 1 }
        leaves[s] ^= delta
        inner[s / MerkleTree.fanout] ^= delta
    }

    /// Adds another tree's entries (leaf-wise XOR; key counts add).
    mutating func absorb(_ other: MerkleTree) {
        for i in 0..<MerkleTree.segmentCount { leaves[i] ^= other.leaves[i] }
        for i in 0..<MerkleTree.innerCount { inner[i] ^= other.inner[i] }
        keyCount += other.keyCount
    }

    /// XOR of every leaf: equal roots mean equal trees (with overwhelming probability).
    public var root: UInt64 { inner.reduce(0, ^) }

    /// The 32 leaves under inner node `i`.
    public func leaves(under i: Int) -> ArraySlice<UInt64> {
        guard i >= 0, i < MerkleTree.innerCount else { return [] }
        return leaves[(i * MerkleTree.fanout)..<((i + 1) * MerkleTree.fanout)]
    }

    /// Inner nodes whose hashes differ from `other`'s.
    public static func differing(_ a: [UInt64], _ b: [UInt64]) -> [Int] {
        guard a.count == b.count else { return Array(0..<max(a.count, b.count)) }
        return a.indices.filter { a[$0] != b[$0] }
    }
}
