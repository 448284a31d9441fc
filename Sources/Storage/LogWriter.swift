/// Appends records to a log file in LevelDB's block format: each record is cut into
/// fragments that never straddle a 32 KiB block boundary; each fragment carries a masked
/// CRC32C over its type and payload. Not thread-safe: one writer at a time.
final class LogWriter {
    let file: WritableFile
    private var blockOffset: Int
    private var scratch: [UInt8] = []
    /// The record being written by `addBatchRecord`, reused.
    private var record: [UInt8] = []

    /// `existingSize` lets a writer continue a file that already holds records.
    init(file: WritableFile, existingSize: Int = 0) {
        self.file = file
        blockOffset = existingSize % LogFormat.blockSize
    }

    func addRecord(_ record: [UInt8]) throws(StorageError) {
        var failure: StorageError?
        record.withUnsafeBytes { buf in
            do throws(StorageError) { try addRecord(buf) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func addRecord(_ record: UnsafeRawBufferPointer) throws(StorageError) {
        var left = record.count
        var at = 0
        var begin = true
        repeat {
            let leftover = LogFormat.blockSize - blockOffset
            if leftover < LogFormat.headerSize {
                if leftover > 0 {
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: repeatElement(0, count: leftover))
                    try file.append(scratch)
                }
                blockOffset = 0
            }
            let available = LogFormat.blockSize - blockOffset - LogFormat.headerSize
            let fragment = min(left, available)
            let end = fragment == left
            let type: LogFormat.RecordType = begin && end ? .full : (begin ? .first : (end ? .last : .middle))
            try emit(type, UnsafeRawBufferPointer(rebasing: record[at..<(at + fragment)]))
            at += fragment
            left -= fragment
            begin = false
        } while left > 0
    }

    /// Appends a write batch's bytes as one record, with `sequence` in place of the batch's
    /// own first eight bytes (the leader stamps the group's sequence here, so the caller's
    /// batch is never copied to be changed).
    func addBatchRecord(_ rep: [UInt8], sequence: SequenceNumber) throws(StorageError) {
        if record.count == rep.count {
            record.withUnsafeMutableBytes { dst in rep.withUnsafeBytes { dst.copyMemory(from: $0) } }
        } else {
            record.removeAll(keepingCapacity: true)
            record.append(contentsOf: rep)
        }
        if record.count >= 8 {
            record.withUnsafeMutableBytes { $0.storeBytes(of: sequence.littleEndian, as: UInt64.self) }
        }
        try addRecord(record)
    }

    private func emit(_ type: LogFormat.RecordType, _ payload: UnsafeRawBufferPointer) throws(StorageError) {
        var crc: UInt32 = 0
        withUnsafeBytes(of: type.rawValue) { crc = CRC32C.extend(0, $0) }
        crc = CRC32C.extend(crc, payload)
        // Header (masked crc, length, type), little-endian in the low 7 bytes of a word.
        let header = (UInt64(CRC32C.mask(crc)) | UInt64(payload.count & 0xffff) << 32 | UInt64(type.rawValue) << 48).littleEndian
        try withUnsafeBytes(of: header) { (raw) throws(StorageError) in
            try file.append(UnsafeRawBufferPointer(rebasing: raw[0..<LogFormat.headerSize]))
        }
        try file.append(payload)
        blockOffset += LogFormat.headerSize + payload.count
    }
}
