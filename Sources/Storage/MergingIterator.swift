/// Merges several sorted internal iterators into one sorted stream (duplicates kept; the
/// newest version of a key comes first because internal keys order by sequence descending).
/// Children are few (memtables, level-0 files, one per deeper level), so the smallest is
/// found by a linear scan, as LevelDB does.
final class MergingIterator: InternalIterator {
    private let children: [InternalIterator]
    private var current = -1

    init(_ children: [InternalIterator]) { self.children = children }

    var isValid: Bool { current >= 0 }
    var key: [UInt8] { children[current].key }
    var value: ArraySlice<UInt8> { children[current].value }

    func seekToFirst() throws(StorageError) {
        for c in children { try c.seekToFirst() }
        findSmallest()
    }

    func seek(_ target: [UInt8]) throws(StorageError) {
        for c in children { try c.seek(target) }
        findSmallest()
    }

    func next() throws(StorageError) {
        guard current >= 0 else { return }
        try children[current].next()
        findSmallest()
    }

    private func findSmallest() {
        if children.count == 1 {
            current = children[0].isValid ? 0 : -1
            return
        }
        var best = -1
        var bestKey: [UInt8] = []
        for (i, c) in children.enumerated() where c.isValid {
            if best < 0 {
                best = i
                bestKey = c.key
            } else {
                let k = c.key
                if InternalKey.compare(k, bestKey) < 0 {
                    best = i
                    bestKey = k
                }
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
    private var inner: InternalIterator?

    /// `fillCache: false` for compaction reads, which would only evict hot blocks.
    init(files: [FileMetaData], tables: TableCache, fillCache: Bool = true) {
        self.files = files
        self.tables = tables
        self.fillCache = fillCache
    }

    var isValid: Bool { inner?.isValid ?? false }
    var key: [UInt8] { inner?.key ?? [] }
    var value: ArraySlice<UInt8> { inner?.value ?? [] }

    private func open(_ i: Int) throws(StorageError) {
        index = i
        inner = i < files.count ? try tables.table(files[i].number).makeIterator(fillCache: fillCache) : nil
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

    func seek(_ target: [UInt8]) throws(StorageError) {
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
