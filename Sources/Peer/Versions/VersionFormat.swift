// Format constants for contexts, key records, storage keys and counter leases.
// The formats are described in RECORDS.md beside this file.
//
// FROZEN: these numbers are on disk and on the wire. Append new ones; never renumber or
// reuse a retired value (leave a gap and a comment instead).

/// Constants of the versioning formats (see RECORDS.md). Append-only.
public enum VersionFormat {
    /// First byte of an encoded context (`VersionVector.encodeContext()`).
    public static let contextVersion1: UInt8 = 1

    /// First byte of an encoded key record (`KeyRecord.encode()`).
    public static let recordVersion1: UInt8 = 1
    /// Key record kinds (the byte after the checksum).
    public static let recordKindSiblings: UInt8 = 0x73  // 's'
    public static let recordKindLWW: UInt8 = 0x6c       // 'l'

    /// Sibling / LWW value tags.
    public static let valueTagValue: UInt8 = 0
    public static let valueTagTombstone: UInt8 = 1
    /// Sibling payloads that carry the client write's id (u64LE) before the value: a
    /// forwarded write, which a second coordinator may apply again (siblings records only).
    public static let valueTagValueWithWriteID: UInt8 = 2
    public static let valueTagTombstoneWithWriteID: UInt8 = 3
    /// A value with an absolute expiry (wall-clock ms since the Unix epoch, never 0): tag 4 in
    /// siblings and lww records; tag 5 adds a write id (siblings records only). RECORDS.md.
    public static let valueTagValueWithExpiry: UInt8 = 4
    public static let valueTagValueWithExpiryAndWriteID: UInt8 = 5
    /// Starts the optional counter section after a record's siblings (or lww payload):
    /// the key's PN-counter entries and the marks of its siblings (RECORDS.md, "Counters").
    /// Tag 8 is reserved for counters too (7 was reserved with it, then given to the
    /// superseded section below, which the lead assigned it).
    public static let counterSectionTag: UInt8 = 6
    /// Starts the optional superseded section of a siblings record, after the counter
    /// section: the write ids the key's writes superseded (RECORDS.md, "Superseded writes").
    public static let supersededSectionTag: UInt8 = 7

    /// First byte of every storage key: which keyspace it belongs to.
    public static let keyspaceData: UInt8 = 0x64  // 'd'
    public static let keyspaceHint: UInt8 = 0x68  // 'h'
    public static let keyspaceMeta: UInt8 = 0x6d  // 'm'
    /// Tombstone index: when this replica first stored a key's absent record (reaping).
    public static let keyspaceTombstone: UInt8 = 0x74  // 't'

    /// First byte of a persisted counter lease (`CounterLease.encodePersisted`).
    public static let leaseVersion1: UInt8 = 1

    /// `m clock-format`: which clock the store's times were written with. 0 (no record):
    /// milliseconds since boot (migrated on open); 1: Unix-epoch milliseconds.
    public static let clockFormatWallMs: UInt8 = 1

    // Limits. Decoders enforce them so hostile input cannot make us allocate unboundedly.

    /// Longest node id, in UTF-8 bytes (the length is stored in one byte).
    public static let maxNodeIDBytes = 255
    /// Most entries a version vector may have, in a context or a record: decoders refuse
    /// more and every write path refuses to store more (LocalReplica.coordinateWrite), so
    /// nothing is ever stored that does not decode.
    public static let maxVectorEntries = 1024
    /// Longest namespace name, in UTF-8 bytes (one length byte in storage keys).
    public static let maxNamespaceBytes = 255
    /// Default sibling limit of a `siblings` namespace (SPEC 3).
    public static let defaultSiblingLimit = 64
}
