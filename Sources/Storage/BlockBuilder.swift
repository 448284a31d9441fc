// Builds one table block (FORMAT.md, "Tables"):
//
//   block   := entry* restart* fixed32(num_restarts)
//   entry   := varint32(shared) varint32(non_shared) varint32(value_len)
//              key_delta[non_shared] value[value_len]
//   restart := fixed32(offset of an entry whose shared == 0)
//
// Each key is stored as the number of bytes it shares with the previous key plus the rest.
// Every `restartInterval` keys the prefix compression restarts (shared = 0) and the entry's
// offset goes into the restart array, so a reader can binary-search the restart points and
// then scan at most `restartInterval` entries.
//
// Contract: keys are added in strictly increasing order of the block's comparator (the
// caller guarantees it); `finish` seals the block until `reset`. Not thread-safe.

/// Accumulates prefix-compressed entries and restart points into one block's bytes.
///
/// The block and the previous key live in buffers this builder owns and grows (doubling),
/// so adding an entry is a few bounds-checked memcpys, not Array appends.
final class BlockBuilder {
    let restartInterval: Int
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Bytes of the block written so far.
    private(set) var count = 0
    private var restarts: [UInt32] = [0]
    private var sinceRestart = 0
    private(set) var entryCount = 0
    private var lastKey: UnsafeMutableRawPointer
    private var lastKeyCapacity: Int
    private var lastKeyCount = 0
    private(set) var isFinished = false

    init(restartInterval: Int = 16, initialCapacityBytes: Int = 4096 + 1024) {
        precondition(restartInterval >= 1, "restart interval must be at least 1")
        self.restartInterval = restartInterval
        capacity = max(64, initialCapacityBytes)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        lastKeyCapacity = 64
        lastKey = UnsafeMutableRawPointer.allocate(byteCount: lastKeyCapacity, alignment: 8)
    }

    deinit {
        storage.deallocate()
        lastKey.deallocate()
    }

    var isEmpty: Bool { entryCount == 0 }

    /// Size of the block if it were finished now (entries + restart array + count).
    var sizeEstimate: Int { count + restarts.count * 4 + 4 }

    /// The finished block's bytes; valid until the next `reset` (or the builder's end).
    var finishedBytes: UnsafeRawBufferPointer {
        precondition(isFinished, "block not finished")
        return UnsafeRawBufferPointer(start: storage, count: count)
    }

    @inline(__always)
    private func reserve(_ extra: Int) {
        let needed = count + extra
        if needed > capacity { grow(to: needed) }
    }

    private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        bigger.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    @inline(__always)
    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + count).copyMemory(from: src, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    private func writeVarint(_ value: Int) {
        reserve(10)
        var v = UInt64(value)
        while v >= 0x80 {
            storage.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: count, as: UInt8.self)
            count += 1
            v >>= 7
        }
        storage.storeBytes(of: UInt8(v), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    private func writeFixed32(_ value: UInt32) {
        reserve(4)
        storage.storeBytes(of: value.littleEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    /// Appends one entry. `key` must sort after every key added since the last reset.
    func add<V: Collection>(_ key: UnsafeRawBufferPointer, _ value: V) where V.Element == UInt8 {
        precondition(!isFinished, "add after finish")
        precondition(key.count <= Int(UInt32.max) && value.count <= Int(UInt32.max), "entry too large")
        var shared = 0
        if sinceRestart < restartInterval {
            shared = Self.commonPrefix(UnsafeRawBufferPointer(start: lastKey, count: lastKeyCount), key)
        } else {
            restarts.append(UInt32(truncatingIfNeeded: count))
            sinceRestart = 0
        }
        let nonShared = key.count - shared
        let valueCount = value.count
        // Common case first: all three lengths fit one varint byte each.
        if shared < 128 && nonShared < 128 && valueCount < 128 {
            reserve(3)
            storage.storeBytes(of: UInt8(truncatingIfNeeded: shared), toByteOffset: count, as: UInt8.self)
            storage.storeBytes(of: UInt8(truncatingIfNeeded: nonShared), toByteOffset: count + 1, as: UInt8.self)
            storage.storeBytes(of: UInt8(truncatingIfNeeded: valueCount), toByteOffset: count + 2, as: UInt8.self)
            count += 3
        } else {
            writeVarint(shared)
            writeVarint(nonShared)
            writeVarint(valueCount)
        }
        let delta = UnsafeRawBufferPointer(rebasing: key[shared...])
        write(delta)
        let contiguous: Void? = value.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        if contiguous == nil {
            reserve(valueCount)
            for byte in value {
                storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
                count += 1
            }
        }

        if key.count > lastKeyCapacity {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: max(key.count, 2 * lastKeyCapacity), alignment: 8)
            bigger.copyMemory(from: lastKey, byteCount: shared)
            lastKey.deallocate()
            lastKey = bigger
            lastKeyCapacity = max(key.count, 2 * lastKeyCapacity)
        }
        if let src = delta.baseAddress, nonShared > 0 { (lastKey + shared).copyMemory(from: src, byteCount: nonShared) }
        lastKeyCount = key.count
        sinceRestart += 1
        entryCount += 1
    }

    func add<V: Collection>(_ key: [UInt8], _ value: V) where V.Element == UInt8 {
        key.withUnsafeBytes { add($0, value) }
    }

    /// Appends the restart array and its count; returns a copy of the finished block.
    /// (`TableBuilder` writes `finishedBytes` instead, without the copy.)
    @discardableResult
    func finish() -> [UInt8] {
        seal()
        return Array(finishedBytes)
    }

    /// Appends the restart array and its count, once.
    func seal() {
        guard !isFinished else { return }
        reserve(restarts.count * 4 + 4)
        for r in restarts { writeFixed32(r) }
        writeFixed32(UInt32(truncatingIfNeeded: restarts.count))
        isFinished = true
    }

    /// Empties the builder for the next block, keeping its buffers.
    func reset() {
        count = 0
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        lastKeyCount = 0
        sinceRestart = 0
        entryCount = 0
        isFinished = false
    }

    /// Number of leading bytes `a` and `b` have in common, 8 bytes at a time.
    static func commonPrefix(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        var i = 0
        while i + 8 <= n {
            let x = pa.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ^ pb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if x != 0 { return i + UInt64(littleEndian: x).trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n && pa.load(fromByteOffset: i, as: UInt8.self) == pb.load(fromByteOffset: i, as: UInt8.self) {
            i += 1
        }
        return i
    }
}
