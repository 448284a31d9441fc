/// Merges several sorted internal iterators into one sorted stream (duplicates kept; the
/// newest version of a key comes first because internal keys order by sequence descending).
/// Children are few (memtables, level-0 files, one per deeper level), so the smallest is
/// found by a linear scan, as LevelDB does, comparing raw key bytes (no copies).
final class MergingIterator: InternalIterator {
    private let children: ContiguousArray<InternalIterator>
    private var current: InternalIterator?

    init(_ children: [InternalIterator]) { self.children = ContiguousArray(children) }

    var isValid: Bool { current != nil }
    var keyBytes: UnsafeRawBufferPointer { current.unsafelyUnwrapped.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { current.unsafelyUnwrapped.valueBytes }

    func seekToFirst() throws(StorageError) {
        current = nil
        for c in children { try c.seekToFirst() }
        findSmallest()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        current = nil
        for c in children { try c.seek(target) }
        findSmallest()
    }

    func next() throws(StorageError) {
        guard let c = current else { return }
        do throws(StorageError) {
            try c.next()
        } catch {
            current = nil
            throw error
        }
        findSmallest()
    }

    private func findSmallest() {
        var best: InternalIterator?
        var bestKey = UnsafeRawBufferPointer(start: nil, count: 0)
        for c in children where c.isValid {
            let k = c.keyBytes
            if best == nil || TableKeyOrder.compare(k, bestKey) < 0 {
                best = c
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
    private let fillCache: Bool
    private var index = 0
    private var inner: TableIterator?

    /// `fillCache: false` for compaction reads, which would only evict hot blocks.
    init(files: [FileMetaData], tables: TableCache, fillCache: Bool = true) {
        self.files = files
        self.tables = tables
        self.fillCache = fillCache
    }

    var isValid: Bool { inner?.isValid ?? false }
    var keyBytes: UnsafeRawBufferPointer { inner.unsafelyUnwrapped.keyBytes }
    var valueBytes: UnsafeRawBufferPointer { inner.unsafelyUnwrapped.valueBytes }

    private func open(_ i: Int) throws(StorageError) {
        index = i
        inner = i < files.count ? TableIterator(table: try tables.table(files[i].number), fillCache: fillCache) : nil
    }

    /// Moves to following files while the current one is exhausted.
    private func skipEmpty() throws(StorageError) {
        while let it = inner, !it.isValid {
            try open(index + 1)
            try inner?.seekToFirst()
        }
    }

    func seekToFirst() throws(StorageError) {
        try open(0)
        try inner?.seekToFirst()
        try skipEmpty()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError) {
        try open(Version.findFile(files, target))
        try inner?.seek(target)
        try skipEmpty()
    }

    func next() throws(StorageError) {
        guard let it = inner, it.isValid else { return }
        try it.next()
        try skipEmpty()
    }
}
