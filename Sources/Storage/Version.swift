/// One immutable state of the store's table set: the files of each level and the range
/// tombstones in force. Readers hold a `Version` for as long as they read; files it names
/// are not deleted while any live version names them.
///
/// Level 0 files may overlap each other and are kept in file-number order (newer = larger).
/// Files of levels 1... are sorted by key and never overlap within their level.
final class Version: @unchecked Sendable {
    static let levelCount = 7

    let files: [[FileMetaData]]
    let rangeTombstones: [RangeTombstone]

    /// Where this version counts its files while it lives (set once, when installed).
    private var registry: LiveFiles?

    init(files: [[FileMetaData]], rangeTombstones: [RangeTombstone]) {
        self.files = files
        self.rangeTombstones = rangeTombstones
    }

    deinit { registry?.remove(files.joined().map(\.number)) }

    /// Counts this version's files in `live` until it is freed. Called once, before the
    /// version is published (the store's lock held).
    func register(in live: LiveFiles) {
        guard registry == nil else { return }
        live.add(files.joined().map(\.number))
        registry = live
    }

    static let empty = Version(files: Array(repeating: [], count: levelCount), rangeTombstones: [])

    /// What the tables say about `userKey` at `sequence` (newest entry not newer).
    /// `lookupKey` is `userKey` with the lookup trailer for `sequence`.
    func get(userKey: UnsafeRawBufferPointer, lookupKey: UnsafeRawBufferPointer, tables: TableCache) throws(StorageError) -> MemTable.Lookup {
        for f in files[0].reversed() {
            let inRange = f.smallestUserKey.withUnsafeBytes { Bytewise.compare($0, userKey) <= 0 }
                && f.largestUserKey.withUnsafeBytes { Bytewise.compare(userKey, $0) <= 0 }
            if inRange, let found = try lookup(f, userKey: userKey, lookupKey: lookupKey, tables: tables) { return found }
        }
        for level in 1..<Version.levelCount {
            let levelFiles = files[level]
            guard !levelFiles.isEmpty else { continue }
            let i = Version.findFile(levelFiles, lookupKey)
            guard i < levelFiles.count, levelFiles[i].smallestUserKey.withUnsafeBytes({ Bytewise.compare($0, userKey) <= 0 }) else { continue }
            if let found = try lookup(levelFiles[i], userKey: userKey, lookupKey: lookupKey, tables: tables) { return found }
        }
        return .notFound
    }

    private func lookup(_ f: FileMetaData, userKey: UnsafeRawBufferPointer, lookupKey: UnsafeRawBufferPointer, tables: TableCache) throws(StorageError) -> MemTable.Lookup? {
        let table = try tables.table(f.number)
        let found = try table.get(lookupKey) { key, value -> MemTable.Lookup? in
            guard let trailer = InternalKey.trailer(key),
                  Bytewise.compare(UnsafeRawBufferPointer(rebasing: key[0..<(key.count - 8)]), userKey) == 0 else { return nil }
            let seq = trailer >> 8
            return trailer & 0xff == UInt64(ValueType.deletion.rawValue) ? .deleted(seq) : .value(Array(value), seq)
        }
        return found ?? nil
    }

    /// Index of the first file whose largest key is >= `internalKey` (files.count if none).
    static func findFile(_ files: [FileMetaData], _ internalKey: UnsafeRawBufferPointer) -> Int {
        var lo = 0, hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].largest.withUnsafeBytes({ TableKeyOrder.compare($0, internalKey) }) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func findFile(_ files: [FileMetaData], _ internalKey: [UInt8]) -> Int {
        internalKey.withUnsafeBytes { findFile(files, $0) }
    }

    /// Files of `level` whose user-key range intersects [smallest, largest] (user keys).
    func overlapping(level: Int, smallest: ArraySlice<UInt8>?, largest: ArraySlice<UInt8>?) -> [FileMetaData] {
        files[level].filter { f in
            (largest == nil || Bytewise.compare(f.smallestUserKey, largest!) <= 0)
                && (smallest == nil || Bytewise.compare(f.largestUserKey, smallest!) >= 0)
        }
    }

    /// Whether a range tombstone newer than `entrySequence` and visible at `snapshot` covers
    /// the key. Range tombstones are few (one per dropped partition until compacted away).
    @inline(__always)
    func isRangeDeleted<K: ContiguousBytes>(_ userKey: K, entrySequence: SequenceNumber, snapshot: SequenceNumber) -> Bool {
        if rangeTombstones.isEmpty { return false }
        for t in rangeTombstones where t.sequence > entrySequence && t.sequence <= snapshot && t.covers(userKey) {
            return true
        }
        return false
    }

    var totalBytes: UInt64 { files.joined().reduce(0) { $0 + $1.size } }

    func levelBytes(_ level: Int) -> UInt64 { files[level].reduce(0) { $0 + $1.size } }

    func allFileNumbers() -> Set<UInt64> { Set(files.joined().map(\.number)) }
}
