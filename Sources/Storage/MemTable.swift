import Synchronization

/// The in-memory write buffer: a skiplist of internal entries ordered by internal key
/// (user key ascending, sequence descending), nodes and bytes packed in a raw-memory arena.
///
/// Thread-safety (LevelDB's skiplist): one writer at a time (the store's write path, which
/// the write queue serialises; recovery is single-threaded), any number of concurrent
/// readers and iterators, with no lock. A node is fully written before it is published by
/// a releasing store of its predecessor's link; readers load links with acquiring loads, so
/// they see either the old link or a complete node. Nodes are never removed or changed and
/// the arena frees nothing until the memtable is gone, so every pointer a reader holds stays
/// valid while it holds the memtable. Invariants: (1) level-0 links visit every node in
/// order; (2) a node of height h is linked at levels 0..<h.
///
/// Node layout in the arena (8-byte aligned): `next[height-1] ... next[0]` (atomic words),
/// then, where the node pointer points, `keyCount u32, valueCount u32, internal key, value`.
/// Links sit just below the header, so a search step touches one short span of memory:
/// the link it follows, then the next node's header and key right beside that node's links.
final class MemTable: @unchecked Sendable {
    static let maxHeight = 12
    static let nodeHeader = 8
    /// Arena blocks: big enough that allocation is rare, small next to the 4 MiB buffer.
    static let arenaBlockSize = 256 << 10

    /// A node: a pointer into the arena.
    typealias Node = UnsafeMutableRawPointer

    private let head: Node
    private let maxHeightInUse = Atomic<Int>(1)
    private let entryCount = Atomic<Int>(0)
    private let memoryUsage = Atomic<Int>(0)
    private let largest = Atomic<UInt64>(0)
    /// Arena: every block allocated (freed in deinit), and the free span of the last one.
    /// Writer-only.
    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private var random: UInt64 = 0x9E37_79B9_7F4A_7C15
    /// Insert scratch: the predecessor at each level (writer-only). After an insert it holds
    /// the predecessors of any key between the node inserted last and that node's successor
    /// (see `add`).
    private let prev: UnsafeMutablePointer<Node>
    /// The node inserted last (writer-only).
    private var lastInserted: Node?
    /// User key -> newest node, for point lookups (MemTableIndex.swift).
    private let index = MemTableIndex()

    /// `capacityBytes` (the flush threshold) is accepted for symmetry with the store's
    /// options; the arena grows in `arenaBlockSize` blocks whatever it is.
    init(capacityBytes: Int = 0) {
        // The head: maxHeight links, then an empty key and value.
        let headBytes = MemTable.nodeHeader + 8 * MemTable.maxHeight
        let h = UnsafeMutableRawPointer.allocate(byteCount: headBytes, alignment: 8) + 8 * MemTable.maxHeight
        h.storeBytes(of: 0, as: UInt64.self)
        for level in 0..<MemTable.maxHeight {
            MemTable.link(h, level).initialize(to: Atomic<UInt>(0))
        }
        head = h
        prev = .allocate(capacity: MemTable.maxHeight)
        prev.initialize(repeating: h, count: MemTable.maxHeight)
        memoryUsage.store(MemTableIndex.initialBytes, ordering: .relaxed)
    }

    deinit {
        for b in blocks { b.deallocate() }
        (head - 8 * MemTable.maxHeight).deallocate()
        prev.deallocate()
    }

    /// Entries added.
    var count: Int { entryCount.load(ordering: .relaxed) }
    /// Largest sequence added, for the WAL/flush bookkeeping.
    var largestSequence: SequenceNumber { largest.load(ordering: .relaxed) }
    /// Approximate bytes held: the arena bytes handed out (nodes, keys, values).
    var approximateMemoryUsage: Int { memoryUsage.load(ordering: .relaxed) }

    // MARK: Node access

    @inline(__always)
    static func keyCount(_ node: Node) -> Int { Int(node.load(as: UInt32.self)) }

    @inline(__always)
    static func valueCount(_ node: Node) -> Int { Int(node.load(fromByteOffset: 4, as: UInt32.self)) }

    /// Link `level` lies `8 * (level + 1)` bytes below the node's header.
    @inline(__always)
    static func link(_ node: Node, _ level: Int) -> UnsafeMutablePointer<Atomic<UInt>> {
        (node - 8 &* (level &+ 1)).assumingMemoryBound(to: Atomic<UInt>.self)
    }

