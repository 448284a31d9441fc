// Format constants for the ring and namespace-table encodings. The grammar, endianness and a
// worked example are in FORMAT.md beside this file. FROZEN: these values are on disk and on
// the wire. Append new constants; never change or reuse one (a retired value stays a gap).

/// Constants of the binary encodings of `Ring` and `NamespaceTable` (see FORMAT.md).
enum RingFormat {
    /// "CRNG": first four bytes of an encoded ring.
    static let ringMagic: [UInt8] = [0x43, 0x52, 0x4E, 0x47]
    /// "CNST": first four bytes of an encoded namespace table.
    static let namespaceMagic: [UInt8] = [0x43, 0x4E, 0x53, 0x54]
    /// The only format version written and read so far, for both encodings.
    static let formatVersion1: UInt8 = 1
    /// Seed of the XXH64 checksum that closes every encoding ("Chorus" + 0x00 + 0x01).
    static let checksumSeed: UInt64 = 0x4368_6F72_7573_0001
    /// Seed of the XXH64 hash of a namespace name; its output seeds the key hash.
    static let namespaceHashSeed: UInt64 = 0x4368_6F72_7573_4E53

    /// Quorum tags in a namespace record.
    static let quorumCount: UInt8 = 0
    static let quorumOne: UInt8 = 1
    static let quorumQuorum: UInt8 = 2
    static let quorumAll: UInt8 = 3

    /// Conflict-mode tags in a namespace record.
    static let conflictSiblings: UInt8 = 0
    static let conflictLWW: UInt8 = 1

    // Limits a decoder enforces, so hostile input cannot make it allocate without bound.
    /// Largest ring: 2^16 partitions.
    static let maxPartitionBits = 16
    /// Longest node id or namespace name, in UTF-8 bytes.
    static let maxNameBytes = 1024
    /// Largest replication target a ring or namespace may ask for.
    static let maxReplicas = 64
    /// Most namespaces in one table.
    static let maxNamespaces = 65_536
}
