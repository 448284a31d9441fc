// The stable key hash. Chorus places every key with XXH64 (Yann Collet's published xxHash64,
// written out here so that no dependency or platform can change it). FIXED FOREVER: the
// outputs are pinned by KeyHashTests; changing them moves every key in every cluster.
//
// hash(namespace, key) = XXH64(key, seed: XXH64(namespace, seed: namespaceHashSeed)).
// The namespace and the key are hashed separately, so ("a", "bc") and ("ab", "c") are
// different inputs by construction, with no separator or length prefix to get wrong. A
// caller that hashes many keys of one namespace computes `namespaceSeed` once.

/// The stable 64-bit hash of (namespace, key) that decides a key's partition.
public enum KeyHash {
    /// The per-namespace seed of the key hash; cache it per namespace on hot paths.
    public static func namespaceSeed(_ namespace: [UInt8]) -> UInt64 {
        namespace.withUnsafeBytes { xxh64($0, seed: RingFormat.namespaceHashSeed) }
    }

    /// The per-namespace seed of the key hash, for a namespace name given as a string.
    public static func namespaceSeed(_ namespace: String) -> UInt64 {
        namespaceSeed(Array(namespace.utf8))
    }

    /// The key hash within a namespace whose seed was computed by `namespaceSeed`.
    public static func hash(seed: UInt64, key: [UInt8]) -> UInt64 {
        key.withUnsafeBytes { xxh64($0, seed: seed) }
    }

    /// The key hash within a namespace, for key bytes that are already contiguous.
    public static func hash(seed: UInt64, key: UnsafeRawBufferPointer) -> UInt64 {
        xxh64(key, seed: seed)
    }

    /// The stable hash of (namespace, key).
    public static func hash(namespace: [UInt8], key: [UInt8]) -> UInt64 {
        hash(seed: namespaceSeed(namespace), key: key)
    }

    /// XXH64 of `bytes` with `seed`, exactly as the reference implementation computes it.
    public static func xxh64(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { xxh64($0, seed: seed) }
    }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }

    /// XXH64 over raw bytes; reads are unaligned little-endian loads, never past `count`.
    public static func xxh64(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        // An empty buffer may have no base address; its hash is that of zero bytes.
        guard let base = bytes.baseAddress else { return avalanche(seed &+ prime5) }
        @inline(__always) func load64(_ at: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        @inline(__always) func load32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }

        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= count {
                v1 = round(v1, load64(offset))
                v2 = round(v2, load64(offset + 8))
                v3 = round(v3, load64(offset + 16))
                v4 = round(v4, load64(offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt64(count)
        while offset + 8 <= count {
            h ^= round(0, load64(offset))
            h = rotl(h, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= count {
            h ^= load32(offset) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) &* prime5
            h = rotl(h, 11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    @inline(__always)
    private static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        h = h &* prime3
        h ^= h >> 32
        return h
    }
}