    @inline(__always)
    static func next(_ node: Node, _ level: Int) -> Node? {
        Node(bitPattern: link(node, level).pointee.load(ordering: .acquiring))
    }

    @inline(__always)
    static func key(_ node: Node) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: node + nodeHeader, count: keyCount(node))
    }

    @inline(__always)
    static func value(_ node: Node) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: node + nodeHeader + keyCount(node), count: valueCount(node))
    }

    /// Whether `node`'s internal key orders before `target` (TableKeyOrder's order; written
    /// out here so that the search loops inline it).
    @inline(__always)
    static func keyIsLess(_ node: Node, _ target: UnsafeRawBufferPointer) -> Bool {
        let na = keyCount(node) &- 8, nb = target.count &- 8
        let pa = UnsafeRawPointer(node + nodeHeader)
        guard nb >= 0, na >= 0, let pb = target.baseAddress else {
            return TableKeyOrder.compare(key(node), target) < 0
        }
        let n = min(na, nb)
        var i = 0
        while i &+ 8 <= n {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y }
            i &+= 8
        }
        while i < n {
            let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y }
            i &+= 1
        }
        if na != nb { return na < nb }
        // Same user key: the larger trailer (newer) comes first.
        let x = UInt64(littleEndian: pa.loadUnaligned(fromByteOffset: na, as: UInt64.self))
        let y = UInt64(littleEndian: pb.loadUnaligned(fromByteOffset: nb, as: UInt64.self))
        return x > y
    }

    // MARK: Writing

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

    /// `bytes` of 8-aligned arena memory.
    private func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = (bytes + 7) & ~7
        if size > remaining {
            if size > MemTable.arenaBlockSize / 4 {
                // A large entry gets a block of its own, keeping the current one's free span.
                let b = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
                blocks.append(b)
                return b
            }
            let b = UnsafeMutableRawPointer.allocate(byteCount: MemTable.arenaBlockSize, alignment: 8)
            blocks.append(b)
            cursor = b
            remaining = MemTable.arenaBlockSize
        }
        let p = cursor.unsafelyUnwrapped
        cursor = p + size
        remaining -= size
        return p
    }

    /// Inserts one entry. The caller guarantees (userKey, sequence) is new and that adds
    /// are not concurrent with each other.
    func add(sequence: SequenceNumber, type: ValueType, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        // Batches decode lengths below Int32.max, so these always hold.
        precondition(key.count + 8 <= Int(UInt32.max) && value.count <= Int(UInt32.max), "memtable entry too large")
        let height = randomHeight()
        let keyCount = key.count + 8
        let size = 8 * height + MemTable.nodeHeader + keyCount + value.count
        let node = allocate(size) + 8 * height
        node.storeBytes(of: UInt32(keyCount), as: UInt32.self)
        node.storeBytes(of: UInt32(value.count), toByteOffset: 4, as: UInt32.self)
        let keyStart = node + MemTable.nodeHeader
        if let k = key.baseAddress, key.count > 0 { keyStart.copyMemory(from: k, byteCount: key.count) }
        keyStart.storeBytes(of: (sequence << 8 | UInt64(type.rawValue)).littleEndian, toByteOffset: key.count, as: UInt64.self)
        if let v = value.baseAddress, value.count > 0 { (keyStart + keyCount).copyMemory(from: v, byteCount: value.count) }
        let newKey = UnsafeRawBufferPointer(start: keyStart, count: keyCount)

        // Find the predecessors at each level. Keys added in ascending order (a sequential
        // load) fall right after the node added last: then `prev` already holds them. At a
        // level below that node's height the predecessor is that node (set below); at a
        // higher level it is the node's own predecessor, whose successor there lies beyond
        // the node's successor, so beyond the new key too.
        let current = maxHeightInUse.load(ordering: .relaxed)
        var hinted = false
        if let last = lastInserted, MemTable.keyIsLess(last, newKey) {
            let after = MemTable.next(last, 0)
            hinted = after == nil || !MemTable.keyIsLess(after.unsafelyUnwrapped, newKey)
        }
        if !hinted {
            var x = head
            var level = current - 1
            while level >= 0 {
                if let n = MemTable.next(x, level), MemTable.keyIsLess(n, newKey) {
                    x = n
                } else {
                    prev[level] = x
                    level -= 1
                }
            }
        }
        if height > current {
            for l in current..<height { prev[l] = head }
            // Readers that see the new height before the links find head's nil there: fine.
            maxHeightInUse.store(height, ordering: .relaxed)
        }
        for l in 0..<height {
            let p = prev[l]
            let after = MemTable.link(p, l).pointee.load(ordering: .relaxed)
            MemTable.link(node, l).initialize(to: Atomic<UInt>(after))
            // Publish: the node's bytes and links happen-before any reader following this.
            MemTable.link(p, l).pointee.store(UInt(bitPattern: node), ordering: .releasing)
            prev[l] = node
        }
        lastInserted = node
        let grown = index.add(node)
        entryCount.add(1, ordering: .relaxed)
        memoryUsage.add(size + grown, ordering: .relaxed)
        if sequence > largest.load(ordering: .relaxed) { largest.store(sequence, ordering: .relaxed) }
    }

    // MARK: Reading

    /// First node whose key is >= `target` (internal key order), or nil.
    func findGreaterOrEqual(_ target: UnsafeRawBufferPointer) -> Node? {
        var x = head
        var level = maxHeightInUse.load(ordering: .relaxed) - 1
        while true {
            let n = MemTable.next(x, level)
            if let n, MemTable.keyIsLess(n, target) {
                x = n
            } else if level == 0 {
                return n
            } else {
                level -= 1
            }
        }
    }

    /// The first node (nil if empty).
    func first() -> Node? { MemTable.next(head, 0) }

    /// What the memtable knows of `userKey` at `sequence`: the newest entry not newer.
    enum Lookup {
        case notFound
        case deleted(SequenceNumber)
        case value([UInt8], SequenceNumber)
    }

    func get(userKey: UnsafeRawBufferPointer, sequence: SequenceNumber) -> Lookup {
        // The index names the newest entry of the key; it is the answer unless it is newer
        // than `sequence` (a snapshot read, or a write that raced this read), and then the
        // skiplist below finds the older one.
        if index.isUsable {
            guard let newest = index.newest(userKey) else { return .notFound }
            if let trailer = InternalKey.trailer(MemTable.key(newest)), trailer >> 8 <= sequence {
                if trailer & 0xff == UInt64(ValueType.deletion.rawValue) { return .deleted(trailer >> 8) }
                return .value(Array(MemTable.value(newest)), trailer >> 8)
            }
        }
        let n = userKey.count + 8
        return withUnsafeTemporaryAllocation(byteCount: n, alignment: 8) { target -> Lookup in
            if let k = userKey.baseAddress, userKey.count > 0 { target.baseAddress.unsafelyUnwrapped.copyMemory(from: k, byteCount: userKey.count) }
            target.storeBytes(of: (sequence << 8 | UInt64(ValueType.value.rawValue)).littleEndian, toByteOffset: userKey.count, as: UInt64.self)
            guard let node = findGreaterOrEqual(UnsafeRawBufferPointer(target)) else { return .notFound }
            let key = MemTable.key(node)
            let user = UnsafeRawBufferPointer(rebasing: key[0..<(key.count - 8)])
            guard Bytewise.compare(user, userKey) == 0, let trailer = InternalKey.trailer(key) else { return .notFound }
            let seq = trailer >> 8
            if trailer & 0xff == UInt64(ValueType.deletion.rawValue) { return .deleted(seq) }
            return .value(Array(MemTable.value(node)), seq)
        }
    }

    func makeIterator() -> InternalIterator { MemTableIterator(table: self) }
}

/// Walks a memtable in order; holds the memtable (and so its arena) alive.
final class MemTableIterator: InternalIterator {
    private let table: MemTable
    private var node: MemTable.Node?

    init(table: MemTable) { self.table = table }

    var isValid: Bool { node != nil }
    var keyBytes: UnsafeRawBufferPointer { MemTable.key(node.unsafelyUnwrapped) }
    var valueBytes: UnsafeRawBufferPointer { MemTable.value(node.unsafelyUnwrapped) }

    func seekToFirst() throws(StorageError) { node = table.first() }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) { node = table.findGreaterOrEqual(target) }

    func next() throws(StorageError) {
        guard let n = node else { return }
        node = MemTable.next(n, 0)
    }
}
