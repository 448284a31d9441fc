// Frozen constants of the log format shared by the WAL and the manifest (FORMAT.md, "Log files").

enum LogFormat {
    /// Records never straddle this boundary; a block's tail shorter than a header is zero-filled.
    static let blockSize = 32 * 1024
    /// checksum (4) + length (2) + type (1)
    static let headerSize = 7

    enum RecordType: UInt8 {
        /// Zero: preallocated or padding bytes, never a record.
        case zero = 0
        case full = 1
        case first = 2
        case middle = 3
        case last = 4
    }
}
