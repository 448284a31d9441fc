import XCTest
@testable import Storage

final class LogTests: XCTestCase {
    let dir = "/db"

    func makeFS() throws -> MemoryFileSystem {
        let fs = MemoryFileSystem()
        try fs.createDirectory(dir)
        return fs
    }

    func write(_ records: [[UInt8]], fs: MemoryFileSystem, path: String) throws {
        let file = try fs.createWritable(path)
        let writer = LogWriter(file: file)
        for r in records { try writer.addRecord(r) }
        try file.sync()
        try fs.syncDirectory(dir)
    }

    func readAll(_ fs: MemoryFileSystem, _ path: String, strict: Bool = false) throws -> (records: [[UInt8]], dropped: Int) {
        var reader = LogReader(path: path, data: try fs.readFile(path), strictChecksums: strict)
        var out: [[UInt8]] = []
        while let (r, _) = try reader.next() { out.append(r) }
        return (out, reader.droppedTailBytes)
    }

    func record(_ n: Int, seed: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    func testRecordsRoundTripAcrossBlockBoundaries() throws {
        let fs = try makeFS()
        // Sizes chosen to land exactly on, just before and across the 32 KiB boundary,
        // plus a record spanning several blocks and an empty one.
        let sizes = [0, 1, LogFormat.blockSize - 2 * LogFormat.headerSize - 1, 5, LogFormat.blockSize - LogFormat.headerSize,
                     3 * LogFormat.blockSize + 17, 100, LogFormat.blockSize - 6, 1]
        let records = sizes.enumerated().map { record($0.element, seed: $0.offset) }
        try write(records, fs: fs, path: "/db/1.log")
        let (read, dropped) = try readAll(fs, "/db/1.log")
        XCTAssertEqual(read, records)
        XCTAssertEqual(dropped, 0)
    }

    func testBlockTailShorterThanHeaderIsPadded() throws {
        let fs = try makeFS()
        // The first record leaves 6 bytes in the block: too few for a header.
        let records = [record(LogFormat.blockSize - LogFormat.headerSize - 6, seed: 1), record(10, seed: 2)]
        try write(records, fs: fs, path: "/db/1.log")
        XCTAssertEqual(try fs.fileSize("/db/1.log"), LogFormat.blockSize + LogFormat.headerSize + 10)
        XCTAssertEqual(try readAll(fs, "/db/1.log").records, records)
    }

    func testTornTrailingRecordIsIgnored() throws {
        let fs = try makeFS()
        let records = [record(100, seed: 1), record(200, seed: 2), record(50_000, seed: 3)]
        try write(records, fs: fs, path: "/db/1.log")
        let size = try fs.fileSize("/db/1.log")
        // Cut the last (multi-block) record at several points: always the first two survive.
        for cut in [size - 1, size - 30_000, 100 + 7 + 200 + 7 + 3] {
            let copy = try makeFS()
            try write(records, fs: copy, path: "/db/1.log")
            copy.truncate("/db/1.log", to: cut)
            let (read, dropped) = try readAll(copy, "/db/1.log")
            XCTAssertEqual(read, Array(records.prefix(2)), "cut at \(cut)")
            XCTAssertEqual(dropped, cut - (100 + 7 + 200 + 7), "cut at \(cut)")
        }
    }

    func testChecksumMismatchInTailRecordIsTornUnlessStrict() throws {
        let fs = try makeFS()
        let records = [record(100, seed: 1), record(200, seed: 2)]
        try write(records, fs: fs, path: "/db/1.log")
        fs.corrupt("/db/1.log", at: 107 + 7 + 50)
        XCTAssertEqual(try readAll(fs, "/db/1.log").records, [records[0]])
        XCTAssertThrowsError(try readAll(fs, "/db/1.log", strict: true)) { error in
            guard case let .corruption(file, offset, reason)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/db/1.log")
            XCTAssertEqual(offset, 107)
            XCTAssertTrue(reason.contains("checksum"), reason)
        }
    }

    func testCRCMismatchBeforeIntactRecordsIsCorruptionWithOffset() throws {
        let fs = try makeFS()
        // Three blocks' worth of records: damage in the first block, intact ones after it.
        let records = (0..<40).map { record(2_000, seed: $0) }
        try write(records, fs: fs, path: "/db/1.log")
        fs.corrupt("/db/1.log", at: (2_000 + 7) * 3 + 20)
        XCTAssertThrowsError(try readAll(fs, "/db/1.log")) { error in
            guard case let .corruption(file, offset, reason)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/db/1.log")
            XCTAssertEqual(offset, (2_000 + 7) * 3)
            XCTAssertTrue(reason.contains("checksum"), reason)
        }
    }

    func testZeroFilledTailReadsAsEnd() throws {
        let fs = try makeFS()
        let file = try fs.createWritable("/db/1.log")
        let writer = LogWriter(file: file)
        try writer.addRecord(record(10, seed: 1))
        try file.append([UInt8](repeating: 0, count: 100))
        try file.sync()
        XCTAssertEqual(try readAll(fs, "/db/1.log").records, [record(10, seed: 1)])
    }

    func testUnsyncedRecordsVanishInCrash() throws {
        let fs = try makeFS()
        let file = try fs.createWritable("/db/1.log")
        try fs.syncDirectory(dir)
        let writer = LogWriter(file: file)
        try writer.addRecord(record(10, seed: 1))
        try file.sync()
        try writer.addRecord(record(10, seed: 2))
        fs.crash()
        XCTAssertEqual(try readAll(fs, "/db/1.log").records, [record(10, seed: 1)])
        XCTAssertThrowsError(try writer.addRecord(record(1, seed: 3)))
    }
}
