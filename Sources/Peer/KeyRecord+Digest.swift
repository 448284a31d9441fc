// A stable 64-bit digest of a key's state, for anti-entropy's Merkle trees.
//
// digest = XXH64(seed 0) of the record's kind byte and body (RECORDS.md, "Digest") — the
// canonical encoding, so equal states have equal digests on every machine and every run.
// Never Swift's Hasher, which is seeded per process.

extension KeyRecord {
    /// XXH64 of the canonical kind+body bytes (the same bytes the checksum covers).
    public var digest: UInt64 {
        var w = VersionWriter(capacity: estimatedBytes)
        encodeBody(into: &w)
        return XXH64.hash(w.bytes)
    }
}

extension KeyState {
    /// The stable digest of this state (that of `KeyRecord.siblings(self)`).
    public var digest: UInt64 { KeyRecord.siblings(self).digest }
}

extension LWWKeyState {
    /// The stable digest of this state (that of `KeyRecord.lww(self)`).
    public var digest: UInt64 { KeyRecord.lww(self).digest }
}

/// XXH64 (Yann Collet's xxHash, 64-bit variant), checked against the reference vectors in
/// KeyRecordTests. Stable across processes and machines.
enum XXH64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) static func mergeRound(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }

    static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    static func hash(_ buf: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = buf.count
        var p = 0
        @inline(__always) func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        @inline(__always) func u32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while p + 32 <= n {
                v1 = round(v1, u64(p)); v2 = round(v2, u64(p + 8))
                v3 = round(v3, u64(p + 16)); v4 = round(v4, u64(p + 24))
                p += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1); h = mergeRound(h, v2); h = mergeRound(h, v3); h = mergeRound(h, v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(n)
        while p + 8 <= n {
            h ^= round(0, u64(p))
            h = rotl(h, 27) &* p1 &+ p4
            p += 8
        }
        if p + 4 <= n {
            h ^= u32(p) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            p += 4
        }
        while p < n {
            h ^= UInt64(buf[p]) &* p5
            h = rotl(h, 11) &* p1
            p += 1
        }
        h ^= h >> 33; h = h &* p2
        h ^= h >> 29; h = h &* p3
        h ^= h >> 32
        return h
    }
}
