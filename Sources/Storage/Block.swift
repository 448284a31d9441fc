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

import Bytes

/// A parsed, immutable table block: its bytes and where its restart array lies.
///
/// The bytes are either `bytes` (read from the file) or a slice of `mapping` (the table
/// file mapped read-only). `base` points at them. That is sound because `bytes` is a `let`
/// that is never mutated, so its heap storage neither moves nor is freed while the block
/// lives, and a mapping stays mapped while any block holds it; every user of `base`
/// (cursors, the table's index search) holds a strong reference to the block. It lets the
/// per-entry paths read bytes with no closure and no retain/release.
public final class Block: @unchecked Sendable {
    /// Block contents, possibly followed by bytes that are not part of the block (the trailer
    /// of the read), so that a read needs no copy. Empty for a mapped block.
    let bytes: [UInt8]
    /// The file mapping a mapped block lies in (kept alive by the block).
    let mapping: FileMapping?
    /// Start of the block's bytes (see the type's comment).
    let base: UnsafeRawPointer
    /// Bytes `0..<restartsOffset` hold the entries; the restart array follows.
    let restartsOffset: Int
    let restartCount: Int
    /// Bytes of block contents.
    let contentSize: Int
    /// File and file offset of the block, for error messages.
    let file: String
    let fileOffset: Int

    /// Parses `bytes[0..<contentSize]` as a block; throws `.corruption` if malformed.
    convenience init(bytes: [UInt8], contentSize: Int, file: String, fileOffset: Int) throws(StorageError) {
        guard contentSize >= 4, contentSize <= bytes.count else {
            throw .corruption(file: file, offset: fileOffset, reason: "block of \(contentSize) bytes is too short")
        }
        let base = bytes.withUnsafeBytes { $0.baseAddress.unsafelyUnwrapped }
        try self.init(bytes: bytes, mapping: nil, base: base, contentSize: contentSize, file: file, fileOffset: fileOffset)
    }

    /// Parses `contentSize` bytes of `mapping` at `offset` (the caller checked the bounds).
    convenience init(mapping: FileMapping, offset: Int, contentSize: Int, file: String) throws(StorageError) {
        guard contentSize >= 4 else {
            throw .corruption(file: file, offset: offset, reason: "block of \(contentSize) bytes is too short")
        }
        try self.init(bytes: [], mapping: mapping, base: mapping.base + offset, contentSize: contentSize, file: file, fileOffset: offset)
    }

    private init(bytes: [UInt8], mapping: FileMapping?, base: UnsafeRawPointer, contentSize: Int, file: String, fileOffset: Int) throws(StorageError) {
        let buf = UnsafeRawBufferPointer(start: base, count: contentSize)
        var parsed: (Int, Int)?
        if let count = UnsafeByteReader.u32LE(buf, at: contentSize - 4) {
            let n = Int(count)
            if n >= 1, n <= (contentSize - 4) / 4 {
                let limit = contentSize - 4 - 4 * n
                var previous = -1
                var ok = true
                for i in 0..<n {
                    let r = Int(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: limit + 4 * i, as: UInt32.self)))
                    // An empty block has the single restart 0 == limit; otherwise inside entries.
                    if (i == 0 ? r != 0 : r <= previous) || !(r < limit || (limit == 0 && n == 1)) {
                        ok = false
                        break
                    }
                    previous = r
                }
                if ok { parsed = (limit, n) }
            }
        }
        guard let (limit, n) = parsed else {
            throw .corruption(file: file, offset: fileOffset, reason: "bad restart array in block of \(contentSize) bytes")
        }
        self.bytes = bytes
        self.mapping = mapping
        self.base = base
        self.restartsOffset = limit
        self.restartCount = n
        self.contentSize = contentSize
        self.file = file
        self.fileOffset = fileOffset
    }

    /// Bytes this block costs in a cache.
    var charge: Int { contentSize + 64 }

    /// The entry area, `0..<restartsOffset`.
    @inline(__always)
    var entries: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: restartsOffset) }

    /// The offset of restart point `index` (validated at init; `index < restartCount`).
    @inline(__always)
    func restart(_ index: Int) -> Int {
        Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: restartsOffset + 4 * index, as: UInt32.self)))
    }

    func corruption(_ reason: String) -> StorageError {
        .corruption(file: file, offset: fileOffset, reason: reason)
    }

    /// An iterator over this block's entries (keys ordered by `InternalKey.compare`).
    func makeIterator() -> BlockIterator { BlockIterator(block: self) }
}

