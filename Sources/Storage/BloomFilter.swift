// One bloom filter per table, over the USER keys of its entries (internal keys minus their
// 8-byte trailer), so a point lookup for any sequence number can skip the table.
//
// Layout (FORMAT.md, "Tables"): `bit array (m bits, m a multiple of 8) ++ k (1 byte)`.
// A key sets k bits chosen by double hashing as in LevelDB's util/bloom.cc: h = hash(key),
// delta = rotr(h, 17), probe i tests bit (h + i*delta) mod m. The hash is LevelDB's
// util/hash.cc Hash with seed 0xbc9f1d34: a pure function of the bytes, identical in every
// process, so filters written by one process are read correctly by another. Never Hasher.
//
// About 10 bits per key with k = round(10 * ln 2) = 7 gives roughly 0.8% false positives
// (measured in BloomFilterTests). There are never false negatives.

/// A table's bloom filter over user keys: built from key hashes, probed before a block read.
struct BloomFilter: Sendable {
    /// The filter block contents: bit array then the probe count byte.
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Probe count for a bits-per-key budget: bitsPerKey * ln 2, rounded, clamped 1...30.
    static func probeCount(bitsPerKey: Int) -> Int {
        let k = (Double(bitsPerKey) * 0.6931471805599453).rounded()
        return min(TableFormat.maxBloomProbes, max(1, Int(k)))
    }

    /// Builds the filter for keys given by their `hash` values (duplicates are harmless).
    static func build(hashes: [UInt32], bitsPerKey: Int) -> BloomFilter {
        let k = probeCount(bitsPerKey: bitsPerKey)
        // A floor of 64 bits keeps the false-positive rate sane for tiny tables.
        let byteCount = (max(64, hashes.count * max(1, bitsPerKey)) + 7) / 8
        let bitCount = UInt32(truncatingIfNeeded: byteCount * 8)
        var out = [UInt8](repeating: 0, count: byteCount + 1)
        let m = FastModulo(bitCount)
        out.withUnsafeMutableBufferPointer { bits in
            for key in hashes {
                var h = key
                let delta = (h >> 17) | (h << 15)
                for _ in 0..<k {
                    let pos = m.reduce(h)
                    bits[Int(pos >> 3)] |= UInt8(1) << (pos & 7)
                    h &+= delta
                }
            }
            bits[byteCount] = UInt8(k)
        }
        return BloomFilter(bytes: out)
    }

    /// False means the key was certainly not added; true means it may have been.
    func mayContain(hash: UInt32) -> Bool {
        bytes.withUnsafeBufferPointer { filter in
            let n = filter.count
            // An empty filter (absent bits) matches nothing, as in LevelDB.
            guard n >= 2 else { return false }
            let k = Int(filter[n - 1])
            // Reserved for other encodings: treat as a match rather than guessing.
            guard k <= TableFormat.maxBloomProbes else { return true }
            let bitCount = UInt32(truncatingIfNeeded: (n - 1) * 8)
            // A filter too large for 32-bit positions cannot be probed: treat as a match.
            guard bitCount > 0 else { return true }
            let m = FastModulo(bitCount)
            var h = hash
            let delta = (h >> 17) | (h << 15)
            for _ in 0..<k {
                let pos = m.reduce(h)
                if filter[Int(pos >> 3)] & (UInt8(1) << (pos & 7)) == 0 { return false }
                h &+= delta
            }
            return true
        }
    }

    func mayContain(userKey: UnsafeRawBufferPointer) -> Bool {
        mayContain(hash: BloomFilter.hash(userKey))
    }

    /// LevelDB's util/hash.cc Hash (murmur-like, 32-bit): part of the table format.
    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt32 = TableFormat.bloomHashSeed) -> UInt32 {
        let m: UInt32 = 0xc6a4_a793
        let n = data.count
        var h = seed ^ (UInt32(truncatingIfNeeded: n) &* m)
        var i = 0
        while i + 4 <= n {
            let w = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            h &+= w
            h &*= m
            h ^= h >> 16
            i += 4
        }
        let rest = n - i
        if rest > 0 {
            if rest == 3 { h &+= UInt32(data[i + 2]) << 16 }
            if rest >= 2 { h &+= UInt32(data[i + 1]) << 8 }
            h &+= UInt32(data[i])
            h &*= m
            h ^= h >> 24
        }
        return h
    }

    static func hash(_ data: [UInt8]) -> UInt32 { data.withUnsafeBytes { hash($0) } }
}

/// `x % d` for 32-bit `x` and a fixed `d`, by multiplication (Lemire, Kaser and Kurz,
/// "Faster remainder by direct computation", 2019): exact for every 32-bit `x` and `d`, so
/// probe positions, and with them the filter format, are those of `%`. A division per
/// probe was the filter's largest cost.
struct FastModulo {
    let divisor: UInt64
    let multiplier: UInt64

    init(_ d: UInt32) {
        precondition(d > 0, "modulo by zero")
        divisor = UInt64(d)
        multiplier = (UInt64.max / UInt64(d)) &+ 1
    }

    @inline(__always)
    func reduce(_ x: UInt32) -> UInt32 {
        let low = multiplier &* UInt64(x)
        return UInt32(truncatingIfNeeded: low.multipliedFullWidth(by: divisor).high)
    }
}
