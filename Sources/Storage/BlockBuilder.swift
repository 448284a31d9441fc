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
final class BlockBuilder {
    let restartInterval: Int
    /// The block under construction; after `finish`, the whole block.
    private(set) var buffer: [UInt8] = []
    private var restarts: [UInt32] = [0]
    private var sinceRestart = 0
    private(set) var entryCount = 0
    private(set) var lastKey: [UInt8] = []
    private(set) var isFinished = false

    init(restartInterval: Int = 16) {
        precondition(restartInterval >= 1, "restart interval must be at least 1")
        self.restartInterval = restartInterval
    }

    var isEmpty: Bool { entryCount == 0 }

    /// Size of the block if it were finished now (entries + restart array + count).
    var sizeEstimate: Int { buffer.count + restarts.count * 4 + 4 }

    /// Appends one entry. `key` must sort after every key added since the last reset.
    func add<V: Collection>(_ key: UnsafeRawBufferPointer, _ value: V) where V.Element == UInt8 {
        precondition(!isFinished, "add after finish")
        precondition(key.count <= Int(UInt32.max) && value.count <= Int(UInt32.max), "entry too large")
        var shared = 0
        if sinceRestart < restartInterval {
            shared = lastKey.withUnsafeBytes { last in Self.commonPrefix(last, key) }
        } else {
            restarts.append(UInt32(truncatingIfNeeded: buffer.count))
            sinceRestart = 0
        }
        let nonShared = key.count - shared
        let valueCount = value.count
        // Common case first: all three lengths fit one varint byte each.
        if shared < 128 && nonShared < 128 && valueCount < 128 {
            buffer.append(UInt8(truncatingIfNeeded: shared))
            buffer.append(UInt8(truncatingIfNeeded: nonShared))
            buffer.append(UInt8(truncatingIfNeeded: valueCount))
        } else {
            buffer.appendVarint(shared)
            buffer.appendVarint(nonShared)
            buffer.appendVarint(valueCount)
        }
        let delta = UnsafeRawBufferPointer(rebasing: key[shared...])
        buffer.append(contentsOf: delta)
        buffer.append(contentsOf: value)

        lastKey.removeLast(lastKey.count - shared)
        lastKey.append(contentsOf: delta)
        sinceRestart += 1
        entryCount += 1
    }

    func add<V: Collection>(_ key: [UInt8], _ value: V) where V.Element == UInt8 {
        key.withUnsafeBytes { add($0, value) }
    }

    /// Appends the restart array and its count; returns the finished block's bytes.
    @discardableResult
    func finish() -> [UInt8] {
        if !isFinished {
            for r in restarts { buffer.appendFixed32(r) }
            buffer.appendFixed32(UInt32(truncatingIfNeeded: restarts.count))
            isFinished = true
        }
        return buffer
    }

    /// Empties the builder for the next block, keeping its allocated capacity.
    func reset() {
        buffer.removeAll(keepingCapacity: true)
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        lastKey.removeAll(keepingCapacity: true)
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
