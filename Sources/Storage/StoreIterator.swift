/// Walks the live user keys of a range in ascending order, as of one sequence number:
/// the newest visible version of each key, skipping deleted ones. Single-threaded.
///
/// Usage: `while it.isValid { use(it.key, it.value); try it.next() }`. The iterator starts
/// positioned at the first key of its range.
public final class StoreIterator {
    private let input: MergingIterator
    private let sequence: SequenceNumber
    private let range: KeyRange
    private let version: Version
    /// Keeps what the iterator reads from being compacted away (nil for a read-only
    /// checkpoint, which nothing compacts).
    private let snapshot: Snapshot?
    public private(set) var isValid = false
    /// The current user key.
    public private(set) var key: [UInt8] = []
    /// The current value. Each step copies it into a buffer the iterator reuses.
    public private(set) var value: ArraySlice<UInt8> = []
    /// The previous key's buffer, reused so that stepping allocates nothing.
    private var previous: [UInt8] = []
    /// `range.end`, unwrapped once.
    private let hasEnd: Bool
    private let end: [UInt8]
    /// Whether some range tombstone applies (most stores have none).
    private let checkRangeDeletes: Bool

    init(input: MergingIterator, sequence: SequenceNumber, range: KeyRange, version: Version, snapshot: Snapshot?) throws(StorageError) {
        self.input = input
        self.sequence = sequence
        self.range = range
        self.version = version
        self.snapshot = snapshot
        checkRangeDeletes = !version.rangeTombstones.isEmpty
        hasEnd = range.end != nil
        end = range.end ?? []
        try seek(range.start ?? [])
    }

    /// Positions at the first live key >= `userKey` (and inside the range).
    public func seek(_ userKey: [UInt8]) throws(StorageError) {
        var target = userKey
        if let start = range.start, Bytewise.compare(target, start) < 0 { target = start }
        if target.isEmpty {
            try input.seekToFirst()
        } else {
            try input.seek(InternalKey.lookup(userKey: target, sequence: sequence))
        }
        try findNextUserEntry(skipping: false)
    }

    public func next() throws(StorageError) {
        guard isValid else { return }
        swap(&key, &previous)
        try input.next()
        try findNextUserEntry(skipping: true)
    }

    /// Moves to the newest visible live entry of the next user key; with `skipping`, entries
    /// of the user key in `previous` are passed over first.
    private func findNextUserEntry(skipping: Bool) throws(StorageError) {
        var skip = skipping
        while input.isValid {
            let ikey = input.keyBytes
            guard ikey.count >= 8 else {
                throw .corruption(file: "iterator", offset: 0, reason: "internal key shorter than its trailer")
            }
            let trailer = UInt64(littleEndian: ikey.loadUnaligned(fromByteOffset: ikey.count - 8, as: UInt64.self))
            let entrySequence = trailer >> 8
            let user = UnsafeRawBufferPointer(rebasing: ikey[0..<(ikey.count - 8)])
            if entrySequence > sequence {
                try input.next()
                continue
            }
            if skip, previous.withUnsafeBytes({ TableKeyOrder.compareRaw(user, $0) }) == 0 {
                try input.next()
                continue
            }
            if hasEnd, end.withUnsafeBytes({ TableKeyOrder.compareRaw(user, $0) }) >= 0 { break }
            let isDeletion = trailer & 0xff == UInt64(ValueType.deletion.rawValue)
            if isDeletion || (checkRangeDeletes && version.isRangeDeleted(user, entrySequence: entrySequence, snapshot: sequence)) {
                previous.assign(user)
                skip = true
                try input.next()
                continue
            }
            key.assign(user)
            let v = input.valueBytes
            if value.count == v.count {
                // Same size as the last value (the common case): overwrite in place. A copy
                // the caller still holds is left alone by copy-on-write.
                if let src = v.baseAddress { value.withUnsafeMutableBytes { $0.baseAddress.unsafelyUnwrapped.copyMemory(from: src, byteCount: v.count) } }
            } else {
                value.replaceSubrange(value.startIndex..<value.endIndex, with: v)
            }
            isValid = true
            return
        }
        isValid = false
        key = []
        value = []
    }
}
