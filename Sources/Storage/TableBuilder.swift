// Writes one immutable table file (SSTable); the layout is FORMAT.md, "Tables":
//
//   table := data_block* filter_block metaindex_block index_block footer
//
// Each block is followed by a 5-byte trailer (compression type 0, masked CRC-32C). Data
// blocks are cut once they reach about `blockSizeBytes`. The index block has one entry per
// data block whose key is a separator: >= every key of that block and < every key of the
// next (a shortened user key where possible, as LevelDB's FindShortestSeparator), and whose
// value is the block's handle. The filter block is a bloom filter over all user keys.
//
// Contract: entries are added in strictly increasing `InternalKey.compare` order (checked by
// a precondition: out-of-order input is a caller bug). Then exactly one of `finish` or
// `abandon`. The builder does not sync or close the file: the caller does both after
// `finish`, before recording the table in the manifest. Not thread-safe. After a write
// error the builder is unusable and rethrows that error.

import Bytes

/// Tuning knobs of table building. None of them is needed to read a table back.
public struct TableOptions: Sendable {
    /// A data block is cut once its contents reach this many bytes.
    public var blockSizeBytes: Int
    /// Keys between restart points in data blocks.
    public var restartInterval: Int
    /// Bloom filter budget; 0 writes no filter.
    public var bloomBitsPerKey: Int

    public init(blockSizeBytes: Int = 4096,
                restartInterval: Int = 16,
                bloomBitsPerKey: Int = 10) {
        precondition(blockSizeBytes >= 1 && restartInterval >= 1 && bloomBitsPerKey >= 0)
        self.blockSizeBytes = blockSizeBytes
        self.restartInterval = restartInterval
        self.bloomBitsPerKey = bloomBitsPerKey
    }
}

/// Streams sorted internal entries into a table file: data blocks, filter, indexes, footer.
public final class TableBuilder {
    public let options: TableOptions
    private let file: WritableFile
    private let dataBlock: BlockBuilder
    private let indexBlock = BlockBuilder(restartInterval: 1)
    private var filterHashes: [UInt32] = []
    private var offset: UInt64 = 0
    /// Handle of the data block just written, whose index entry waits for the next key
    /// (so the separator can be shorter than the block's last key).
    private var pendingHandle: BlockHandle?
    private var lastKey: [UInt8] = []
    private var failure: StorageError?
    private var closed = false

    /// Entries added so far.
    public private(set) var numEntries = 0
    /// The first internal key added (empty until then).
    public private(set) var smallestKey: [UInt8] = []
    /// The last internal key added (empty until then).
    public var largestKey: [UInt8] { lastKey }

    public init(file: WritableFile, options: TableOptions = TableOptions()) {
        self.file = file
        self.options = options
        dataBlock = BlockBuilder(restartInterval: options.restartInterval)
        offset = UInt64(file.size)
    }

    /// Bytes written so far plus the data block being filled.
    public var estimatedFileSize: UInt64 { offset + UInt64(dataBlock.sizeEstimate) }

    /// Appends an entry; `internalKey` must sort after the previous one.
    public func add<V: Collection>(_ internalKey: [UInt8], _ value: V) throws(StorageError) where V.Element == UInt8 {
        try internalKey.withBytes { (key) throws(StorageError) in try add(key, value) }
    }

    /// Appends an entry from raw bytes (the compaction and flush path: no copies).
    func add<V: Collection>(_ key: UnsafeRawBufferPointer, _ value: V) throws(StorageError) where V.Element == UInt8 {
        precondition(!closed, "add after finish or abandon")
        if let failure { throw failure }
        precondition(key.count >= InternalKey.trailerSize, "not an internal key")
        precondition(numEntries == 0 || lastKey.withUnsafeBytes { last in TableKeyOrder.compare(last, key) < 0 },
                     "table entries must be added in increasing internal key order")
        if let handle = pendingHandle {
            let separator = TableBuilder.shortestSeparator(lastKey, Array(key))
            indexBlock.add(separator, handle.encoded)
            pendingHandle = nil
        }
        if options.bloomBitsPerKey > 0 {
            let user = UnsafeRawBufferPointer(rebasing: key[0..<(key.count - InternalKey.trailerSize)])
            let h = BloomFilter.hash(user)
            // Versions of one user key are adjacent: hash it once.
            if filterHashes.last != h { filterHashes.append(h) }
        }
        dataBlock.add(key, value)
        if numEntries == 0 { smallestKey = Array(key) }
        lastKey.assign(key)
        numEntries += 1
        if dataBlock.sizeEstimate >= options.blockSizeBytes { try flushDataBlock() }
    }

