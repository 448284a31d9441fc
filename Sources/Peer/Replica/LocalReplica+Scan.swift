// The replica side of a SCAN chunk (PROTOCOL.md, "SCAN"). One namespace of one partition
// is one contiguous Storage range ('d' partition nsLen ns ...), so a chunk is one seek and
// a short forward walk. The chunk stops only between groups of keys sharing their padded
// 5-byte prefix (ScanCursor.prefix5): once `limit` entries (or `softChunkBytes`) are in,
// the rest of the current group is still added, and the next position is the prefix of the
// first key after it. Resuming from that position therefore loses nothing.

import Storage

/// Why this replica could not produce a chunk.
public enum ScanChunkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// One group of keys sharing their first five bytes is larger than `ScanFormat.hardChunkBytes`.
    case groupTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .groupTooLarge(let bytes):
            return "scan chunk over \(bytes) bytes: too many keys share their first five bytes in one partition"
        }
    }
}

extension LocalReplica {
    /// The next keys of `namespace` in `partition` from `position`, records stripped of
    /// their values. Tombstones are included: only the merge of the replicas' records says
    /// whether a key is absent.
    public func scanChunk(namespace: [UInt8], partition: UInt32, position: UInt64, limit: Int,
                          softBytes: Int = ScanFormat.softChunkBytes,
                          hardBytes: Int = ScanFormat.hardChunkBytes) throws -> ScanChunkAnswer {
        let range = StorageKey.namespaceRange(partition: partition, namespace: namespace)
        let prefixBytes = 6 + namespace.count
        let wanted = max(1, min(limit, ScanFormat.maxChunkEntries))
        let it = try store.makeIterator(range: range)
        if position > 0 {
            try it.seek(StorageKey.dataKey(partition: partition, namespace: namespace, key: ScanCursor.startKey(position)))
        }
        var entries: [ScanChunkAnswer.Entry] = []
        var bytes = 0
        var group: UInt64?
        while it.isValid {
            let key = Array(it.key[prefixBytes...])
            let prefix = ScanCursor.prefix5(key)
            if prefix != group, entries.count >= wanted || bytes >= softBytes {
                return ScanChunkAnswer(entries: entries, next: prefix)
            }
            group = prefix
            if !key.isEmpty, let decoded = decodeOrSkip(Array(it.value), KeyAddress(namespace: namespace, partition: partition, key: key), during: "scan") {
                let record = decoded.strippedOfValues()
                bytes += key.count + record.estimatedBytes
                if bytes > hardBytes { throw ScanChunkError.groupTooLarge(bytes: bytes) }
                entries.append(ScanChunkAnswer.Entry(key: key, record: record))
            }
            try it.next()
        }
        return ScanChunkAnswer(entries: entries, next: nil)
    }
}
