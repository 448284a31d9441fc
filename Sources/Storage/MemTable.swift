#if canImport(Glibc)
import Glibc
#endif

/// The in-memory write buffer: a skiplist of internal entries ordered by internal key
/// (user key ascending, sequence descending), with keys and values packed in one byte arena.
///
/// Thread-safety: one writer at a time (the store's write path); readers and iterators may
/// run concurrently with it. A reader-writer lock guards the arena and links; node indices
/// are stable and a node's links only ever move forward to newly inserted nodes, so an
/// iterator that re-takes the read lock on each move sees a consistent order (LevelDB's
/// skiplist invariant). Invariants: (1) level-0 links visit every node in order; (2) a node
/// of height h is linked at levels 0..<h; (3) entries are never removed or changed.
final class MemTable: @unchecked Sendable {
    struct Node {
        var keyStart: Int
        var keyCount: Int32
        var valueCount: Int32
        var linkBase: Int32
    }

    static let maxHeight = 12
    static let head = 0

    private let lock = ReadWriteLock()
    private var arena: [UInt8] = []
    private var nodes: [Node] = []
    private var links: [Int32] = []
    private var height = 1
    /// Insert scratch: the predecessor at each level (writer-only, under the write lock).
    private var prev = [Int](repeating: 0, count: MemTable.maxHeight)
    private var random: UInt64 = 0x9E37_79B9_7F4A_7C15
    private(set) var count = 0
    /// Sequence of the first and last entries added, for the WAL/flush bookkeeping.
    private(set) var largestSequence: SequenceNumber = 0

    init(capacityBytes: Int = 0) {
        arena.reserveCapacity(capacityBytes + capacityBytes / 8)
        nodes.append(Node(keyStart: 0, keyCount: 0, valueCount: 0, linkBase: 0))
        links.append(contentsOf: repeatElement(-1, count: MemTable.maxHeight))
    }

    /// Approximate bytes held: arena plus per-node bookkeeping.
    var approximateMemoryUsage: Int {
        lock.read { arena.count + nodes.count * MemoryLayout<Node>.stride + links.count * 4 }
    }

    private func randomHeight() -> Int {
        var h = 1
        while h < MemTable.maxHeight {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            if random & 3 != 0 { break }
            h += 1
        }
        return h
    }

    /// Inserts one entry. The caller guarantees (userKey, sequence) is new.
    func add(sequence: SequenceNumber, type: ValueType, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let h = randomHeight()
        lock.write {
            let keyStart = arena.count
            arena.append(contentsOf: key)
            arena.appendFixed64(sequence << 8 | UInt64(type.rawValue))
            arena.append(contentsOf: value)
            let keyCount = key.count + 8
            let node = nodes.count
            nodes.append(Node(keyStart: keyStart, keyCount: Int32(keyCount), valueCount: Int32(value.count), linkBase: Int32(links.count)))
            links.append(contentsOf: repeatElement(-1, count: h))
            arena.withUnsafeBytes { a in
                let newKey = UnsafeRawBufferPointer(rebasing: a[keyStart..<(keyStart + keyCount)])
                var x = MemTable.head
                var level = height - 1
                while level >= 0 {
                    let nextNode = Int(links[Int(nodes[x].linkBase) + level])
                    if nextNode >= 0, InternalKey.compare(keyBytes(a, nextNode), newKey) < 0 {
                        x = nextNode
                    } else {
                        prev[level] = x
                        level -= 1
                    }
                }
            }
            if h > height {
                for level in height..<h { prev[level] = MemTable.head }
                height = h
            }
            let base = Int(nodes[node].linkBase)
            for level in 0..<h {
                let p = Int(nodes[prev[level]].linkBase) + level
                links[base + level] = links[p]
                links[p] = Int32(node)
            }
            count += 1
            if sequence > largestSequence { largestSequence = sequence }
        }
    }

