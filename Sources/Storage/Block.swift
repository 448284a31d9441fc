// Reading a table block (layout in BlockBuilder.swift and FORMAT.md, "Tables").
//
// `Block` validates the restart array once, when the block is parsed: every restart offset
// lies inside the entry area, the first is 0 and they strictly increase. Cursors then trust
// the restart array and bounds-check each entry they decode against the entry area, so a
// malformed block throws `.corruption` (naming the file and the block's offset) and never
// reads out of bounds.
//
// Thread-safety: a `Block` is immutable and shared freely (cache, many iterators). A
// `BlockCursor`/`BlockIterator` belongs to one thread at a time.

/// A parsed, immutable table block: its bytes and where its restart array lies.
public final class Block: Sendable {
    /// Block contents, possibly followed by bytes that are not part of the block (the trailer
    /// of the read), so that a read needs no copy.
    let bytes: [UInt8]
    /// Bytes `0..<restartsOffset` hold the entries.
    let restartsOffset: Int
    let restartCount: Int
    /// File and file offset of the block, for error messages.
    let file: String
    let fileOffset: Int

    /// Parses `bytes[0..<contentSize]` as a block; throws `.corruption` if malformed.
    init(bytes: [UInt8], contentSize: Int, file: String, fileOffset: Int) throws(StorageError) {
        guard contentSize >= 4, contentSize <= bytes.count else {
            throw .corruption(file: file, offset: fileOffset, reason: "block of \(contentSize) bytes is too short")
        }
        let parsed: (Int, Int)? = bytes.withUnsafeBytes { buf in
            guard let count = Coding.fixed32(buf, at: contentSize - 4) else { return nil }
            let n = Int(count)
            guard n >= 1, n <= (contentSize - 4) / 4 else { return nil }
            let limit = contentSize - 4 - 4 * n
            var previous = -1
            for i in 0..<n {
                guard let r32 = Coding.fixed32(buf, at: limit + 4 * i) else { return nil }
                let r = Int(r32)
                if i == 0 ? r != 0 : r <= previous { return nil }
                // An empty block has the single restart 0 == limit; otherwise inside entries.
                guard r < limit || (limit == 0 && n == 1) else { return nil }
                previous = r
            }
            return (limit, n)
        }
        guard let (limit, n) = parsed else {
            throw .corruption(file: file, offset: fileOffset, reason: "bad restart array in block of \(contentSize) bytes")
        }
        self.bytes = bytes
        self.restartsOffset = limit
        self.restartCount = n
        self.file = file
        self.fileOffset = fileOffset
    }

    /// Bytes this block costs in a cache.
    var charge: Int { bytes.count + 64 }

    /// The offset of restart point `index` (validated at init).
    @inline(__always)
    func restart(_ buf: UnsafeRawBufferPointer, _ index: Int) -> Int {
        Int(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: restartsOffset + 4 * index, as: UInt32.self)))
    }

    func corruption(_ reason: String) -> StorageError {
        .corruption(file: file, offset: fileOffset, reason: reason)
    }

    /// An iterator over this block's entries (keys ordered by `InternalKey.compare`).
    func makeIterator() -> BlockIterator { BlockIterator(block: self) }
}

/// A position in a block: the current key (reused buffer), value range and next offset.
/// A value type so the table's two-level iterator and `Table.get` hold it inline.
struct BlockCursor {
    private(set) var block: Block
    /// The current key; valid only while `isValid`.
    private(set) var key: [UInt8] = []
    private(set) var valueStart = 0
    private(set) var valueEnd = 0
    /// Offset of the current entry; `block.restartsOffset` when not valid.
    private(set) var current: Int
    private var nextOffset: Int

    init(block: Block) {
        self.block = block
        current = block.restartsOffset
        nextOffset = block.restartsOffset
        key.reserveCapacity(32)
    }

    var isValid: Bool { current < block.restartsOffset }

    /// The current value, sharing the block's storage.
    var value: ArraySlice<UInt8> { block.bytes[valueStart..<valueEnd] }

    /// Switches to another block, keeping the key buffer's capacity.
    mutating func reset(to block: Block) {
        self.block = block
        invalidate()
    }

    mutating func invalidate() {
        current = block.restartsOffset
        nextOffset = block.restartsOffset
        key.removeAll(keepingCapacity: true)
    }

