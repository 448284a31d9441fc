/// Merges several sorted internal iterators into one sorted stream (duplicates kept; the
/// newest version of a key comes first because internal keys order by sequence descending).
/// Children are few (memtables, level-0 files, one per deeper level), so the smallest is
/// found by a linear scan, as LevelDB does.
///
/// Per step only the child that moved is asked for its key; the others' keys are cached
/// (a child's key bytes stay valid until that child moves), so finding the smallest is a
/// few comparisons of raw bytes. Children of the engine's own iterator classes are called
/// by their concrete types through unretained references (direct calls, no reference
/// counting); the arrays of strong references keep them alive.
final class MergingIterator: InternalIterator {
    private let mems: ContiguousArray<MemTableIterator>
    private let tables: ContiguousArray<TableIterator>
    private let levels: ContiguousArray<LevelIterator>
    private let others: ContiguousArray<InternalIterator>
    private let memRefs: ContiguousArray<Unmanaged<MemTableIterator>>
    private let tableRefs: ContiguousArray<Unmanaged<TableIterator>>
    private let levelRefs: ContiguousArray<Unmanaged<LevelIterator>>
    /// Cached key per child, in the order mems, tables, levels, others; a nil base marks
    /// an exhausted child (an empty key of a valid child points at `emptyKey`).
    private let keys: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private let count: Int
    private let emptyKey: UnsafeMutableRawPointer
    /// Index of the child holding the smallest key; -1 when exhausted.
    private var current = -1

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
        memRefs = ContiguousArray(m.map { Unmanaged.passUnretained($0) })
        tableRefs = ContiguousArray(t.map { Unmanaged.passUnretained($0) })
        levelRefs = ContiguousArray(l.map { Unmanaged.passUnretained($0) })
        count = children.count
        keys = .allocate(capacity: max(1, count))
        keys.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: max(1, count))
        emptyKey = .allocate(byteCount: 8, alignment: 8)
    }

    deinit {
        keys.deallocate()
        emptyKey.deallocate()
    }

    var isValid: Bool { current >= 0 }
    var keyBytes: UnsafeRawBufferPointer { keys[current] }

    var valueBytes: UnsafeRawBufferPointer {
        let i = current, m = memRefs.count, t = tableRefs.count, l = levelRefs.count
        if i < m { return memRefs[i]._withUnsafeGuaranteedRef { $0.valueBytes } }
        if i < m + t { return tableRefs[i - m]._withUnsafeGuaranteedRef { $0.valueBytes } }
        if i < m + t + l { return levelRefs[i - m - t]._withUnsafeGuaranteedRef { $0.valueBytes } }
        return others[i - m - t - l].valueBytes
    }

    /// Caches child `i`'s key after it moved.
    @inline(__always)
    private func cache(_ i: Int, valid: Bool, _ key: () -> UnsafeRawBufferPointer) {
        if !valid {
            keys[i] = UnsafeRawBufferPointer(start: nil, count: 0)
        } else {
            let k = key()
            keys[i] = k.baseAddress == nil ? UnsafeRawBufferPointer(start: emptyKey, count: 0) : k
        }
    }

    private enum Move {
        case first
        case seek(UnsafeRawBufferPointer)
        case next
    }

    /// Moves child `i` and caches its key (also when the move throws).
    @inline(__always)
    private func move(_ i: Int, _ how: Move) throws(StorageError) {
        let m = memRefs.count, t = tableRefs.count, l = levelRefs.count
        var failure: StorageError?
        if i < m {
            memRefs[i]._withUnsafeGuaranteedRef { c in
                do throws(StorageError) {
                    switch how {
                    case .first: try c.seekToFirst()
                    case let .seek(target): try c.seek(target)
                    case .next: try c.next()
                    }
                } catch { failure = error }
                cache(i, valid: c.isValid) { c.keyBytes }
            }
        } else if i < m + t {
            tableRefs[i - m]._withUnsafeGuaranteedRef { c in
                do throws(StorageError) {
                    switch how {
                    case .first: try c.seekToFirst()
                    case let .seek(target): try c.seek(target)
                    case .next: try c.next()
                    }
                } catch { failure = error }
                cache(i, valid: c.isValid) { c.keyBytes }
            }
        } else if i < m + t + l {
            levelRefs[i - m - t]._withUnsafeGuaranteedRef { c in
                do throws(StorageError) {
                    switch how {
                    case .first: try c.seekToFirst()
                    case let .seek(target): try c.seek(target)
                    case .next: try c.next()
                    }
                } catch { failure = error }
                cache(i, valid: c.isValid) { c.keyBytes }
            }
        } else {
            let c = others[i - m - t - l]
            do throws(StorageError) {
                switch how {
                case .first: try c.seekToFirst()
                case let .seek(target): try c.seek(target)
                case .next: try c.next()
                }
            } catch { failure = error }
            cache(i, valid: c.isValid) { c.keyBytes }
        }
        if let failure { throw failure }
    }

    func seekToFirst() throws(StorageError) {
        current = -1
        for i in 0..<count { try move(i, .first) }
        findSmallest()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        current = -1
        for i in 0..<count { try move(i, .seek(target)) }
        findSmallest()
    }

    func next() throws(StorageError) {
        let i = current
        guard i >= 0 else { return }
        do throws(StorageError) {
            try move(i, .next)
        } catch {
            current = -1
            throw error
        }
        findSmallest()
    }

    @inline(__always)
    private func findSmallest() {
        var best = -1
        var bestKey = UnsafeRawBufferPointer(start: nil, count: 0)
        for i in 0..<count {
            let k = keys[i]
            guard k.baseAddress != nil else { continue }
            if best < 0 || TableKeyOrder.compare(k, bestKey) < 0 {
                best = i
                bestKey = k
            }
        }
        current = best
    }
}

