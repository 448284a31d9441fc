import Bytes
import Ring

// A stable 64-bit digest of a key's state, for anti-entropy's Merkle trees.
//
// digest = XXH64(seed 0) of the record's kind byte and body (RECORDS.md, "Digest") — the
// canonical encoding, so equal states have equal digests on every machine and every run.
// Never Swift's Hasher, which is seeded per process.

extension KeyRecord {
    /// XXH64 of the canonical kind+body bytes (the same bytes the checksum covers).
    public var digest: UInt64 {
        var w = ByteWriter(capacity: estimatedBytes)
        encodeBody(into: &w)
        return XXH64.hash(w.bytes)
    }
}

extension KeyRecord {
    /// The digest of a record from its encoding (the bytes after the header are the kind and
    /// body the digest covers), without decoding or re-encoding it.
    static func digest(encoded bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            KeyHash.xxh64(UnsafeRawBufferPointer(rebasing: raw[min(headerBytes, raw.count)...]), seed: 0)
        }
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

/// XXH64 is the Ring module's (`KeyHash.xxh64`), one implementation for the whole project.
enum XXH64 {
    static func hash(_ bytes: [UInt8]) -> UInt64 { KeyHash.xxh64(bytes, seed: 0) }
}
