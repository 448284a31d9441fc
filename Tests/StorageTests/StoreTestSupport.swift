import XCTest
@testable import Storage

/// Small helpers shared by the store tests.
extension Array where Element == UInt8 {
    init(_ s: String) { self = Array(s.utf8) }
    var text: String { String(decoding: self, as: UTF8.self) }
}

func smallOptions(_ fs: FileSystem, sync: SyncPolicy = .never) -> StorageOptions {
    var o = StorageOptions()
    o.fileSystem = fs
    o.sync = sync
    o.memtableSizeBytes = 8 << 10
    o.targetFileSizeBytes = 8 << 10
    o.level1SizeBytes = 32 << 10
    o.blockSizeBytes = 512
    o.blockCacheBytes = 64 << 10
    return o
}

func scanAll(_ store: Store, range: KeyRange = .all, snapshot: Snapshot? = nil) throws -> [([UInt8], [UInt8])] {
    let it = try store.makeIterator(range: range, snapshot: snapshot)
    var out: [([UInt8], [UInt8])] = []
    var guardCount = 0
    while it.isValid {
        out.append((it.key, Array(it.value)))
        try it.next()
        guardCount += 1
        if guardCount > 10_000_000 { XCTFail("iterator does not end"); break }
    }
    return out
}