/// Walks the files of one sorted, non-overlapping level in order, opening each table only
/// when the walk reaches it.
final class LevelIterator: InternalIterator {
    private let files: [FileMetaData]
    private let tables: TableCache
    private var index = 0
    /// One table iterator, moved from file to file (a `let`: calls on it need no retain);
    /// nil only for a level without files.
    private let inner: TableIterator?
    /// `inner` unretained, for the per-step calls.
    private let innerRef: Unmanaged<TableIterator>?
    /// `inner` is positioned in file `index` (false past the last file).
    private var hasTable = false

    /// `fillCache: false` for compaction reads, which would only evict hot blocks.
    init(files: [FileMetaData], tables: TableCache, fillCache: Bool = true) throws(StorageError) {
        self.files = files
        self.tables = tables
        if let first = files.first {
            let it = TableIterator(table: try tables.table(first.number), fillCache: fillCache)
            inner = it
            innerRef = Unmanaged.passUnretained(it)
        } else {
            inner = nil
            innerRef = nil
        }
    }

    var isValid: Bool { hasTable && innerRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.isValid } }
    var keyBytes: UnsafeRawBufferPointer { innerRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.keyBytes } }
    var valueBytes: UnsafeRawBufferPointer { innerRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.valueBytes } }

    private func open(_ i: Int) throws(StorageError) {
        index = i
        hasTable = false
        guard i < files.count, let inner else { return }
        let table = try tables.table(files[i].number)
        if table !== inner.table { inner.reset(to: table) }
        hasTable = true
    }

    /// Moves to following files while the current one is exhausted.
    private func skipEmpty() throws(StorageError) {
        while hasTable && !inner.unsafelyUnwrapped.isValid {
            try open(index + 1)
            if hasTable { try inner.unsafelyUnwrapped.seekToFirst() }
        }
    }

    func seekToFirst() throws(StorageError) {
        try open(0)
        if hasTable { try inner.unsafelyUnwrapped.seekToFirst() }
        try skipEmpty()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        try open(Version.findFile(files, target))
        if hasTable { try inner.unsafelyUnwrapped.seek(target) }
        try skipEmpty()
    }

    func next() throws(StorageError) {
        guard hasTable, let ref = innerRef else { return }
        var failure: StorageError?
        let exhausted: Bool = ref._withUnsafeGuaranteedRef { it in
            guard it.isValid else { return false }
            do throws(StorageError) { try it.next() } catch { failure = error }
            return !it.isValid
        }
        if let failure { throw failure }
        if exhausted { try skipEmpty() }
    }
}
