// The `.scanChunk` RPC (PROTOCOL.md, "SCAN"): a coordinator asks a replica for the next
// keys of one namespace in one partition, from a 5-byte position (ScanCursor), and gets the
// keys with their records stripped of values, plus where the next chunk starts.
//
//   request := version:u8=1 nsLen:varint ns partition:u32BE position:5 bytes limit:varint
//   answer  := version:u8=1 count:varint entry{count} (0x00 | 0x01 next:5 bytes)
//   entry   := keyLen:varint key recordLen:varint record      -- record: RECORDS.md, values empty
//
// Positions are 5 big-endian bytes (a key's padded first five bytes). Keys in an answer are
// strictly ascending, each >= the request's start key, and the chunk never ends inside a
// group of keys sharing their padded 5-byte prefix. Decoders check every length against
// what remains, the counts against fixed bounds, the order of the keys and every record's
// checksum and invariants; they throw `PeerMessageError`, never trap.

import Bytes

/// Coordinator -> replica: the next keys of `namespace` in `partition` from `position`.
public struct ScanChunkRequest: Equatable, Sendable {
    public var namespace: [UInt8]
    public var partition: UInt32
    /// Padded 5-byte prefix to resume at (0 ..< 2^40).
    public var position: UInt64
    /// Entries wanted; the replica may return more to finish a group (clamped to `ScanFormat.maxChunkEntries`).
    public var limit: Int

    public init(namespace: [UInt8], partition: UInt32, position: UInt64, limit: Int) {
        self.namespace = namespace
        self.partition = partition
        self.position = position
        self.limit = limit
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + namespace.count)
        w.u8(ScanFormat.version1)
        w.lengthPrefixed(namespace)
        w.u32BE(partition)
        ScanChunkRequest.appendPosition(position, to: &w)
        w.varint(limit)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard let v = r.u8(), v == ScanFormat.version1 else { throw PeerMessageError(message: "unknown scan request version") }
        guard let ns = r.lengthPrefixed(), ns.count <= VersionFormat.maxNamespaceBytes, let p = r.u32BE(),
              let pos = ScanChunkRequest.readPosition(&r), let limit = r.varintInt(limit: Int(Int32.max)) else {
            throw PeerMessageError(message: "bad scan request")
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in scan request") }
        namespace = ns
        partition = p
        position = pos
        self.limit = limit
    }

    static func appendPosition(_ position: UInt64, to w: inout ByteWriter) {
        for i in 0..<5 { w.u8(UInt8(truncatingIfNeeded: position >> UInt64(8 * (4 - i)))) }
    }

    static func readPosition(_ r: inout ByteReader) -> UInt64? {
        guard let raw = r.take(5) else { return nil }
        return raw.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}

/// A replica's chunk: keys in order with their value-stripped records, and the position of
/// the next chunk (nil: the partition's namespace range is exhausted).
public struct ScanChunkAnswer: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var key: [UInt8]
        public var record: KeyRecord
        public init(key: [UInt8], record: KeyRecord) {
            self.key = key
            self.record = record
        }
    }

    public var entries: [Entry]
    public var next: UInt64?

    public init(entries: [Entry], next: UInt64?) {
        self.entries = entries
        self.next = next
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(ScanFormat.version1)
        w.varint(entries.count)
        for e in entries {
            w.lengthPrefixed(e.key)
            w.lengthPrefixed(e.record.encode())
        }
        if let next {
            w.u8(ScanFormat.answerMore)
            ScanChunkRequest.appendPosition(next, to: &w)
        } else {
            w.u8(ScanFormat.answerEnd)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard let v = r.u8(), v == ScanFormat.version1 else { throw PeerMessageError(message: "unknown scan answer version") }
        // An entry takes at least 8 bytes (two lengths, a key byte, a 5-byte record header).
        guard let n = r.varintInt(limit: min(ScanFormat.maxAnswerEntries, r.remaining / 8)) else {
            throw PeerMessageError(message: "bad scan answer count")
        }
        var out: [Entry] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let key = r.lengthPrefixed(), !key.isEmpty, key.count <= ScanFormat.maxKeyBytes else {
                throw PeerMessageError(message: "bad scan answer key")
            }
            if let last = out.last, !last.key.lexicographicallyPrecedes(key) {
                throw PeerMessageError(message: "scan answer keys out of order")
            }
            guard let raw = r.lengthPrefixed() else { throw PeerMessageError(message: "bad scan answer record") }
            let record: KeyRecord
            do { record = try KeyRecord(decoding: raw) } catch { throw PeerMessageError(message: "bad scan answer record: \(error)") }
            out.append(Entry(key: key, record: record))
        }
        guard let flag = r.u8() else { throw PeerMessageError(message: "truncated scan answer") }
        switch flag {
        case ScanFormat.answerEnd:
            next = nil
        case ScanFormat.answerMore:
            guard let pos = ScanChunkRequest.readPosition(&r) else { throw PeerMessageError(message: "truncated scan answer") }
            next = pos
        default:
            throw PeerMessageError(message: "bad scan answer flag")
        }
        guard r.isAtEnd else { throw PeerMessageError(message: "trailing bytes in scan answer") }
        entries = out
    }
}
