import Bytes

/// One table file of the store: its number, size and key range (internal keys).
final class FileMetaData: @unchecked Sendable {
    let number: UInt64
    let size: UInt64
    let smallest: [UInt8]
    let largest: [UInt8]

    init(number: UInt64, size: UInt64, smallest: [UInt8], largest: [UInt8]) {
        self.number = number
        self.size = size
        self.smallest = smallest
        self.largest = largest
    }

    var smallestUserKey: ArraySlice<UInt8> { InternalKey.userKey(smallest) }
    var largestUserKey: ArraySlice<UInt8> { InternalKey.userKey(largest) }
}

/// A deleted key range [start, end): every entry in it older than `sequence` reads as absent.
struct RangeTombstone: Equatable, Sendable {
    let sequence: SequenceNumber
    let start: [UInt8]
    let end: [UInt8]

    func covers<K: ContiguousBytes>(_ userKey: K) -> Bool {
        Bytewise.compare(start, userKey) <= 0 && Bytewise.compare(userKey, end) < 0
    }
}

/// A change to the set of live files, one manifest record (FORMAT.md, "Manifest").
struct VersionEdit: Equatable {
    enum Tag: UInt64 {
        case logNumber = 1
        case nextFileNumber = 2
        case lastSequence = 3
        case compactPointer = 4
        case deletedFile = 5
        case newFile = 6
        case addRangeTombstone = 7
        case removeRangeTombstone = 8
    }

    struct NewFile: Equatable {
        var level: Int
        var number: UInt64
        var size: UInt64
        var smallest: [UInt8]
        var largest: [UInt8]
    }

    var logNumber: UInt64?
    var nextFileNumber: UInt64?
    var lastSequence: SequenceNumber?
    var compactPointers: [(level: Int, key: [UInt8])] = []
    var deletedFiles: [(level: Int, number: UInt64)] = []
    var newFiles: [NewFile] = []
    var addedRangeTombstones: [RangeTombstone] = []
    var removedRangeTombstones: [SequenceNumber] = []

    static func == (a: VersionEdit, b: VersionEdit) -> Bool {
        a.logNumber == b.logNumber && a.nextFileNumber == b.nextFileNumber && a.lastSequence == b.lastSequence
            && a.compactPointers.map(\.level) == b.compactPointers.map(\.level)
            && a.compactPointers.map(\.key) == b.compactPointers.map(\.key)
            && a.deletedFiles.map(\.level) == b.deletedFiles.map(\.level)
            && a.deletedFiles.map(\.number) == b.deletedFiles.map(\.number)
            && a.newFiles == b.newFiles && a.addedRangeTombstones == b.addedRangeTombstones
            && a.removedRangeTombstones == b.removedRangeTombstones
    }

    mutating func addFile(level: Int, _ f: FileMetaData) {
        newFiles.append(NewFile(level: level, number: f.number, size: f.size, smallest: f.smallest, largest: f.largest))
    }

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        if let logNumber { out.appendVarint(Tag.logNumber.rawValue); out.appendVarint(logNumber) }
        if let nextFileNumber { out.appendVarint(Tag.nextFileNumber.rawValue); out.appendVarint(nextFileNumber) }
        if let lastSequence { out.appendVarint(Tag.lastSequence.rawValue); out.appendVarint(lastSequence) }
        for p in compactPointers {
            out.appendVarint(Tag.compactPointer.rawValue)
            out.appendVarint(p.level)
            out.appendLengthPrefixed(p.key)
        }
        for d in deletedFiles {
            out.appendVarint(Tag.deletedFile.rawValue)
            out.appendVarint(d.level)
            out.appendVarint(d.number)
        }
        for f in newFiles {
            out.appendVarint(Tag.newFile.rawValue)
            out.appendVarint(f.level)
            out.appendVarint(f.number)
            out.appendVarint(f.size)
            out.appendLengthPrefixed(f.smallest)
            out.appendLengthPrefixed(f.largest)
        }
        for t in addedRangeTombstones {
            out.appendVarint(Tag.addRangeTombstone.rawValue)
            out.appendVarint(t.sequence)
            out.appendLengthPrefixed(t.start)
            out.appendLengthPrefixed(t.end)
        }
        for s in removedRangeTombstones {
            out.appendVarint(Tag.removeRangeTombstone.rawValue)
            out.appendVarint(s)
        }
        return out
    }

    static let maxLevel = 64

    init() {}

    /// Decodes one manifest record; `file`/`offset` name it in a corruption error.
    init(decoding bytes: [UInt8], file: String, offset: Int) throws(StorageError) {
        func bad(_ what: String) -> StorageError { .corruption(file: file, offset: offset, reason: "manifest record: \(what)") }
        self.init()
        var edit = self
        try bytes.withBytes { (buf) throws(StorageError) in
            var at = 0
            while at < buf.count {
                guard let raw = UnsafeByteReader.varint(buf, at: &at), let tag = Tag(rawValue: raw) else { throw bad("unknown tag") }
                switch tag {
                case .logNumber:
                    guard let v = UnsafeByteReader.varint(buf, at: &at) else { throw bad("log number") }
                    edit.logNumber = v
                case .nextFileNumber:
                    guard let v = UnsafeByteReader.varint(buf, at: &at) else { throw bad("next file number") }
                    edit.nextFileNumber = v
                case .lastSequence:
                    guard let v = UnsafeByteReader.varint(buf, at: &at), v <= InternalKey.maxSequence else { throw bad("last sequence") }
                    edit.lastSequence = v
                case .compactPointer:
                    guard let level = UnsafeByteReader.varintInt(buf, at: &at, limit: Self.maxLevel),
                          let key = UnsafeByteReader.lengthPrefixed(buf, at: &at) else { throw bad("compact pointer") }
                    edit.compactPointers.append((level, key))
                case .deletedFile:
                    guard let level = UnsafeByteReader.varintInt(buf, at: &at, limit: Self.maxLevel),
                          let number = UnsafeByteReader.varint(buf, at: &at) else { throw bad("deleted file") }
                    edit.deletedFiles.append((level, number))
                case .newFile:
                    guard let level = UnsafeByteReader.varintInt(buf, at: &at, limit: Self.maxLevel),
                          let number = UnsafeByteReader.varint(buf, at: &at), let size = UnsafeByteReader.varint(buf, at: &at),
                          let smallest = UnsafeByteReader.lengthPrefixed(buf, at: &at), let largest = UnsafeByteReader.lengthPrefixed(buf, at: &at),
                          smallest.count >= 8, largest.count >= 8 else { throw bad("new file") }
                    edit.newFiles.append(NewFile(level: level, number: number, size: size, smallest: smallest, largest: largest))
                case .addRangeTombstone:
                    guard let seq = UnsafeByteReader.varint(buf, at: &at), let start = UnsafeByteReader.lengthPrefixed(buf, at: &at),
                          let end = UnsafeByteReader.lengthPrefixed(buf, at: &at) else { throw bad("range tombstone") }
                    edit.addedRangeTombstones.append(RangeTombstone(sequence: seq, start: start, end: end))
                case .removeRangeTombstone:
                    guard let seq = UnsafeByteReader.varint(buf, at: &at) else { throw bad("range tombstone removal") }
                    edit.removedRangeTombstones.append(seq)
                }
            }
        }
        self = edit
    }
}
