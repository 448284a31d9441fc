import XCTest
@testable import Storage

/// Flipped bytes in each kind of file: opening or reading reports corruption naming the
/// file, and nothing traps.
final class StoreCorruptionTests: XCTestCase {
    func files(_ fs: MemoryFileSystem, suffix: String) throws -> [String] {
        try fs.children("/db").filter { $0.hasSuffix(suffix) || $0.hasPrefix(suffix) }.sorted().map { "/db/" + $0 }
    }

    func assertCorruption(_ body: () throws -> Void, file: String, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error", line: line)
        } catch let error as StorageError {
            guard case let .corruption(named, _, _) = error else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(named, file, line: line)
        } catch {
            XCTFail("\(error)", line: line)
        }
    }

    func testFlippedByteInMiddleOfWALIsReportedWithFile() throws {
        let fs = MemoryFileSystem()
        var o = smallOptions(fs, sync: .always)
        o.memtableSizeBytes = 1 << 20
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<2_000 { try store.put(Array("key\(i)".utf8), [UInt8](repeating: 5, count: 40)) }
        try store.close()
        guard let log = try files(fs, suffix: ".log").last else { return XCTFail("no log") }
        fs.corrupt(log, at: 1_000)
        assertCorruption({ _ = try Store.open(path: "/db", options: o) }, file: log)
    }

    func testFlippedByteInTableBlockIsReportedOnRead() throws {
        let fs = MemoryFileSystem()
        let o = smallOptions(fs)
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<3_000 { try store.put(Array(String(format: "key%05d", i).utf8), [UInt8](repeating: 5, count: 40)) }
        try store.compactRange()
        try store.close()
        guard let table = try files(fs, suffix: ".sst").first else { return XCTFail("no table") }
        fs.corrupt(table, at: 100)
        let reopened = try Store.open(path: "/db", options: o)
        assertCorruption({ _ = try scanAll(reopened) }, file: table)
        try? reopened.close()
    }

    func testFlippedByteInManifestIsReportedOnOpen() throws {
        let fs = MemoryFileSystem()
        let o = smallOptions(fs)
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<3_000 { try store.put(Array("key\(i)".utf8), [UInt8](repeating: 5, count: 40)) }
        try store.compactRange()
        try store.close()
        guard let manifest = try files(fs, suffix: "MANIFEST-").last else { return XCTFail("no manifest") }
        fs.corrupt(manifest, at: 20)
        assertCorruption({ _ = try Store.open(path: "/db", options: o) }, file: manifest)
    }

    func testMissingTableIsReportedNotIgnored() throws {
        let fs = MemoryFileSystem()
        let o = smallOptions(fs)
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<3_000 { try store.put(Array("key\(i)".utf8), [UInt8](repeating: 5, count: 40)) }
        try store.compactRange()
        try store.close()
        guard let table = try files(fs, suffix: ".sst").first else { return XCTFail("no table") }
        try fs.removeFile(table)
        assertCorruption({ _ = try Store.open(path: "/db", options: o) }, file: table)
    }

    func testEveryByteFlipOfASmallStoreNeverTraps() throws {
        // Build a small store once, then flip each byte position (sampled) of each file and
        // open + scan: any outcome but a trap is acceptable; errors must be StorageError.
        let base = MemoryFileSystem()
        let o = smallOptions(base)
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<300 { try store.put(Array("key\(i)".utf8), Array("value\(i)".utf8)) }
        try store.compactRange()
        for i in 0..<50 { try store.put(Array("late\(i)".utf8), Array("v".utf8)) }
        try store.close()
        let names = try base.children("/db")
        var trials = 0
        for name in names where name != "LOCK" {
            let size = try base.fileSize("/db/" + name)
            for offset in stride(from: 0, to: size, by: max(1, size / 40)) {
                let fs = MemoryFileSystem()
                try fs.createDirectory("/db")
                for n in names {
                    let f = try fs.createWritable("/db/" + n)
                    try f.append(try base.readFile("/db/" + n))
                    try f.sync()
                }
                try fs.syncDirectory("/db")
                fs.corrupt("/db/" + name, at: offset)
                var opts = o
                opts.fileSystem = fs
                do {
                    let s = try Store.open(path: "/db", options: opts)
                    _ = try? scanAll(s)
                    _ = try? s.get(Array("key7".utf8))
                    try? s.close()
                } catch is StorageError {
                } catch {
                    XCTFail("non-storage error \(error)")
                }
                trials += 1
            }
        }
        XCTAssertGreaterThan(trials, 100)
    }
}
