/// Frozen constants of the SCAN chunk messages (`.scanChunk`, PROTOCOL.md "SCAN", which has
/// the grammar and a worked example).
///
/// APPEND-ONLY: a number below, once released, keeps its meaning forever; a retired one is
/// left as a gap with a comment, never reused.
public enum ScanFormat {
    /// First byte of a chunk request and of a chunk answer.
    public static let version1: UInt8 = 1
    /// The byte after an answer's entries: the partition's namespace range is exhausted...
    public static let answerEnd: UInt8 = 0
    /// ...or more keys follow, starting at the 5-byte position after this byte.
    public static let answerMore: UInt8 = 1

    // Bounds, enforced on both ends so one chunk stays far below the 64 MiB frame bound.

    /// Most entries a replica puts in one chunk before it stops at the next group
    /// boundary (a request's limit is clamped to this).
    public static let maxChunkEntries = 10_000
    /// A replica stops at the next group boundary once its answer holds this many bytes.
    public static let softChunkBytes = 1 << 20
    /// A replica fails the chunk rather than exceed this (one group of keys sharing their
    /// first five bytes larger than this within one partition and namespace).
    public static let hardChunkBytes = 48 << 20
    /// Most entries a decoder accepts in one answer (a group may run past `maxChunkEntries`).
    public static let maxAnswerEntries = 4_000_000
    /// Longest key a decoder accepts (the node's own key limit is configurable, default 8 KiB).
    public static let maxKeyBytes = 1 << 20
}