    mutating func seekToFirst() throws(StorageError) {
        key.removeAll(keepingCapacity: true)
        nextOffset = 0
        try parseNext()
    }

    mutating func next() throws(StorageError) {
        precondition(isValid, "next on an invalid block cursor")
        try parseNext()
    }

    /// Positions at the first entry with key >= `target` (InternalKey order), or invalid.
    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        let block = self.block
        // Binary search: the last restart point whose key is < target (or restart 0).
        let found: Int? = block.bytes.withUnsafeBytes { buf in
            var left = 0
            var right = block.restartCount - 1
            while left < right {
                let mid = (left + right + 1) >> 1
                let offset = block.restart(buf, mid)
                guard let entry = Self.decodeHeader(buf, at: offset, limit: block.restartsOffset),
                      entry.shared == 0 else { return nil }
                let midKey = UnsafeRawBufferPointer(rebasing: buf[entry.keyStart..<(entry.keyStart + entry.nonShared)])
                if InternalKey.compare(midKey, target) < 0 { left = mid } else { right = mid - 1 }
            }
            return block.restart(buf, left)
        }
        guard let start = found else {
            invalidate()
            throw block.corruption("bad entry at a restart point")
        }
        key.removeAll(keepingCapacity: true)
        nextOffset = start
        // Linear scan within the restart interval.
        while true {
            try parseNext()
            guard isValid else { return }
            let done = key.withUnsafeBytes { InternalKey.compare($0, target) >= 0 }
            if done { return }
        }
    }

    mutating func seek(_ target: [UInt8]) throws(StorageError) {
        try target.withUnsafeBufferPointer { (t) throws(StorageError) in try seek(UnsafeRawBufferPointer(t)) }
    }

    struct Header {
        var shared: Int
        var nonShared: Int
        var valueCount: Int
        var keyStart: Int
    }

    /// Decodes an entry's three lengths at `offset`; nil if malformed or past `limit`.
    @inline(__always)
    static func decodeHeader(_ buf: UnsafeRawBufferPointer, at offset: Int, limit: Int) -> Header? {
        guard offset + 3 <= limit else { return nil }
        var p = offset
        let shared: Int, nonShared: Int, valueCount: Int
        let a = buf[p], b = buf[p + 1], c = buf[p + 2]
        if (a | b | c) < 128 {
            shared = Int(a); nonShared = Int(b); valueCount = Int(c)
            p += 3
        } else {
            let area = UnsafeRawBufferPointer(rebasing: buf[0..<limit])
            guard let s = Coding.varintInt(area, at: &p),
                  let n = Coding.varintInt(area, at: &p),
                  let v = Coding.varintInt(area, at: &p) else { return nil }
            shared = s; nonShared = n; valueCount = v
        }
        guard nonShared <= limit - p, valueCount <= limit - p - nonShared else { return nil }
        return Header(shared: shared, nonShared: nonShared, valueCount: valueCount, keyStart: p)
    }

    /// Decodes the entry at `nextOffset` into key/value, or becomes invalid at the end.
    @inline(__always)
    private mutating func parseNext() throws(StorageError) {
        let limit = block.restartsOffset
        let offset = nextOffset
        guard offset < limit else {
            invalidate()
            return
        }
        let ok: Bool = block.bytes.withUnsafeBytes { buf in
            guard let h = Self.decodeHeader(buf, at: offset, limit: limit), h.shared <= key.count else { return false }
            key.removeLast(key.count - h.shared)
            key.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[h.keyStart..<(h.keyStart + h.nonShared)]))
            valueStart = h.keyStart + h.nonShared
            valueEnd = valueStart + h.valueCount
            return true
        }
        guard ok else {
            invalidate()
            throw block.corruption("bad entry at block byte \(offset)")
        }
        current = offset
        nextOffset = valueEnd
    }
}

/// An `InternalIterator` over one block.
final class BlockIterator: InternalIterator {
    private var cursor: BlockCursor

    init(block: Block) { cursor = BlockCursor(block: block) }

    var isValid: Bool { cursor.isValid }
    var key: [UInt8] { cursor.key }
    var value: ArraySlice<UInt8> { cursor.value }
    func seekToFirst() throws(StorageError) { try cursor.seekToFirst() }
    func seek(_ target: [UInt8]) throws(StorageError) { try cursor.seek(target) }
    func next() throws(StorageError) { try cursor.next() }
}
