// Reading an immutable table file (layout: TableBuilder.swift and FORMAT.md, "Tables").
//
// `open` reads and checks the footer (size, magic, version, checksum), then the index block
// and the bloom filter, which stay in memory for the table's life. Data blocks are read on
// demand, checksum-verified, parsed and, when a cache is given, shared through it.
//
// When the file system can map the file (`RandomAccessFile.map`), data blocks are slices of
// the mapping: no system call and no copy per block (LevelDB maps its tables too). The file
// never changes once written, so each block's checksum is verified the first time it is
// used, and a bit per block records that; later uses of the block skip the CRC.
//
// Thread-safety: a `Table` is immutable after `open`; `get`, `makeIterator` and
// `approximateOffset` may run on many threads at once (the file is read with positional
// reads, the cache has its own locks). Each iterator belongs to one thread at a time.

import Bytes

/// An open table: point lookups, ordered iteration and offset estimates over its entries.
/// It keeps `file` open for its whole life (the file closes when the last reference goes).
public final class Table: Sendable {
    public let file: any RandomAccessFile
    public let fileNumber: UInt64
    public let fileSize: UInt64
    let cache: BlockCache?
    let verifyChecksums: Bool
    let indexBlock: Block
    let filter: BloomFilter?
    /// End of the area where blocks may lie (the footer's offset).
    let blocksEnd: UInt64
    /// The whole file, when it could be mapped.
    let mapping: FileMapping?
    /// One bit per data block (index entry): its checksum has been verified.
    let verified: VerifiedBits

    private init(file: any RandomAccessFile, fileNumber: UInt64, cache: BlockCache?, verifyChecksums: Bool,
                 indexBlock: Block, filter: BloomFilter?, blocksEnd: UInt64, mapping: FileMapping?) {
        self.file = file
        self.fileNumber = fileNumber
        self.fileSize = UInt64(file.size)
        self.cache = cache
        self.verifyChecksums = verifyChecksums
        self.indexBlock = indexBlock
        self.filter = filter
        self.blocksEnd = blocksEnd
        self.mapping = mapping
        verified = VerifiedBits(count: indexBlock.restartCount)
    }

    /// Opens a table; a bad footer, index or filter throws `.corruption` naming the file.
    /// The footer, index, metaindex and filter are always checksum-verified; data blocks
    /// only if `verifyChecksums`.
    public static func open(file: any RandomAccessFile, fileNumber: UInt64, cache: BlockCache?,
                            verifyChecksums: Bool = true) throws(StorageError) -> Table {
        let size = file.size
        guard size >= TableFormat.footerSize else {
            throw .corruption(file: file.path, offset: 0,
                              reason: "file of \(size) bytes is too short to be a table")
        }
        let footerOffset = size - TableFormat.footerSize
        let footer = try file.read(offset: footerOffset, count: TableFormat.footerSize)
        let (metaHandle, indexHandle) = try decodeFooter(footer, path: file.path, at: footerOffset)
        let end = UInt64(footerOffset)
        let indexBlock = try readBlock(file, indexHandle, verify: true, end: end)
        try checkEveryEntryIsRestart(indexBlock)
        let meta = try readBlock(file, metaHandle, verify: true, end: end)
        var filter: BloomFilter?
        var cursor = BlockCursor(block: meta)
        try cursor.seekToFirst()
        while cursor.isValid {
            if TableFormat.filterMetaKey.withUnsafeBytes({ Bytewise.compare(cursor.keyBytes, $0) }) == 0 {
                var p = 0
                guard let handle = BlockHandle.decode(cursor.valueBytes, at: &p) else {
                    throw meta.corruption("bad filter handle in metaindex")
                }
                let block = try readRawBlock(file, handle, verify: true, end: end)
                filter = BloomFilter(bytes: Array(block[0..<Int(handle.size)]))
            }
            try cursor.next()
        }
        let mapping = file.map()
        return Table(file: file, fileNumber: fileNumber, cache: cache, verifyChecksums: verifyChecksums,
                     indexBlock: indexBlock, filter: filter, blocksEnd: end,
                     mapping: mapping.flatMap { $0.count == size ? $0 : nil })
    }