    /// Writes the remaining data, the filter, metaindex and index blocks and the footer.
    /// Returns the file size. Does not sync or close the file.
    @discardableResult
    public func finish() throws(StorageError) -> UInt64 {
        precondition(!closed, "finish after finish or abandon")
        if let failure { throw failure }
        try flushDataBlock()
        closed = true
        do throws(StorageError) {
            let meta = BlockBuilder(restartInterval: 1)
            if options.bloomBitsPerKey > 0 {
                let filter = BloomFilter.build(hashes: filterHashes, bitsPerKey: options.bloomBitsPerKey)
                let handle = try writeBlock(filter.bytes)
                TableFormat.filterMetaKey.withUnsafeBytes { meta.add($0, handle.encoded) }
            }
            meta.seal()
            let metaHandle = try writeBlock(meta.finishedBytes)
            if let handle = pendingHandle {
                indexBlock.add(TableBuilder.shortSuccessor(lastKey), handle.encoded)
                pendingHandle = nil
            }
            indexBlock.seal()
            let indexHandle = try writeBlock(indexBlock.finishedBytes)
            let footer = TableBuilder.footer(metaindex: metaHandle, index: indexHandle)
            try file.append(footer)
            offset += UInt64(footer.count)
        } catch {
            failure = error
            throw error
        }
        return offset
    }

    /// Gives up on the table: nothing more is written. The caller deletes the file.
    public func abandon() {
        closed = true
    }

    private func flushDataBlock() throws(StorageError) {
        guard !dataBlock.isEmpty else { return }
        do throws(StorageError) {
            dataBlock.seal()
            pendingHandle = try writeBlock(dataBlock.finishedBytes)
        } catch {
            failure = error
            throw error
        }
        dataBlock.reset()
    }

    /// Appends block contents and their trailer; returns the block's handle.
    private func writeBlock(_ contents: UnsafeRawBufferPointer) throws(StorageError) -> BlockHandle {
        let handle = BlockHandle(offset: offset, size: UInt64(contents.count))
        let type = TableFormat.compressionNone
        let crc = withUnsafeBytes(of: type) { CRC32C.extend(CRC32C.checksum(contents), $0) }
        // The 5-byte trailer, little-endian in the low bytes of a word: type, then masked CRC.
        let trailer = (UInt64(type) | UInt64(CRC32C.mask(crc)) << 8).littleEndian
        try file.append(contents)
        try withUnsafeBytes(of: trailer) { (raw) throws(StorageError) in
            try file.append(UnsafeRawBufferPointer(rebasing: raw[0..<TableFormat.blockTrailerSize]))
        }
        offset += UInt64(contents.count + TableFormat.blockTrailerSize)
        return handle
    }

    private func writeBlock(_ contents: [UInt8]) throws(StorageError) -> BlockHandle {
        try contents.withUnsafeBufferPointer { (buf) throws(StorageError) in try writeBlock(UnsafeRawBufferPointer(buf)) }
    }

    static func footer(metaindex: BlockHandle, index: BlockHandle) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(TableFormat.footerSize)
        metaindex.encode(into: &out)
        index.encode(into: &out)
        out.append(contentsOf: repeatElement(0, count: TableFormat.footerHandlesSize - out.count))
        out.appendU32LE(TableFormat.formatVersion)
        out.appendU32LE(CRC32C.mask(CRC32C.checksum(out)))
        out.appendU64LE(TableFormat.magic)
        return out
    }

    /// The largest trailer: sorts first among the internal keys of its user key.
    static let seekTrailer: UInt64 = InternalKey.maxSequence << 8 | UInt64(ValueType.value.rawValue)

    /// A short internal key k with start <= k < limit (start < limit): when the user keys
    /// differ at a byte that can be incremented while staying below limit's, the user key
    /// prefix up to that byte, incremented, with the largest trailer; else `start`.
    static func shortestSeparator(_ start: [UInt8], _ limit: [UInt8]) -> [UInt8] {
        let t = InternalKey.trailerSize
        let a = start[0..<(start.count - t)], b = limit[0..<(limit.count - t)]
        let n = min(a.count, b.count)
        var i = 0
        while i < n && a[a.startIndex + i] == b[b.startIndex + i] { i += 1 }
        guard i < n else { return start }  // one user key is a prefix of the other
        let byte = a[a.startIndex + i]
        guard byte < 0xff, byte + 1 < b[b.startIndex + i] else { return start }
        var key = Array(a[a.startIndex...(a.startIndex + i)])
        key[i] = byte + 1
        key.appendU64LE(seekTrailer)
        return key
    }

    /// A short internal key >= `key`: the user key cut after its first byte that is not
    /// 0xff, that byte incremented, with the largest trailer; `key` if all bytes are 0xff.
    static func shortSuccessor(_ key: [UInt8]) -> [UInt8] {
        let user = key[0..<(key.count - InternalKey.trailerSize)]
        guard let i = user.firstIndex(where: { $0 != 0xff }) else { return key }
        var out = Array(user[...i])
        out[i] += 1
        out.appendU64LE(seekTrailer)
        return out
    }
}
