import Bytes

/// Reads back the records of a log file written by `LogWriter`.
///
/// A damaged tail (a record cut short by a crash, or a bad checksum with no intact record
/// after it) ends the log quietly and is reported in `droppedTailBytes`; damage followed by
/// intact records is corruption, thrown with the file name and offset.
struct LogReader {
    let path: String
    private let data: [UInt8]
    private var offset = 0
    /// Bytes ignored at the end of the file as a torn write.
    private(set) var droppedTailBytes = 0
    /// Why the tail was dropped, with its offset: a record cut short (a torn write), or a
    /// whole-length record that failed its checksum (a bit flip, or a torn sector).
    private(set) var droppedTail: (offset: Int, reason: String, checksumFailed: Bool)?
    /// When set, a checksum mismatch is corruption even at the tail: only a record cut short
    /// counts as torn. The manifest uses this, since each of its records was synced whole.
    let strictChecksums: Bool

    init(path: String, data: [UInt8], strictChecksums: Bool = false) {
        self.path = path
        self.data = data
        self.strictChecksums = strictChecksums
    }

    /// The next whole record and the file offset where it starts, or nil at the end.
    mutating func next() throws(StorageError) -> (record: [UInt8], offset: Int)? {
        var record: [UInt8] = []
        var recordStart = -1
        while true {
            let start = offset
            switch fragment(at: start) {
            case .end:
                if recordStart >= 0 {
                    droppedTailBytes = data.count - recordStart
                    droppedTail = (recordStart, "a fragmented record cut short", false)
                }
                return nil
            case .padding(let next):
                offset = next
            case let .bad(reason, truncated):
                if hasIntactRecord(after: start) || (strictChecksums && !truncated) {
                    throw .corruption(file: path, offset: start, reason: reason)
                }
                droppedTailBytes = data.count - (recordStart >= 0 ? recordStart : start)
                droppedTail = (recordStart >= 0 ? recordStart : start, reason, !truncated)
                offset = data.count
                return nil
            case let .fragment(type, payload, next):
                offset = next
                switch type {
                case .full:
                    if recordStart >= 0 { throw .corruption(file: path, offset: start, reason: "full record inside a fragmented record") }
                    return (Array(data[payload]), start)
                case .first:
                    if recordStart >= 0 { throw .corruption(file: path, offset: start, reason: "first fragment inside a fragmented record") }
                    recordStart = start
                    record.append(contentsOf: data[payload])
                case .middle, .last:
                    if recordStart < 0 { throw .corruption(file: path, offset: start, reason: "\(type) fragment without a first fragment") }
                    record.append(contentsOf: data[payload])
                    if type == .last { return (record, recordStart) }
                case .zero:
                    break
                }
            }
        }
    }

    private enum Fragment {
        case end
        case padding(next: Int)
        case bad(String, truncated: Bool = false)
        case fragment(LogFormat.RecordType, Range<Int>, next: Int)
    }

    private func fragment(at start: Int) -> Fragment {
        let blockLeft = LogFormat.blockSize - start % LogFormat.blockSize
        if blockLeft < LogFormat.headerSize {
            let next = start + blockLeft
            return next >= data.count ? .end : .padding(next: next)
        }
        if start >= data.count { return .end }
        if start + LogFormat.headerSize > data.count { return .bad("truncated record header", truncated: true) }
        return data.withUnsafeBytes { buf -> Fragment in
            let length = Int(buf[start + 4]) | Int(buf[start + 5]) << 8
            let typeByte = buf[start + 6]
            if typeByte == 0 && length == 0 {
                // Zero-filled space: preallocation or a block tail; skip to the next block.
                let next = start + blockLeft
                return next >= data.count ? .end : .padding(next: next)
            }
            guard let type = LogFormat.RecordType(rawValue: typeByte), type != .zero else {
                return .bad("unknown record type \(typeByte)")
            }
            let payloadStart = start + LogFormat.headerSize
            guard length <= blockLeft - LogFormat.headerSize else { return .bad("record length \(length) crosses a block boundary") }
            guard payloadStart + length <= data.count else { return .bad("record length \(length) runs past end of file", truncated: true) }
            let stored = CRC32C.unmask(UnsafeByteReader.u32LE(buf, at: start) ?? 0)
            var crc: UInt32 = 0
            withUnsafeBytes(of: typeByte) { crc = CRC32C.extend(0, $0) }
            crc = CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: buf[payloadStart..<(payloadStart + length)]))
            guard crc == stored else { return .bad("checksum mismatch") }
            return .fragment(type, payloadStart..<(payloadStart + length), next: payloadStart + length)
        }
    }

    /// Whether any block after `offset` begins with an intact fragment: if so, the damage
    /// at `offset` is not a torn tail but corruption in the middle of the log.
    private func hasIntactRecord(after offset: Int) -> Bool {
        var block = (offset / LogFormat.blockSize + 1) * LogFormat.blockSize
        while block < data.count {
            if case .fragment = fragment(at: block) { return true }
            block += LogFormat.blockSize
        }
        return false
    }
}