/// A position in a block: the current key (reused buffer), value range and next offset.
/// A value type so the table's two-level iterator and `Table.get` hold it inline. It copies
/// the block's base pointer and sizes so that stepping touches only its own fields.
struct BlockCursor {
    private(set) var block: Block
    private var base: UnsafeRawPointer
    /// `block.restartsOffset`: end of the entry area.
    private var limit: Int
    private var restartCount: Int
    /// The current key; valid only while `isValid`.
    private var key: [UInt8] = []
    private var keyBase: UnsafeRawPointer?
    private(set) var valueStart = 0
    private(set) var valueEnd = 0
    /// Offset of the current entry; `limit` when not valid.
    private(set) var current: Int
    private var nextOffset: Int

    init(block: Block) {
        self.block = block
        base = block.base
        limit = block.restartsOffset
        restartCount = block.restartCount
        current = limit
        nextOffset = limit
    }

    var isValid: Bool { current < limit }

    /// The current value, in the block's storage.
    @inline(__always)
    var valueBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + valueStart, count: valueEnd - valueStart) }

    /// The current key. `keyBase` is refreshed after every change of `key`, which the
    /// cursor owns (its storage moves only when the cursor changes it).
    @inline(__always)
    var keyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: keyBase, count: key.count) }

    /// Switches to another block, keeping the key buffer's capacity.
    mutating func reset(to block: Block) {
        self.block = block
        base = block.base
        limit = block.restartsOffset
        restartCount = block.restartCount
        invalidate()
    }

    mutating func invalidate() {
        current = limit
        nextOffset = limit
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

    @inline(__always)
    private func restart(_ index: Int) -> Int {
        Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: limit + 4 * index, as: UInt32.self)))
    }

    /// Positions at the first entry with key >= `target` (InternalKey order), or invalid.
    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        let entries = UnsafeRawBufferPointer(start: base, count: limit)
        // Binary search: the last restart point whose key is < target (or restart 0).
        var left = 0
        var right = restartCount - 1
        while left < right {
            let mid = (left + right + 1) >> 1
            guard let entry = Self.decodeHeader(entries, at: restart(mid), limit: limit), entry.shared == 0 else {
                invalidate()
                throw block.corruption("bad entry at restart point \(mid)")
            }
            let midKey = UnsafeRawBufferPointer(start: base + entry.keyStart, count: entry.nonShared)
            if TableKeyOrder.compare(midKey, target) < 0 { left = mid } else { right = mid - 1 }
        }
        key.removeAll(keepingCapacity: true)
        nextOffset = restart(left)
        // Linear scan within the restart interval.
        while true {
            try parseNext()
            guard isValid else { return }
            if TableKeyOrder.compare(keyBytes, target) >= 0 { return }
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
        guard offset >= 0, offset + 3 <= limit, limit <= buf.count else { return nil }
        var p = offset
        let shared: Int, nonShared: Int, valueCount: Int
        let a = buf[p], b = buf[p + 1], c = buf[p + 2]
        if (a | b | c) < 128 {
            shared = Int(a); nonShared = Int(b); valueCount = Int(c)
            p += 3
        } else {
            let area = UnsafeRawBufferPointer(rebasing: buf[0..<limit])
            guard let s = UnsafeByteReader.varintInt(area, at: &p),
                  let n = UnsafeByteReader.varintInt(area, at: &p),
                  let v = UnsafeByteReader.varintInt(area, at: &p) else { return nil }
            shared = s; nonShared = n; valueCount = v
        }
        guard nonShared <= limit - p, valueCount <= limit - p - nonShared else { return nil }
        return Header(shared: shared, nonShared: nonShared, valueCount: valueCount, keyStart: p)
    }

    /// Decodes the entry at `nextOffset` into key/value, or becomes invalid at the end.
    @inline(__always)
    private mutating func parseNext() throws(StorageError) {
        let offset = nextOffset
        guard offset < limit else {
            invalidate()
            return
        }
        let entries = UnsafeRawBufferPointer(start: base, count: limit)
        guard let h = Self.decodeHeader(entries, at: offset, limit: limit), h.shared <= key.count else {
            invalidate()
            throw block.corruption("bad entry at block byte \(offset)")
        }
        let delta = UnsafeRawBufferPointer(start: base + h.keyStart, count: h.nonShared)
        if h.shared + h.nonShared == key.count && !key.isEmpty {
            // Common with fixed-size keys: overwrite the differing suffix in place.
            keyBase = key.withUnsafeMutableBytes { dst in
                let p = dst.baseAddress.unsafelyUnwrapped
                if h.nonShared > 0 { (p + h.shared).copyMemory(from: delta.baseAddress.unsafelyUnwrapped, byteCount: h.nonShared) }
                return UnsafeRawPointer(p)
            }
        } else {
            key.replaceSubrange(h.shared..<key.count, with: delta)
            keyBase = key.withUnsafeMutableBytes { UnsafeRawPointer($0.baseAddress) }
        }
        valueStart = h.keyStart + h.nonShared
        valueEnd = valueStart + h.valueCount
        current = offset
        nextOffset = valueEnd
    }
}

