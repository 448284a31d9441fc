// TEMPORARY: stands in for the SSTable layer being written on branch `sstable`; removed at merge.
final class BlockCache: @unchecked Sendable {
    struct Stats { var hits: UInt64 = 0; var misses: UInt64 = 0 }
    init(capacityBytes: Int) {}
    var stats: Stats { Stats() }
}
final class Table: @unchecked Sendable {
    static func open(file: RandomAccessFile, fileNumber: UInt64, cache: BlockCache?, verifyChecksums: Bool = true) throws(StorageError) -> Table {
        throw .invalidArgument("tables not built yet")
    }
    func get(_ lookupKey: [UInt8]) throws(StorageError) -> (key: [UInt8], value: [UInt8])? { nil }
    func makeIterator(fillCache: Bool = true) -> InternalIterator { MemTable().makeIterator() }
    func approximateOffset(of internalKey: [UInt8]) -> UInt64 { 0 }
}
struct TableOptions {
    var blockSizeBytes: Int
    var restartInterval: Int
    var bloomBitsPerKey: Int
}
final class TableBuilder {
    init(file: WritableFile, options: TableOptions) {}
    func add<V: Collection>(_ internalKey: [UInt8], _ value: V) throws(StorageError) where V.Element == UInt8 {}
    func finish() throws(StorageError) -> UInt64 { 0 }
    func abandon() {}
    var numEntries: Int { 0 }
    var estimatedFileSize: UInt64 { 0 }
    var smallestKey: [UInt8] { [] }
    var largestKey: [UInt8] { [] }
}
