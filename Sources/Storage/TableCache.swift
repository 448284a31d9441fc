import Synchronization

/// Open tables by file number, bounded by `capacity` (least recently used closes first).
/// Thread-safe. A table still used by an iterator stays open until that iterator is gone.
final class TableCache: @unchecked Sendable {
    private struct Entry {
        let table: Table
        var lastUse: UInt64
    }

    private struct State {
        var tables: [UInt64: Entry] = [:]
        var clock: UInt64 = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    private let state = Mutex(State())
    let directory: String
    let fileSystem: FileSystem
    let blockCache: BlockCache
    let capacity: Int
    let verifyChecksums: Bool

    init(directory: String, fileSystem: FileSystem, blockCache: BlockCache, capacity: Int, verifyChecksums: Bool) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.blockCache = blockCache
        self.capacity = capacity
        self.verifyChecksums = verifyChecksums
    }

    func table(_ number: UInt64) throws(StorageError) -> Table {
        let cached: Table? = state.withLock { s in
            s.clock += 1
            // One hash lookup: mark the entry through its index.
            guard let i = s.tables.index(forKey: number) else { return nil }
            s.tables.values[i].lastUse = s.clock
            s.hits += 1
            return s.tables.values[i].table
        }
        if let cached { return cached }
        let file = try fileSystem.openReadable(StoreFiles.tablePath(directory, number))
        let table = try Table.open(file: file, fileNumber: number, cache: blockCache, verifyChecksums: verifyChecksums)
        state.withLock { s in
            s.misses += 1
            s.clock += 1
            s.tables[number] = Entry(table: table, lastUse: s.clock)
            if s.tables.count > capacity {
                // Evict the least recently used eighth at once so eviction stays rare.
                let victims = s.tables.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, capacity / 8))
                for (n, _) in victims { s.tables.removeValue(forKey: n) }
            }
        }
        return table
    }

    func evict(_ number: UInt64) {
        _ = state.withLock { $0.tables.removeValue(forKey: number) }
    }

    var counters: (hits: UInt64, misses: UInt64, open: Int) {
        state.withLock { ($0.hits, $0.misses, $0.tables.count) }
    }
}

/// Names of the files in a store directory (FORMAT.md, "Files").
enum StoreFiles {
    static func tablePath(_ dir: String, _ number: UInt64) -> String { "\(dir)/\(padded(number)).sst" }
    static func logPath(_ dir: String, _ number: UInt64) -> String { "\(dir)/\(padded(number)).log" }
    static func manifestName(_ number: UInt64) -> String { "MANIFEST-\(padded(number))" }
    static func currentPath(_ dir: String) -> String { "\(dir)/CURRENT" }
    static func lockPath(_ dir: String) -> String { "\(dir)/LOCK" }

    static func padded(_ n: UInt64) -> String {
        let s = String(n)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }

    enum Kind: Equatable {
        case table(UInt64)
        case log(UInt64)
        case manifest(UInt64)
        case current
        case lock
        case temp
    }

    static func parse(_ name: String) -> Kind? {
        if name == "CURRENT" { return .current }
        if name == "LOCK" { return .lock }
        if name.hasSuffix(".tmp") { return .temp }
        if name.hasPrefix("MANIFEST-"), let n = UInt64(name.dropFirst("MANIFEST-".count)) { return .manifest(n) }
        if name.hasSuffix(".sst"), let n = UInt64(name.dropLast(4)) { return .table(n) }
        if name.hasSuffix(".log"), let n = UInt64(name.dropLast(4)) { return .log(n) }
        return nil
    }
}