    @inline(__always)
    private func keyBytes(_ a: UnsafeRawBufferPointer, _ node: Int) -> UnsafeRawBufferPointer {
        let n = nodes[node]
        return UnsafeRawBufferPointer(rebasing: a[n.keyStart..<(n.keyStart + Int(n.keyCount))])
    }

    /// First node whose key is >= `target` (internal key order), or -1. Call under the lock.
    private func findGreaterOrEqual(_ target: UnsafeRawBufferPointer, _ a: UnsafeRawBufferPointer) -> Int {
        var x = MemTable.head
        var level = height - 1
        while true {
            let nextNode = Int(links[Int(nodes[x].linkBase) + level])
            if nextNode >= 0, InternalKey.compare(keyBytes(a, nextNode), target) < 0 {
                x = nextNode
            } else if level == 0 {
                return nextNode
            } else {
                level -= 1
            }
        }
    }

    /// What the memtable knows of `userKey` at `sequence`: the newest entry not newer.
    enum Lookup {
        case notFound
        case deleted(SequenceNumber)
        case value([UInt8], SequenceNumber)
    }

    func get(userKey: UnsafeRawBufferPointer, sequence: SequenceNumber) -> Lookup {
        var target = [UInt8]()
        target.reserveCapacity(userKey.count + 8)
        target.append(contentsOf: userKey)
        target.appendFixed64(sequence << 8 | UInt64(ValueType.value.rawValue))
        return lock.read {
            arena.withUnsafeBytes { a -> Lookup in
                let node = target.withUnsafeBytes { findGreaterOrEqual($0, a) }
                guard node >= 0 else { return .notFound }
                let key = keyBytes(a, node)
                let user = UnsafeRawBufferPointer(rebasing: key[0..<(key.count - 8)])
                guard Bytes.compare(user, userKey) == 0, let trailer = InternalKey.trailer(key) else { return .notFound }
                let seq = trailer >> 8
                if trailer & 0xff == UInt64(ValueType.deletion.rawValue) { return .deleted(seq) }
                let n = nodes[node]
                let valueStart = n.keyStart + Int(n.keyCount)
                return .value(Array(a[valueStart..<(valueStart + Int(n.valueCount))]), seq)
            }
        }
    }

    func makeIterator() -> InternalIterator { MemTableIterator(table: self) }

    /// Iterator support: the node after `node` at level 0 (-1 at the end).
    fileprivate func successor(_ node: Int) -> Int {
        lock.read { Int(links[Int(nodes[node].linkBase)]) }
    }

    fileprivate func seekNode(_ target: [UInt8]) -> Int {
        lock.read { arena.withUnsafeBytes { a in target.withUnsafeBytes { findGreaterOrEqual($0, a) } } }
    }

    /// Copies the entry of `node` into the iterator's buffers (reusing their storage).
    fileprivate func load(_ node: Int, key: inout [UInt8], value: inout [UInt8]) {
        lock.read {
            let n = nodes[node]
            let keyEnd = n.keyStart + Int(n.keyCount)
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: arena[n.keyStart..<keyEnd])
            value.removeAll(keepingCapacity: true)
            value.append(contentsOf: arena[keyEnd..<(keyEnd + Int(n.valueCount))])
        }
    }
}

/// Walks a memtable in order; holds the memtable alive.
final class MemTableIterator: InternalIterator {
    private let table: MemTable
    private var node = -1
    private(set) var key: [UInt8] = []
    private var valueBuffer: [UInt8] = []

    init(table: MemTable) { self.table = table }

    var isValid: Bool { node >= 0 }
    var value: ArraySlice<UInt8> { valueBuffer[...] }

    private func settle() {
        if node >= 0 { table.load(node, key: &key, value: &valueBuffer) }
    }

    func seekToFirst() throws(StorageError) {
        node = table.successor(MemTable.head)
        settle()
    }

    func seek(_ target: [UInt8]) throws(StorageError) {
        node = table.seekNode(target)
        settle()
    }

    func next() throws(StorageError) {
        guard node >= 0 else { return }
        node = table.successor(node)
        settle()
    }
}
