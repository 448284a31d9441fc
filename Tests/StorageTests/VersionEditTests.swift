import Bytes
import XCTest
@testable import Storage

final class VersionEditTests: XCTestCase {
    func testEditRoundTripsEveryField() throws {
        var edit = VersionEdit()
        edit.logNumber = 7
        edit.nextFileNumber = 99
        edit.lastSequence = 123_456_789
        edit.compactPointers = [(1, InternalKey.make(userKey: Array("m".utf8), sequence: 5, type: .value))]
        edit.deletedFiles = [(0, 12), (3, 40)]
        edit.newFiles = [.init(level: 2, number: 41, size: 4096,
                               smallest: InternalKey.make(userKey: Array("a".utf8), sequence: 9, type: .value),
                               largest: InternalKey.make(userKey: Array("z".utf8), sequence: 1, type: .deletion))]
        edit.addedRangeTombstones = [RangeTombstone(sequence: 77, start: Array("p1".utf8), end: Array("p2".utf8))]
        edit.removedRangeTombstones = [70]
        let decoded = try VersionEdit(decoding: edit.encode(), file: "m", offset: 0)
        XCTAssertEqual(decoded, edit)
    }

    func testUnknownTagAndTruncationAreCorruption() {
        var edit = VersionEdit()
        edit.newFiles = [.init(level: 1, number: 2, size: 3, smallest: [UInt8](repeating: 1, count: 9), largest: [UInt8](repeating: 2, count: 9))]
        let bytes = edit.encode()
        for cut in 1..<bytes.count {
            XCTAssertThrowsError(try VersionEdit(decoding: Array(bytes.prefix(cut)), file: "MANIFEST-000002", offset: 10)) { error in
                guard case let .corruption(file, offset, _)? = error as? StorageError else { return XCTFail("\(error)") }
                XCTAssertEqual(file, "MANIFEST-000002")
                XCTAssertEqual(offset, 10)
            }
        }
        XCTAssertThrowsError(try VersionEdit(decoding: [42, 1], file: "m", offset: 0))
    }

    func testWriteBatchIteratesRecordsWithSequences() throws {
        var batch = WriteBatch()
        batch.put(Array("a".utf8), Array("1".utf8))
        batch.delete(Array("b".utf8))
        batch.put(Array("c".utf8), [])
        batch.sequence = 100
        var seen: [String] = []
        try batch.forEach(file: "f", offset: 0) { type, key, value, seq in
            seen.append("\(type) \(String(decoding: key, as: UTF8.self)) \(String(decoding: value, as: UTF8.self)) \(seq)")
        }
        XCTAssertEqual(seen, ["value a 1 100", "deletion b  101", "value c  102"])
        XCTAssertEqual(batch.count, 3)
        // A batch whose count disagrees with its records is corruption.
        var bad = batch.rep
        bad[8] = 5
        XCTAssertThrowsError(try WriteBatch(rep: bad).forEach(file: "f", offset: 3) { _, _, _, _ in })
        XCTAssertThrowsError(try WriteBatch(rep: Array(batch.rep.prefix(14))).forEach(file: "f", offset: 3) { _, _, _, _ in })
    }

    func testClearedBatchHoldsOnlyLaterRecordsAndAGivenSequenceOverridesItsOwn() throws {
        var batch = WriteBatch()
        batch.put(Array("old".utf8), Array("x".utf8))
        batch.sequence = 7
        let shared = batch  // a copy still holding the old records must keep them
        batch.clear()
        XCTAssertTrue(batch.isEmpty)
        batch.delete(Array("new".utf8))
        XCTAssertEqual(batch.count, 1)
        var seen: [String] = []
        try batch.forEach(file: "f", offset: 0, sequence: 40) { type, key, _, seq in
            seen.append("\(type) \(String(decoding: key, as: UTF8.self)) \(seq)")
        }
        XCTAssertEqual(seen, ["deletion new 40"])
        XCTAssertEqual(batch.sequence, 0, "clear zeroes the header")
        XCTAssertEqual(shared.count, 1)
        XCTAssertEqual(shared.sequence, 7)
    }

    func testStoreFileNamesParse() {
        XCTAssertEqual(StoreFiles.parse("000012.sst"), .table(12))
        XCTAssertEqual(StoreFiles.parse("1234567.log"), .log(1_234_567))
        XCTAssertEqual(StoreFiles.parse("MANIFEST-000003"), .manifest(3))
        XCTAssertEqual(StoreFiles.parse("CURRENT"), .current)
        XCTAssertNil(StoreFiles.parse("notes.txt"))
        XCTAssertEqual(StoreFiles.tablePath("/d", 5), "/d/000005.sst")
    }
}

final class VarintOverflowTests: XCTestCase {
    func testTenthVarintByteAboveOneIsRejected() {
        var max: [UInt8] = []
        max.appendVarint(UInt64.max)
        XCTAssertEqual(max.count, 10)
        XCTAssertEqual(max.withUnsafeBytes { buf -> UInt64? in var at = 0; return UnsafeByteReader.varint(buf, at: &at) }, UInt64.max)
        var overflow = max
        overflow[9] = 0x02
        XCTAssertNil(overflow.withUnsafeBytes { buf -> UInt64? in var at = 0; return UnsafeByteReader.varint(buf, at: &at) })
    }
}
