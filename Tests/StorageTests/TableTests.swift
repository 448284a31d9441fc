import Bytes
import Synchronization
import Dispatch
import XCTest
@testable import Storage

final class TableTests: XCTestCase {
    private let dir = "/db"
    private let path = "/db/000007.sst"

    private func userKey(_ i: Int) -> [UInt8] { Array(String(format: "user%06d", i).utf8) }

    /// `count` user keys (even numbers only, so odd ones are absent), one version each.
    private func entries(count: Int, valueBytes: Int = 20) -> [([UInt8], [UInt8])] {
        (0..<count).map { i in
            let value = (0..<valueBytes).map { UInt8(truncatingIfNeeded: i &+ $0) }
            return (ikey(userKey(2 * i), UInt64(1000 + i)), value)
        }
    }

    @discardableResult
    private func write(_ entries: [([UInt8], [UInt8])], to fs: FileSystem, path: String? = nil,
                       options: TableOptions = TableOptions()) throws -> TableBuilder {
        let file = try fs.createWritable(path ?? self.path)
        let builder = TableBuilder(file: file, options: options)
        for (k, v) in entries { try builder.add(k, v) }
        let size = try builder.finish()
        try file.sync()
        try file.close()
        XCTAssertEqual(size, UInt64(try fs.fileSize(path ?? self.path)))
        return builder
    }

    private func memoryFS() throws -> MemoryFileSystem {
        let fs = MemoryFileSystem()
        try fs.createDirectory(dir)
        return fs
    }

    private func open(_ fs: FileSystem, cache: BlockCache? = nil, verify: Bool = true) throws -> Table {
        try Table.open(file: fs.openReadable(path), fileNumber: 7, cache: cache, verifyChecksums: verify)
    }

