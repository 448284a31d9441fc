/// Merges several sorted internal iterators into one sorted stream (duplicates kept; the
/// newest version of a key comes first because internal keys order by sequence descending).
/// Children are few (memtables, level-0 files, one per deeper level), so the smallest is
/// found by a linear scan, as LevelDB does.
///
/// Per step only the child that moved is asked for its key; the others' keys are cached
/// (a child's key bytes stay valid until that child moves), so finding the smallest is a
/// few comparisons of raw bytes. Children of the engine's own iterator classes are held by
/// their concrete types so that their per-step calls are direct (and inlined), with no
/// reference counting around them.
final class MergingIterator: InternalIterator {
    private let mems: ContiguousArray<MemTableIterator>
    private let tables: ContiguousArray<TableIterator>
    private let levels: ContiguousArray<LevelIterator>
    private let others: ContiguousArray<InternalIterator>
    /// Cached key per child, in the order mems, tables, levels, others; a nil base marks
    /// an exhausted child (an empty key of a valid child gets a non-nil base, see `cached`).
    private var keys: ContiguousArray<UnsafeRawBufferPointer>
    /// Index of the child holding the smallest key; -1 when exhausted.
    private var current = -1
    private static let none = UnsafeRawBufferPointer(start: nil, count: 0)
    private static let emptyKeyBase = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)

    @inline(__always)
    private static func cached(_ c: some InternalIterator) -> UnsafeRawBufferPointer {
        guard c.isValid else { return none }
        let k = c.keyBytes
        return k.baseAddress == nil ? UnsafeRawBufferPointer(start: emptyKeyBase, count: 0) : k
    }

    init(_ children: [InternalIterator]) {
        var m = ContiguousArray<MemTableIterator>(), t = ContiguousArray<TableIterator>()
        var l = ContiguousArray<LevelIterator>(), o = ContiguousArray<InternalIterator>()
        for c in children {
            if let x = c as? MemTableIterator { m.append(x) } else if let x = c as? TableIterator { t.append(x) } else if let x = c as? LevelIterator { l.append(x) } else { o.append(c) }
        }
        mems = m
        tables = t
        levels = l
        others = o
        keys = ContiguousArray(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: children.count)
    }

    var isValid: Bool { current >= 0 }
    var keyBytes: UnsafeRawBufferPointer { keys[current] }

    var valueBytes: UnsafeRawBufferPointer {
        var i = current
        if i < mems.count { return mems[i].valueBytes }
        i -= mems.count
        if i < tables.count { return tables[i].valueBytes }
        i -= tables.count
        if i < levels.count { return levels[i].valueBytes }
        return others[i - levels.count].valueBytes
    }

    /// Runs `body` on child `index` and caches its key afterwards (also after a throw).
    @inline(__always)
    private func step(_ index: Int, _ body: (InternalIterator) throws(StorageError) -> Void) throws(StorageError) {
        var i = index
        if i < mems.count {
            let c = mems[i]
            defer { keys[index] = Self.cached(c) }
            try body(c)
            return
        }
        i -= mems.count
        if i < tables.count {
            let c = tables[i]
            defer { keys[index] = Self.cached(c) }
            try body(c)
            return
        }
        i -= tables.count
        if i < levels.count {
            let c = levels[i]
            defer { keys[index] = Self.cached(c) }
            try body(c)
            return
        }
        let c = others[i - levels.count]
        defer { keys[index] = Self.cached(c) }
        try body(c)
    }

    func seekToFirst() throws(StorageError) {
        current = -1
        for i in 0..<keys.count { try step(i) { (c) throws(StorageError) in try c.seekToFirst() } }
        findSmallest()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        current = -1
        for i in 0..<keys.count { try step(i) { (c) throws(StorageError) in try c.seek(target) } }
        findSmallest()
    }

    func next() throws(StorageError) {
        let i = current
        guard i >= 0 else { return }
        do throws(StorageError) {
            // The common children by concrete type: direct calls.
            if i < mems.count {
                let c = mems[i]
                try c.next()
                keys[i] = Self.cached(c)
            } else if i < mems.count + tables.count {
                let c = tables[i - mems.count]
                try c.next()
                keys[i] = Self.cached(c)
            } else {
                try step(i) { (c) throws(StorageError) in try c.next() }
            }
        } catch {
            current = -1
            throw error
        }
        findSmallest()
    }

    @inline(__always)
    private func findSmallest() {
        keys.withUnsafeBufferPointer { all in
            var best = -1
            var bestKey = Self.none
            for i in 0..<all.count {
                let k = all[i]
                guard k.baseAddress != nil else { continue }
                if best < 0 || TableKeyOrder.compare(k, bestKey) < 0 {
                    best = i
                    bestKey = k
                }
            }
            current = best
        }
    }
}

/// Walks the files of one sorted, non-overlapping level in order, opening each table only
/// when the walk reaches it.
final class LevelIterator: InternalIterator {
    private let files: [FileMetaData]
    private let tables: TableCache
    private var index = 0
    /// One table iterator, moved from file to file (a `let`: calls on it need no retain).
    private let inner: TableIterator
    private var hasTable = false

    /// `fillCache: false` for compaction reads, which would only evict hot blocks.
    init(files: [FileMetaData], tables: TableCache, fillCache: Bool = true) throws(StorageError) {
        self.files = files
        self.tables = tables
        guard let first = files.first else {
            throw .invalidArgument("level iterator over no files")
        }
        inner = TableIterator(table: try tables.table(first.number), fillCache: fillCache)
        hasTable = true
    }

    var isValid: Bool { hasTable && inner.isValid }
    var keyBytes: UnsafeRawBufferPointer { inner.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { inner.valueBytes }

    private func open(_ i: Int) throws(StorageError) {
        index = i
        hasTable = false
        guard i < files.count else { return }
        let table = try tables.table(files[i].number)
        if table !== inner.table { inner.reset(to: table) }
        hasTable = true
    }

    /// Moves to following files while the current one is exhausted.
    private func skipEmpty() throws(StorageError) {
        while hasTable && !inner.isValid {
            try open(index + 1)
            if hasTable { try inner.seekToFirst() }
        }
    }

    func seekToFirst() throws(StorageError) {
        try open(0)
        if hasTable { try inner.seekToFirst() }
        try skipEmpty()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        try open(Version.findFile(files, target))
        if hasTable { try inner.seek(target) }
        try skipEmpty()
    }

    func next() throws(StorageError) {
        guard hasTable && inner.isValid else { return }
        try inner.next()
        try skipEmpty()
    }
}