    /// The first entry whose internal key is >= `lookupKey`, if it has the same user key;
    /// nil otherwise (also when the bloom filter rules the user key out). The caller reads
    /// the entry's type and sequence from the returned key.
    public func get(_ lookupKey: [UInt8]) throws(StorageError) -> (key: [UInt8], value: [UInt8])? {
        guard lookupKey.count >= InternalKey.trailerSize else {
            throw .invalidArgument("lookup key of \(lookupKey.count) bytes has no internal key trailer")
        }
        return try lookupKey.withBytes { (target) throws(StorageError) in
            try get(target) { key, value in (Array(key), Array(value)) }
        }
    }

    /// `get` without copies: `body` sees the entry's key and value (valid only inside it).
    /// `target` must be an internal key (>= 8 bytes).
    func get<R>(_ target: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        let user = UnsafeRawBufferPointer(rebasing: target[0..<(target.count - InternalKey.trailerSize)])
        if let filter, !filter.mayContain(userKey: user) { return nil }
        guard var entry = try indexLowerBound(target) else { return nil }
        var cursor = BlockCursor(block: try dataBlock(entry, fillCache: true))
        while true {
            try cursor.seek(target)
            if cursor.isValid {
                let k = cursor.keyBytes
                let same = k.count >= InternalKey.trailerSize
                    && Bytewise.compare(UnsafeRawBufferPointer(rebasing: k[0..<(k.count - InternalKey.trailerSize)]), user) == 0
                return same ? body(k, cursor.valueBytes) : nil
            }
            // Every key of that block is < target: the answer is the next block's first.
            guard let next = try indexEntry(at: entry.index + 1) else { return nil }
            entry = next
            cursor.reset(to: try dataBlock(entry, fillCache: true))
        }
    }

    /// A two-level iterator (index, then data blocks) over every entry of the table.
    /// `fillCache: false` keeps a long scan (compaction) from flushing the block cache.
    public func makeIterator(fillCache: Bool = true) -> InternalIterator {
        TableIterator(table: self, fillCache: fillCache)
    }

    /// The file offset of the data block that would hold `internalKey`; the file size if
    /// the key is past the last block (or the index cannot be read).
    public func approximateOffset(of internalKey: [UInt8]) -> UInt64 {
        let found = internalKey.withUnsafeBytes { target in try? indexLowerBound(target) }
        guard let entry = found ?? nil else { return fileSize }
        return entry.handle.offset
    }

    // MARK: - Index search

    struct IndexEntry {
        var index: Int
        var handle: BlockHandle
    }

    /// The first index entry whose separator is >= target, by binary search over the index
    /// block's restart points (every index entry is one, checked at open): no key copies.
    func indexLowerBound(_ target: UnsafeRawBufferPointer) throws(StorageError) -> IndexEntry? {
        let block = indexBlock
        guard block.restartsOffset > 0 else { return nil }  // a table without entries
        let entries = block.entries
        var left = 0
        var right = block.restartCount  // the answer is in left...right; restartCount = none
        while left < right {
            let mid = (left + right) >> 1
            guard let h = BlockCursor.decodeHeader(entries, at: block.restart(mid), limit: block.restartsOffset) else {
                throw block.corruption("bad index entry \(mid)")
            }
            let key = UnsafeRawBufferPointer(start: block.base + h.keyStart, count: h.nonShared)
            if TableKeyOrder.compare(key, target) < 0 { left = mid + 1 } else { right = mid }
        }
        return try indexEntry(at: left)
    }

    /// Index entry number `i`, nil past the end.
    func indexEntry(at i: Int) throws(StorageError) -> IndexEntry? {
        let block = indexBlock
        guard i < block.restartCount, block.restartsOffset > 0 else { return nil }
        let entries = block.entries
        var handle: BlockHandle?
        if let h = BlockCursor.decodeHeader(entries, at: block.restart(i), limit: block.restartsOffset) {
            var p = h.keyStart + h.nonShared
            let valueEnd = p + h.valueCount
            let decoded = BlockHandle.decode(UnsafeRawBufferPointer(rebasing: entries[0..<valueEnd]), at: &p)
            if p == valueEnd { handle = decoded }
        }
        guard let handle else { throw block.corruption("bad block handle in index entry \(i)") }
        return IndexEntry(index: i, handle: handle)
    }