    private func scan(_ it: InternalIterator) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        try it.seekToFirst()
        while it.isValid {
            out.append((it.key, Array(it.value)))
            try it.next()
        }
        return out
    }

    private func assertCorruption(_ body: () throws -> Void, offset: Int? = nil, reason: String? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected corruption", file: file, line: line)
        } catch let error as StorageError {
            guard case let .corruption(f, o, r) = error else {
                return XCTFail("expected corruption, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(f, path, "names the file", file: file, line: line)
            if let offset { XCTAssertEqual(o, offset, file: file, line: line) }
            if let reason { XCTAssertTrue(r.contains(reason), "reason: \(r)", file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    // MARK: - Iteration

    func testIteratorAcrossManyBlocksEqualsInputSequence() throws {
        let fs = try memoryFS()
        let input = entries(count: 5000)
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 512))
        let cache = BlockCache()
        let table = try open(fs, cache: cache)
        XCTAssertGreaterThan(table.indexBlock.restartCount, 100, "many data blocks")
        let got = try scan(table.makeIterator())
        XCTAssertEqual(got.count, input.count)
        XCTAssertTrue(zip(got, input).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        XCTAssertEqual(cache.stats.misses, UInt64(table.indexBlock.restartCount), "each block read once")
    }

    func testSeekAcrossBlocksToEachKeyBetweenKeysAndPastEnd() throws {
        let fs = try memoryFS()
        let input = entries(count: 600)
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 256, restartInterval: 4))
        let it = try open(fs).makeIterator()
        for i in 0..<input.count {
            try it.seek(input[i].0)
            XCTAssertEqual(it.key, input[i].0)
            XCTAssertEqual(Array(it.value), input[i].1)
            try it.seek(ikey(userKey(2 * i + 1), 5))
            if i + 1 < input.count { XCTAssertEqual(it.key, input[i + 1].0, "between \(i) and \(i + 1)") } else { XCTAssertFalse(it.isValid) }
        }
        try it.seek(ikey([], 1))
        XCTAssertEqual(it.key, input[0].0)
        try it.seek(ikey("zzz", 1))
        XCTAssertFalse(it.isValid)
        // Continuing after a seek walks on across block boundaries.
        try it.seek(input[100].0)
        for i in 100..<200 {
            XCTAssertEqual(it.key, input[i].0)
            try it.next()
        }
    }

    func testTableReadsBlocksWithReadWhenTheFileCannotBeMapped() throws {
        let fs = try memoryFS()
        let input = entries(count: 3000)
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 512))
        let file = UnmappedFile(try fs.openReadable(path))
        let table = try Table.open(file: file, fileNumber: 7, cache: BlockCache(capacityBytes: 16 << 10))
        XCTAssertNil(table.mapping)
        XCTAssertNotNil(table_mapped(fs), "the memory file system maps (copies) files")
        let got = try scan(table.makeIterator())
        XCTAssertTrue(got.count == input.count && zip(got, input).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        for i in stride(from: 0, to: input.count, by: 37) {
            XCTAssertEqual(try table.get(ikey(userKey(2 * i), 5000))?.value, input[i].1)
            XCTAssertNil(try table.get(ikey(userKey(2 * i + 1), 5000)))
        }
        fs.corrupt(path, at: 10)
        let corrupted = try Table.open(file: UnmappedFile(try fs.openReadable(path)), fileNumber: 8, cache: nil)
        assertCorruption({ _ = try corrupted.get(ikey(userKey(0), 5000)) }, offset: 0, reason: "checksum")
    }

    private func table_mapped(_ fs: MemoryFileSystem) -> FileMapping? {
        try? open(fs).mapping
    }

    func testEmptyTableHasNoEntries() throws {
        let fs = try memoryFS()
        let builder = try write([], to: fs)
        XCTAssertEqual(builder.numEntries, 0)
        let table = try open(fs)
        XCTAssertNil(try table.get(ikey("a", 1)))
        let it = table.makeIterator()
        try it.seekToFirst()
        XCTAssertFalse(it.isValid)
        try it.seek(ikey("a", 1))
        XCTAssertFalse(it.isValid)
        XCTAssertEqual(table.approximateOffset(of: ikey("a", 1)), table.fileSize)
    }

    func testLargeValuesLargerThanABlock() throws {
        let fs = try memoryFS()
        let input = (0..<20).map { i in (ikey(userKey(i), 1), [UInt8](repeating: UInt8(i), count: 10_000 + i)) }
        try write(input, to: fs)
        let table = try open(fs)
        let got = try scan(table.makeIterator())
        XCTAssertTrue(zip(got, input).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        XCTAssertEqual(try table.get(ikey(userKey(13), 5))?.value, input[13].1)
    }

    // MARK: - Point lookups

    func testGetPresentAbsentAndOlderSequenceKeys() throws {
        let fs = try memoryFS()
        var input: [([UInt8], [UInt8])] = []
        for i in 0..<300 {
            // Three versions of every user key: newest value, a deletion, an old value.
            input.append((ikey(userKey(2 * i), 30), Array("new\(i)".utf8)))
            input.append((ikey(userKey(2 * i), 20, .deletion), []))
            input.append((ikey(userKey(2 * i), 10), Array("old\(i)".utf8)))
        }
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 300))
        let table = try open(fs, cache: BlockCache())
        for i in 0..<300 {
            let present = try table.get(InternalKey.lookup(userKey: userKey(2 * i), sequence: 100))
            XCTAssertEqual(present?.key, ikey(userKey(2 * i), 30))
            XCTAssertEqual(present?.value, Array("new\(i)".utf8))
            XCTAssertEqual(try table.get(InternalKey.lookup(userKey: userKey(2 * i), sequence: 30))?.key, ikey(userKey(2 * i), 30))
            XCTAssertEqual(try table.get(InternalKey.lookup(userKey: userKey(2 * i), sequence: 25))?.key,
                           ikey(userKey(2 * i), 20, .deletion), "older snapshot sees the deletion")
            let old = try table.get(InternalKey.lookup(userKey: userKey(2 * i), sequence: 15))
            XCTAssertEqual(old?.key, ikey(userKey(2 * i), 10))
            XCTAssertEqual(old?.value, Array("old\(i)".utf8))
            XCTAssertNil(try table.get(InternalKey.lookup(userKey: userKey(2 * i), sequence: 9)),
                         "snapshot older than every version: the next entry has another user key")
            XCTAssertNil(try table.get(InternalKey.lookup(userKey: userKey(2 * i + 1), sequence: 100)), "absent key")
        }
        XCTAssertNil(try table.get(ikey("zzz", 1)), "past the last key")
        XCTAssertNil(try table.get(ikey([], 1)), "before the first key")
    }

    func testGetFindsVersionsSplitAcrossBlocks() throws {
        let fs = try memoryFS()
        // 200 versions of one user key with tiny blocks: the versions span many blocks.
        let input = (0..<200).map { i in (ikey("same", UInt64(1000 - i)), Array("v\(i)".utf8)) }
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 64))
        let table = try open(fs)
        XCTAssertGreaterThan(table.indexBlock.restartCount, 10)
        for i in 0..<200 {
            XCTAssertEqual(try table.get(InternalKey.lookup(userKey: Array("same".utf8), sequence: UInt64(1000 - i)))?.value,
                           Array("v\(i)".utf8))
        }
        XCTAssertNil(try table.get(InternalKey.lookup(userKey: Array("same".utf8), sequence: 800)))
    }

    func testGetRejectsKeyWithoutTrailer() throws {
        let fs = try memoryFS()
        try write(entries(count: 3), to: fs)
        XCTAssertThrowsError(try open(fs).get([1, 2, 3])) { error in
            guard case .invalidArgument = error as? StorageError else { return XCTFail("\(error)") }
        }
    }

    func testBloomFilterSkipsBlockReadsForAbsentKeys() throws {
        let fs = try memoryFS()
        try write(entries(count: 2000), to: fs)
        let cache = BlockCache()
        let table = try open(fs, cache: cache)
        XCTAssertNotNil(table.filter)
        for i in 0..<2000 { XCTAssertNil(try table.get(ikey(userKey(2 * i + 1), 5000))) }
        let reads = cache.stats.hits + cache.stats.misses
        XCTAssertLessThan(reads, 80, "only bloom false positives (~1%) reach a data block")
    }

    func testTableWithoutFilterStillAnswersGets() throws {
        let fs = try memoryFS()
        try write(entries(count: 500), to: fs, options: TableOptions(bloomBitsPerKey: 0))
        let table = try open(fs)
        XCTAssertNil(table.filter)
        XCTAssertNotNil(try table.get(ikey(userKey(100), 5000)))
        XCTAssertNil(try table.get(ikey(userKey(101), 5000)))
    }

    func testConcurrentGetsAndScansFromManyThreads() throws {
        let fs = try memoryFS()
        let input = entries(count: 3000)
        try write(input, to: fs, options: TableOptions(blockSizeBytes: 1024))
        let table = try open(fs, cache: BlockCache(capacityBytes: 64 * 1024))
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var bad = 0
            do {
                for j in 0..<2000 {
                    let i = (j * 7 + t * 131) % input.count
                    if try table.get(ikey(userKey(2 * i), 1_000_000))?.value != input[i].1 { bad += 1 }
                }
                if try scan(table.makeIterator()).count != input.count { bad += 1 }
            } catch {
                bad += 1
            }
            failures.withLock { $0 += bad }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }

    func testRepeatedGetIsServedFromCache() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        let cache = BlockCache()
        let table = try open(fs, cache: cache)
        XCTAssertNotNil(try table.get(ikey(userKey(500), 5000)))
        XCTAssertEqual(cache.stats.misses, 1)
        XCTAssertEqual(cache.stats.hits, 0)
        XCTAssertNotNil(try table.get(ikey(userKey(500), 5000)))
        XCTAssertNotNil(try table.get(ikey(userKey(502), 5000)))  // same block
        XCTAssertEqual(cache.stats.misses, 1)
        XCTAssertEqual(cache.stats.hits, 2)
    }

    func testScanWithoutFillCacheLeavesCacheEmpty() throws {
        let fs = try memoryFS()
        let input = entries(count: 2000)
        try write(input, to: fs)
        let cache = BlockCache()
        let table = try open(fs, cache: cache)
        XCTAssertEqual(try scan(table.makeIterator(fillCache: false)).count, input.count)
        XCTAssertEqual(cache.stats.entryCount, 0)
        XCTAssertEqual(try scan(table.makeIterator()).count, input.count)
        XCTAssertEqual(cache.stats.entryCount, table.indexBlock.restartCount)
    }

    // MARK: - Builder bookkeeping

    func testSmallestAndLargestKeysAndCountAreRecorded() throws {
        let fs = try memoryFS()
        let input = entries(count: 100)
        let builder = try write(input, to: fs)
        XCTAssertEqual(builder.smallestKey, input.first?.0)
        XCTAssertEqual(builder.largestKey, input.last?.0)
        XCTAssertEqual(builder.numEntries, 100)
    }

    func testEstimatedFileSizeGrowsAndMatchesFinishedSizeClosely() throws {
        let fs = try memoryFS()
        let builder = TableBuilder(file: try fs.createWritable(path))
        var last: UInt64 = 0
        for (k, v) in entries(count: 1000) {
            try builder.add(k, v)
            XCTAssertGreaterThanOrEqual(builder.estimatedFileSize, last)
            last = builder.estimatedFileSize
        }
        let size = try builder.finish()
        XCTAssertGreaterThan(size, last)
        XCTAssertLessThan(size - last, 8 * 1024, "only metadata is added by finish")
    }

    func testAbandonedBuilderWritesNoFooter() throws {
        let fs = try memoryFS()
        let file = try fs.createWritable(path)
        let builder = TableBuilder(file: file, options: TableOptions(blockSizeBytes: 128))
        for (k, v) in entries(count: 100) { try builder.add(k, v) }
        builder.abandon()
        try file.close()
        assertCorruption({ _ = try open(fs) })
    }

    func testWriteErrorIsRethrownByLaterCalls() throws {
        let fs = try memoryFS()
        let builder = TableBuilder(file: try fs.createWritable(path), options: TableOptions(blockSizeBytes: 64))
        try builder.add(ikey("a", 1), [UInt8](repeating: 1, count: 10))
        fs.crash()  // the open file now rejects writes
        XCTAssertThrowsError(try builder.add(ikey("b", 1), [UInt8](repeating: 2, count: 100))) { error in
            guard case .io = error as? StorageError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try builder.add(ikey("c", 1), [UInt8]()))
        XCTAssertThrowsError(try builder.finish())
    }

    func testApproximateOffsetIsMonotonicAndFileSizePastEnd() throws {
        let fs = try memoryFS()
        let input = entries(count: 2000, valueBytes: 100)
        try write(input, to: fs)
        let table = try open(fs)
        XCTAssertEqual(table.approximateOffset(of: input[0].0), 0)
        var last: UInt64 = 0
        for i in stride(from: 0, to: input.count, by: 50) {
            let o = table.approximateOffset(of: input[i].0)
            XCTAssertGreaterThanOrEqual(o, last)
            last = o
        }
        let middle = table.approximateOffset(of: input[1000].0)
        XCTAssertEqual(Double(middle), Double(table.fileSize) / 2, accuracy: Double(table.fileSize) * 0.1)
        XCTAssertEqual(table.approximateOffset(of: ikey("zzz", 1)), table.fileSize)
    }

    func testShortestSeparatorIsBetweenKeysAndShort() {
        let cases: [(String, String)] = [("abcdef", "abzzzz"), ("abc", "abd"), ("abc", "abcd"), ("a\u{7f}", "b"), ("helloworld", "hellp")]
        for (a, b) in cases {
            let start = ikey(a, 5), limit = ikey(b, 9)
            let sep = TableBuilder.shortestSeparator(start, limit)
            XCTAssertLessThanOrEqual(InternalKey.compare(start, sep), 0, "\(a) <= sep")
            XCTAssertLessThan(InternalKey.compare(sep, limit), 0, "sep < \(b)")
            XCTAssertLessThanOrEqual(sep.count, start.count)
        }
        XCTAssertEqual(InternalKey.userKey(TableBuilder.shortestSeparator(ikey("abcdef", 5), ikey("abzzzz", 9))), Array("abd".utf8)[...])
        // Same user key: nothing shorter fits between versions.
        XCTAssertEqual(TableBuilder.shortestSeparator(ikey("k", 9), ikey("k", 5)), ikey("k", 9))
    }

    func testShortSuccessorIsAtLeastTheKey() {
        for user: [UInt8] in [Array("abc".utf8), [0xff, 0xff, 0x10], [0xff, 0xff], []] {
            let key = ikey(user, 3)
            let succ = TableBuilder.shortSuccessor(key)
            XCTAssertGreaterThanOrEqual(InternalKey.compare(succ, key), 0)
            XCTAssertLessThanOrEqual(succ.count, key.count)
        }
        XCTAssertEqual(InternalKey.userKey(TableBuilder.shortSuccessor(ikey("abc", 3))), [0x62][...])
    }

    // MARK: - Corruption

    func testChecksumMismatchOnDataBlockIsCorruptionNamingFile() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        fs.corrupt(path, at: 10)
        let table = try open(fs)  // footer, index and filter are intact
        assertCorruption({ _ = try table.get(ikey(userKey(0), 5000)) }, offset: 0, reason: "checksum")
        assertCorruption({ _ = try scan(table.makeIterator()) }, offset: 0, reason: "checksum")
        let it = table.makeIterator()
        XCTAssertThrowsError(try it.seekToFirst())
        XCTAssertFalse(it.isValid, "an iterator is invalid after an error")
        // The other blocks still read: a seek past block 0 works.
        try it.seek(ikey(userKey(1998), 5000))
        XCTAssertTrue(it.isValid)
    }

    func testChecksumMismatchInIndexBlockFailsOpen() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        let size = try fs.fileSize(path)
        fs.corrupt(path, at: size - TableFormat.footerSize - TableFormat.blockTrailerSize - 6)
        assertCorruption({ _ = try open(fs) }, reason: "checksum")
    }

    func testUnverifiedReadStillRejectsBadRestartArray() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        let table0 = try open(fs)
        guard let first = try table0.indexEntry(at: 0) else { return XCTFail("no data block") }
        // Overwrite block 0's restart count with a huge value; checksums not verified.
        let countAt = Int(first.handle.offset + first.handle.size) - 4
        fs.corrupt(path, at: countAt + 3, xor: 0x7f)
        let table = try open(fs, verify: false)
        assertCorruption({ _ = try table.get(ikey(userKey(0), 5000)) }, offset: 0, reason: "restart")
    }

    func testNonzeroCompressionTypeIsCorruption() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        guard let first = try open(fs).indexEntry(at: 0) else { return XCTFail("no data block") }
        // Set the type byte to 1 and fix the CRC so only the type is wrong.
        var bytes = try fs.readFile(path)
        let typeAt = Int(first.handle.offset + first.handle.size)
        bytes[typeAt] = 1
        let crc = CRC32C.mask(CRC32C.checksum(bytes[Int(first.handle.offset)...typeAt]))
        bytes.storeU32LE(crc, at: typeAt + 1)
        let file = try fs.createWritable(path)
        try file.append(bytes)
        try file.close()
        assertCorruption({ _ = try open(fs).get(ikey(userKey(0), 5000)) }, offset: 0, reason: "compression")
    }

    func testTruncatedTableIsCorruptionAtFooter() throws {
        let fs = try memoryFS()
        try write(entries(count: 1000), to: fs)
        let size = try fs.fileSize(path)
        fs.truncate(path, to: size - 1)
        assertCorruption({ _ = try open(fs) }, offset: size - 1 - TableFormat.footerSize, reason: "magic")
        fs.truncate(path, to: 30)
        assertCorruption({ _ = try open(fs) }, offset: 0, reason: "too short")
    }

    func testBadMagicIsCorruption() throws {
        let fs = try memoryFS()
        try write(entries(count: 10), to: fs)
        let size = try fs.fileSize(path)
        fs.corrupt(path, at: size - 1)
        assertCorruption({ _ = try open(fs) }, offset: size - TableFormat.footerSize, reason: "magic")
    }

    func testFooterChecksumCatchesBadHandle() throws {
        let fs = try memoryFS()
        try write(entries(count: 10), to: fs)
        let size = try fs.fileSize(path)
        fs.corrupt(path, at: size - TableFormat.footerSize, xor: 0x01)
        assertCorruption({ _ = try open(fs) }, offset: size - TableFormat.footerSize, reason: "footer checksum")
    }

    func testUnknownFormatVersionIsCorruption() throws {
        let fs = try memoryFS()
        try write(entries(count: 10), to: fs)
        var bytes = try fs.readFile(path)
        let footer = bytes.count - TableFormat.footerSize
        bytes.storeU32LE(2, at: footer + TableFormat.footerHandlesSize)
        let crc = CRC32C.mask(CRC32C.checksum(bytes[footer..<(footer + TableFormat.footerHandlesSize + 4)]))
        bytes.storeU32LE(crc, at: footer + TableFormat.footerHandlesSize + 4)
        let file = try fs.createWritable(path)
        try file.append(bytes)
        try file.close()
        assertCorruption({ _ = try open(fs) }, offset: footer, reason: "version 2")
    }

    /// Random byte flips anywhere in a table: open, get and scan throw or succeed, never
    /// trap. Seeded; the seed is printed on failure.
    func testRandomlyCorruptedTablesNeverTrap() throws {
        let seed: UInt64 = 0x7ab1e
        var rng = SeededRandom(seed: seed)
        let fs = try memoryFS()
        try write(entries(count: 300), to: fs, options: TableOptions(blockSizeBytes: 256))
        let good = try fs.readFile(path)
        for round in 0..<300 {
            var bad = good
            bad[Int.random(in: 0..<bad.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            let file = try fs.createWritable(path)
            try file.append(bad)
            try file.close()
            do {
                let table = try open(fs, verify: round % 2 == 0)
                _ = try table.get(ikey(userKey(100), 5000))
                _ = try scan(table.makeIterator())
                _ = table.approximateOffset(of: ikey(userKey(50), 1))
            } catch let error as StorageError {
                XCTAssertTrue(error.isCorruption, "round \(round), seed \(seed): \(error)")
            }
        }
    }

    /// FORMAT.md's worked example, byte for byte: the documented format is the written one.
    func testWorkedExampleInFormatDocIsByteExact() throws {
        let fs = try memoryFS()
        try write([(ikey("ab", 5), Array("x".utf8)), (ikey("ac", 6), Array("yz".utf8))], to: fs)
        let hex = """
            00 0a 01 61 62 01 05 00 00 00 00 00 00 78 01 09 02 63 01 06 00 00 00 00 00 00 79 7a
            00 00 00 00 01 00 00 00 00 c2 e2 e2 35
            42 01 a8 50 00 0a 15 80 07 00 c4 49 13 53
            00 13 02 66 69 6c 74 65 72 2e 63 68 6f 72 75 73 2e 62 6c 6f 6f 6d 29 09
            00 00 00 00 01 00 00 00 00 64 4a 45 0e
            00 09 02 62 01 ff ff ff ff ff ff ff 00 24 00 00 00 00 01 00 00 00 00 43 40 0c 68
            37 20 5c 16 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
            00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 d1 b0 a2 4d 43 48 4f 52 55 53 53 54
            """
        let expected = hex.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
        XCTAssertEqual(expected.count, 175)
        XCTAssertEqual(try fs.readFile(path), expected)
    }

    // MARK: - Real files

    func testRoundTripOnPosixFileSystem() throws {
        let fs = PosixFileSystem()
        let dir = "/tmp/chorus-table-test-\(getpid())"
        try fs.createDirectory(dir)
        defer {
            for name in (try? fs.children(dir)) ?? [] { try? fs.removeFile(dir + "/" + name) }
            rmdir(dir)
        }
        let input = entries(count: 2000)
        let path = dir + "/000001.sst"
        try write(input, to: fs, path: path)
        let table = try Table.open(file: fs.openReadable(path), fileNumber: 1, cache: BlockCache())
        let got = try scan(table.makeIterator())
        XCTAssertTrue(got.count == input.count && zip(got, input).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        XCTAssertEqual(try table.get(ikey(userKey(20), 5000))?.value, input[10].1)
    }
}

/// A file that cannot be mapped: tables read its blocks with `read`.
final class UnmappedFile: RandomAccessFile, @unchecked Sendable {
    let inner: RandomAccessFile
    init(_ inner: RandomAccessFile) { self.inner = inner }
    var path: String { inner.path }
    var size: Int { inner.size }
    func read(offset: Int, count: Int) throws(StorageError) -> [UInt8] { try inner.read(offset: offset, count: count) }
}