/// `InternalKey.compare`, specialised for the search loops of blocks and the index: inlined,
/// comparing eight bytes at a time as big-endian words instead of calling memcmp. Same
/// order, same sign (pinned against `InternalKey.compare` by BlockTests).
enum TableKeyOrder {
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1) }
        let t = InternalKey.trailerSize
        guard a.count >= t, b.count >= t else { return compareBytes(pa, a.count, pb, b.count) }
        let c = compareBytes(pa, a.count - t, pb, b.count - t)
        if c != 0 { return c }
        let x = UInt64(littleEndian: pa.loadUnaligned(fromByteOffset: a.count - t, as: UInt64.self))
        let y = UInt64(littleEndian: pb.loadUnaligned(fromByteOffset: b.count - t, as: UInt64.self))
        return x > y ? -1 : (x < y ? 1 : 0)
    }

    /// Bytewise order of two buffers (either may be empty): -1, 0 or 1.
    @inline(__always)
    static func compareRaw(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1) }
        return compareBytes(pa, a.count, pb, b.count)
    }

    /// Bytewise order of `pa[0..<na]` and `pb[0..<nb]`: -1, 0 or 1.
    @inline(__always)
    static func compareBytes(_ pa: UnsafeRawPointer, _ na: Int, _ pb: UnsafeRawPointer, _ nb: Int) -> Int {
        let n = min(na, nb)
        var i = 0
        while i &+ 8 <= n {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            i &+= 8
        }
        while i < n {
            let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            i &+= 1
        }
        return na < nb ? -1 : (na > nb ? 1 : 0)
    }
}

/// An `InternalIterator` over one block.
final class BlockIterator: InternalIterator {
    private var cursor: BlockCursor

    init(block: Block) { cursor = BlockCursor(block: block) }

    var isValid: Bool { cursor.isValid }
    var keyBytes: UnsafeRawBufferPointer { cursor.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { cursor.valueBytes }
    func seekToFirst() throws(StorageError) { try cursor.seekToFirst() }
    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) { try cursor.seek(target) }
    func next() throws(StorageError) { try cursor.next() }
}