    /// The index block must have one entry per restart point (restart interval 1), which
    /// lets lookups binary-search it without decoding keys: check that once, at open.
    static func checkEveryEntryIsRestart(_ block: Block) throws(StorageError) {
        var ok = true
        if block.restartsOffset > 0 {
            for i in 0..<block.restartCount {
                guard let h = BlockCursor.decodeHeader(block.entries, at: block.restart(i), limit: block.restartsOffset),
                      h.shared == 0 else {
                    ok = false
                    break
                }
                let end = h.keyStart + h.nonShared + h.valueCount
                let expected = i + 1 < block.restartCount ? block.restart(i + 1) : block.restartsOffset
                if end != expected {
                    ok = false
                    break
                }
            }
        }
        guard ok else { throw block.corruption("index block entries are not all restart points") }
    }

    // MARK: - Block reads

    /// The data block of index entry `entry`, from the cache when present.
    func dataBlock(_ entry: IndexEntry, fillCache: Bool) throws(StorageError) -> Block {
        let handle = entry.handle
        guard let cache else { return try readDataBlock(entry) }
        if let block = cache.lookup(fileNumber: fileNumber, offset: handle.offset) { return block }
        let block = try readDataBlock(entry)
        if fillCache { cache.insert(fileNumber: fileNumber, offset: handle.offset, block: block) }
        return block
    }

    /// Reads (or slices from the mapping) and parses a data block, verifying its checksum
    /// if `verifyChecksums` and it was not verified before.
    func readDataBlock(_ entry: IndexEntry) throws(StorageError) -> Block {
        guard let mapping else { return try Table.readBlock(file, entry.handle, verify: verifyChecksums, end: blocksEnd) }
        let handle = entry.handle
        try Table.checkBounds(handle, end: blocksEnd, path: file.path)
        let offset = Int(handle.offset), size = Int(handle.size)
        let raw = UnsafeRawBufferPointer(start: mapping.base + offset, count: size + TableFormat.blockTrailerSize)
        if verifyChecksums && !verified.contains(entry.index) {
            try Table.verifyChecksum(raw, size: size, path: file.path, offset: offset)
            verified.insert(entry.index)
        }
        guard raw[size] == TableFormat.compressionNone else {
            throw .corruption(file: file.path, offset: offset, reason: "unknown compression type \(raw[size])")
        }
        return try Block(mapping: mapping, offset: offset, contentSize: size, file: file.path)
    }

    static func readBlock(_ file: any RandomAccessFile, _ handle: BlockHandle, verify: Bool, end: UInt64) throws(StorageError) -> Block {
        let bytes = try readRawBlock(file, handle, verify: verify, end: end)
        return try Block(bytes: bytes, contentSize: Int(handle.size), file: file.path, fileOffset: Int(handle.offset))
    }

    /// Throws unless the block and its trailer lie inside the first `end` bytes.
    static func checkBounds(_ handle: BlockHandle, end: UInt64, path: String) throws(StorageError) {
        let trailer = UInt64(TableFormat.blockTrailerSize)
        guard end >= trailer, handle.size <= end - trailer, handle.offset <= end - trailer - handle.size else {
            let offset = handle.offset <= UInt64(Int.max) ? Int(handle.offset) : Int.max
            throw .corruption(file: path, offset: offset,
                              reason: "block handle (offset \(handle.offset), size \(handle.size)) is outside the file's \(end) block bytes")
        }
    }

