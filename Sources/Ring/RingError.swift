/// Why a ring or namespace table could not be built or decoded. Decoding bytes from a peer
/// or a file throws one of these; it never traps.
public enum RingError: Error, Equatable, Sendable {
    /// Q must be a power of two from 1 to 2^16.
    case invalidPartitionCount(Int)
    /// The replication target must be 1...64.
    case invalidTargetN(Int)
    /// The owner table does not fit the ring (wrong length, empty or over-long node id,
    /// a next owner equal to the owner).
    case invalidOwners(String)
    /// The bytes end before the structure does.
    case truncated(offset: Int)
    /// The bytes are not a ring / namespace table, or a field is out of range.
    case corrupt(offset: Int, reason: String)
    /// A format version this build cannot read.
    case unsupportedFormatVersion(UInt8)
    /// The trailing checksum does not match the bytes.
    case checksumMismatch
}