    /// Checks the masked CRC in the trailer of `raw` (contents of `size` bytes + trailer).
    static func verifyChecksum(_ raw: UnsafeRawBufferPointer, size: Int, path: String, offset: Int) throws(StorageError) {
        guard let stored = UnsafeByteReader.u32LE(raw, at: size + 1),
              CRC32C.unmask(stored) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0...size])) else {
            throw .corruption(file: path, offset: offset, reason: "block checksum mismatch")
        }
    }

    /// Reads block contents plus trailer; checks bounds, the compression type and (if
    /// `verify`) the checksum. The result's first `handle.size` bytes are the contents.
    static func readRawBlock(_ file: any RandomAccessFile, _ handle: BlockHandle, verify: Bool, end: UInt64) throws(StorageError) -> [UInt8] {
        try checkBounds(handle, end: end, path: file.path)
        let offset = Int(handle.offset), size = Int(handle.size)
        let bytes = try file.read(offset: offset, count: size + TableFormat.blockTrailerSize)
        guard bytes.count == size + TableFormat.blockTrailerSize else {
            throw .corruption(file: file.path, offset: offset, reason: "truncated block")
        }
        if verify {
            try bytes.withBytes { (buf) throws(StorageError) in try verifyChecksum(buf, size: size, path: file.path, offset: offset) }
        }
        guard bytes[size] == TableFormat.compressionNone else {
            throw .corruption(file: file.path, offset: offset, reason: "unknown compression type \(bytes[size])")
        }
        return bytes
    }

    /// Checks the footer and returns the metaindex and index handles.
    static func decodeFooter(_ footer: [UInt8], path: String, at offset: Int) throws(StorageError) -> (BlockHandle, BlockHandle) {
        let fail = { (reason: String) in StorageError.corruption(file: path, offset: offset, reason: reason) }
        guard footer.count == TableFormat.footerSize else { throw fail("truncated footer") }
        let decoded: (UInt64, UInt32, UInt32, UInt32, BlockHandle?, BlockHandle?) = footer.withUnsafeBytes { buf in
            let magic = UnsafeByteReader.u64LE(buf, at: TableFormat.footerSize - 8) ?? 0
            let version = UnsafeByteReader.u32LE(buf, at: TableFormat.footerHandlesSize) ?? 0
            let stored = UnsafeByteReader.u32LE(buf, at: TableFormat.footerHandlesSize + 4) ?? 0
            let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[0..<(TableFormat.footerHandlesSize + 4)]))
            let handles = UnsafeRawBufferPointer(rebasing: buf[0..<TableFormat.footerHandlesSize])
            var p = 0
            let meta = BlockHandle.decode(handles, at: &p)
            let index = BlockHandle.decode(handles, at: &p)
            return (magic, version, CRC32C.unmask(stored), actual, meta, index)
        }
        let (magic, version, stored, actual, meta, index) = decoded
        guard magic == TableFormat.magic else { throw fail("bad table magic number 0x\(String(magic, radix: 16))") }
        guard stored == actual else { throw fail("footer checksum mismatch") }
        guard version == TableFormat.formatVersion else { throw fail("unsupported table format version \(version)") }
        guard let meta, let index else { throw fail("bad block handle in footer") }
        return (meta, index)
    }
}

/// The two-level iterator of a table: a position in the index (an entry number, found by
/// binary search without copying keys) and a cursor over the data block it points to.
final class TableIterator: InternalIterator {
    private(set) var table: Table
    let fillCache: Bool
    /// Index entry of the loaded data block.
    private var indexPosition = 0
    private var loadedHandle: BlockHandle?
    private var data: BlockCursor
    private var hasData = false

    init(table: Table, fillCache: Bool) {
        self.table = table
        self.fillCache = fillCache
        data = BlockCursor(block: table.indexBlock)  // placeholder until a data block loads
    }

    /// Walks another table from now on (a level's next file), keeping the key buffer.
    func reset(to table: Table) {
        self.table = table
        loadedHandle = nil
        hasData = false
        data.reset(to: table.indexBlock)
    }

    var isValid: Bool { hasData && data.isValid }
    var keyBytes: UnsafeRawBufferPointer { data.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { data.valueBytes }

    func seekToFirst() throws(StorageError) {
        do throws(StorageError) {
            try load(table.indexEntry(at: 0))
            if hasData { try data.seekToFirst() }
            try skipExhaustedBlocks()
        } catch {
            hasData = false
            throw error
        }
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        do throws(StorageError) {
            try load(table.indexLowerBound(target))
            if hasData { try data.seek(target) }
            try skipExhaustedBlocks()
        } catch {
            hasData = false
            throw error
        }
    }

    func next() throws(StorageError) {
        precondition(isValid, "next on an invalid table iterator")
        do throws(StorageError) {
            try data.next()
            try skipExhaustedBlocks()
        } catch {
            hasData = false
            throw error
        }
    }

    /// Loads the data block of `entry` (kept if it is already loaded); none = exhausted.
    private func load(_ entry: Table.IndexEntry?) throws(StorageError) {
        guard let entry else {
            hasData = false
            return
        }
        if entry.handle != loadedHandle {
            loadedHandle = nil
            let block = try table.dataBlock(entry, fillCache: fillCache)
            data.reset(to: block)
            loadedHandle = entry.handle
        }
        indexPosition = entry.index
        hasData = true
    }

    /// Moves past data blocks with no (further) entries.
    private func skipExhaustedBlocks() throws(StorageError) {
        while hasData && !data.isValid {
            try load(table.indexEntry(at: indexPosition + 1))
            if hasData { try data.seekToFirst() }
        }
    }
}
