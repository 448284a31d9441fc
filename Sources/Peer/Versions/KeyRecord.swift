// The stored form of one key's state, the value under a data key in Storage
// (RECORDS.md, "Key records"):
//
//   record  := version=0x01 crc:u32LE kind:u8 body          -- crc: masked CRC-32C of kind+body
//   body    := siblingsBody (kind 's') | lwwBody (kind 'l')
//   siblingsBody := vector count:varint sibling{count}
//   vector  := n:varint (idLen:u8 id counter:varint){n}     -- sorted by id, as in contexts
//   sibling := actorIndex:varint counter:varint sibPayload   -- actor = vector entry #index
//   lwwBody := physicalMs:varint logical:varint idLen:u8 id payload
//   payload := 0x00 len:varint bytes | 0x01                  -- value | tombstone
//   sibPayload := payload | 0x02 writeID:u64LE len:varint bytes | 0x03 writeID:u64LE
//              | 0x04 expiresAtMs:varint len:varint bytes | 0x05 writeID:u64LE expiresAtMs:varint len:varint bytes
//   lwwPayload := payload | 0x04 expiresAtMs:varint len:varint bytes
//   (then the optional counter section, KeyRecord+Counter.swift, and in siblings records the
//   optional superseded section, KeyRecord+Superseded.swift)
//
// Decoding never traps: every read is bounds-checked, every length is checked against
// what remains before anything is allocated, and the decoded state must pass
// `KeyState.validate()`. Encoding is canonical (one state, one byte string), which the
// digest relies on.

import Bytes
import Storage

/// Why stored bytes did not decode as a key record (or a counter lease).
public enum KeyRecordError: Error, Equatable, Sendable {
    case empty
    case unknownVersion(UInt8)
    case truncated(offset: Int)
    case checksumMismatch
    case unknownKind(UInt8)
    case badVector(ContextError)
    case badActorIndex(offset: Int)
    case badNodeID(offset: Int)
    case badPayloadTag(offset: Int)
    case trailingBytes(offset: Int)
    case valueOutOfRange(offset: Int)
    case invalidState(KeyStateError)
    /// The counter section breaks an invariant (KeyCounter.swift).
    case invalidCounter(CounterError)
    /// Merging a `siblings` record with an `lww` one: the namespace's mode is fixed.
    case kindMismatch
    /// The superseded section (at `offset`) breaks an invariant (SupersededWrites.swift).
    case invalidSuperseded(SupersededError, offset: Int)
}

/// One key's stored state: a dotted version vector set or a last-writer-wins value.
public enum KeyRecord: Hashable, Sendable {
    case siblings(KeyState)
    case lww(LWWKeyState)

    /// Header: version byte and checksum.
    static let headerBytes = 5

    public var isAbsent: Bool {
        switch self {
        case .siblings(let s): return s.isAbsent
        case .lww(let l): return l.isAbsent
        }
    }

    /// The merge of two replicas' records of one key; throws if their kinds differ.
    public func merged(with other: KeyRecord) throws(KeyRecordError) -> KeyRecord {
        switch (self, other) {
        case (.siblings(let a), .siblings(let b)): return .siblings(a.merged(with: b))
        case (.lww(let a), .lww(let b)): return .lww(a.merged(with: b))
        default: throw .kindMismatch
        }
    }

    /// The merge of an incoming record into this (stored) one, or nil when the incoming one
    /// adds nothing — the replication, read-repair and handoff paths then skip the write.
    public func absorbing(_ incoming: KeyRecord) throws(KeyRecordError) -> KeyRecord? {
        let m = try merged(with: incoming)
        return m == self ? nil : m
    }

    /// The record's bytes: header, then kind and body.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: estimatedBytes)
        w.u8(VersionFormat.recordVersion1)
        w.u32LE(0)  // checksum, filled in below
        encodeBody(into: &w)
        let crc = CRC32C.mask(w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[KeyRecord.headerBytes...])) })
        for i in 0..<4 { w.bytes[1 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
        return w.bytes
    }

    /// An upper bound on the encoded size for plausible states, so encoding allocates once.
    var estimatedBytes: Int {
        switch self {
        case .siblings(let s):
            var n = KeyRecord.headerBytes + 12
            for e in s.context.entries { n += e.actor.utf8.count + 11 }
            for sib in s.siblings { n += 40 + (sib.value.bytes?.count ?? 0) }
            if !s.superseded.isEmpty { n += 2 + 18 * s.superseded.entries.count }
            return n
        case .lww(let l):
            return KeyRecord.headerBytes + 42 + l.timestamp.node.utf8.count + (l.value.bytes?.count ?? 0)
        }
    }

    /// Kind byte and body: the canonical bytes the checksum and the digest cover.
    func encodeBody(into w: inout ByteWriter) {
        switch self {
        case .siblings(let s):
            w.u8(VersionFormat.recordKindSiblings)
            s.context.appendEntries(to: &w)
            w.varint(s.siblings.count)
            var index = 0
            for sib in s.siblings {
                // Siblings and vector entries are both sorted by actor, so the index only
                // moves forward; every sibling's actor is in the vector (invariant 3).
                while s.context.entries[index].actor != sib.dot.actor { index += 1 }
                w.varint(index)
                w.varint(sib.dot.counter)
                KeyRecord.appendSiblingPayload(sib.value, writeID: sib.writeID, expiresAtMs: sib.expiresAtMs, to: &w)
            }
            KeyRecord.appendCounterSection(s, to: &w)
            KeyRecord.appendSupersededSection(s, to: &w)
        case .lww(let l):
            w.u8(VersionFormat.recordKindLWW)
            w.varint(l.timestamp.physicalMs)
            w.varint(UInt64(l.timestamp.logical))
            w.nodeID(l.timestamp.node)
            if l.expiresAtMs != 0, case .value(let bytes) = l.value {
                w.u8(VersionFormat.valueTagValueWithExpiry)
                w.varint(l.expiresAtMs)
                w.lengthPrefixed(bytes)
            } else {
                KeyRecord.appendPayload(l.value, to: &w)
            }
            KeyRecord.appendCounterSection(l, to: &w)
        }
    }

    /// A sibling's payload: as `appendPayload` when it has no write id (so records written
    /// before ids existed and records without them are byte-identical), else tagged 2 or 3.
    static func appendSiblingPayload(_ v: SiblingValue, writeID: UInt64, expiresAtMs: UInt64 = 0, to w: inout ByteWriter) {
        if expiresAtMs != 0, case .value(let bytes) = v {
            // Tags 4 and 5: only values expire, and only they take these bytes, so records
            // without an expiry are byte-identical to the ones written before expiry existed.
            if writeID == 0 {
                w.u8(VersionFormat.valueTagValueWithExpiry)
            } else {
                w.u8(VersionFormat.valueTagValueWithExpiryAndWriteID)
                w.u64LE(writeID)
            }
            w.varint(expiresAtMs)
            w.lengthPrefixed(bytes)
            return
        }
        guard writeID != 0 else { return appendPayload(v, to: &w) }
        switch v {
        case .value(let bytes):
            w.u8(VersionFormat.valueTagValueWithWriteID)
            w.u64LE(writeID)
            w.lengthPrefixed(bytes)
        case .tombstone:
            w.u8(VersionFormat.valueTagTombstoneWithWriteID)
            w.u64LE(writeID)
        }
    }

    static func appendPayload(_ v: SiblingValue, to w: inout ByteWriter) {
        switch v {
        case .value(let bytes):
            w.u8(VersionFormat.valueTagValue)
            w.lengthPrefixed(bytes)
        case .tombstone:
            w.u8(VersionFormat.valueTagTombstone)
        }
    }

    public init(decoding bytes: [UInt8]) throws(KeyRecordError) {
        try self.init(decoding: bytes[...])
    }

    /// Decodes a record; throws a typed error on any damage, never traps.
    public init(decoding bytes: ArraySlice<UInt8>) throws(KeyRecordError) {
        guard let version = bytes.first else { throw .empty }
        guard version == VersionFormat.recordVersion1 else { throw .unknownVersion(version) }
        var r = ByteReader(bytes)
        _ = r.u8()
        guard let stored = r.u32LE() else { throw .truncated(offset: 1) }
        let body = bytes[r.position...]
        guard !body.isEmpty else { throw .truncated(offset: KeyRecord.headerBytes) }
        guard CRC32C.unmask(stored) == CRC32C.checksum(body) else { throw .checksumMismatch }
        self = try KeyRecord.decodeBody(&r)
        guard r.isAtEnd else { throw .trailingBytes(offset: r.offset) }
    }

    static func decodeBody(_ r: inout ByteReader) throws(KeyRecordError) -> KeyRecord {
        guard let kind = r.u8() else { throw .truncated(offset: r.offset) }
        switch kind {
        case VersionFormat.recordKindSiblings:
            let context: VersionVector
            do { context = try VersionVector.readEntries(from: &r) } catch { throw .badVector(error) }
            let countAt = r.offset
            // A sibling takes at least 3 bytes: bound the count by what remains.
            guard let count = r.varintInt(limit: r.remaining / 3) else { throw .truncated(offset: countAt) }
            var siblings: [Sibling] = []
            siblings.reserveCapacity(count)
            for _ in 0..<count {
                let at = r.offset
                guard let index = r.varint() else { throw .truncated(offset: at) }
                guard index < UInt64(context.entries.count) else { throw .badActorIndex(offset: at) }
                guard let counter = r.varint() else { throw .truncated(offset: r.offset) }
                let (value, writeID, expiry) = try readSiblingPayload(&r)
                siblings.append(Sibling(dot: Dot(actor: context.entries[Int(index)].actor, counter: counter), value: value,
                                        writeID: writeID, expiresAtMs: expiry))
            }
            let counter = try readCounterSection(&r, siblings: siblings)
            let superseded = try readSupersededSection(&r)
            let state = KeyState(uncheckedContext: context, siblings: siblings, counter: counter, superseded: superseded)
            do { try state.validate() } catch { throw .invalidState(error) }
            return .siblings(state)
        case VersionFormat.recordKindLWW:
            let at = r.offset
            guard let physical = r.varint() else { throw .truncated(offset: at) }
            guard let logical = r.varint() else { throw .truncated(offset: r.offset) }
            guard logical <= UInt64(UInt32.max) else { throw .valueOutOfRange(offset: at) }
            let nodeAt = r.offset
            guard let node = r.nodeID() else {
                throw r.isAtEnd ? .truncated(offset: nodeAt) : .badNodeID(offset: nodeAt)
            }
            let stamp = HLCTimestamp(physicalMs: physical, logical: UInt32(logical), node: node)
            var state: LWWKeyState
            if r.peek() == VersionFormat.valueTagValueWithExpiry {
                let (bytes, expiry) = try readExpiringValue(&r)
                state = LWWKeyState(timestamp: stamp, value: .value(bytes), expiresAtMs: expiry)
            } else {
                state = LWWKeyState(timestamp: stamp, value: try readPayload(&r))
            }
            (state.counter, state.mark) = try readCounterSection(&r)
            return .lww(state)
        default:
            throw .unknownKind(kind)
        }
    }

    /// A sibling's payload and write id (0 when untagged). A tagged payload must carry a
    /// nonzero id: one state, one encoding.
    static func readSiblingPayload(_ r: inout ByteReader) throws(KeyRecordError) -> (SiblingValue, UInt64, UInt64) {
        let at = r.offset
        guard let tag = r.peek() else { throw .truncated(offset: at) }
        if tag == VersionFormat.valueTagValueWithExpiry {
            let (bytes, expiry) = try readExpiringValue(&r)
            return (.value(bytes), 0, expiry)
        }
        guard tag == VersionFormat.valueTagValueWithWriteID || tag == VersionFormat.valueTagTombstoneWithWriteID
            || tag == VersionFormat.valueTagValueWithExpiryAndWriteID else {
            return (try readPayload(&r), 0, 0)
        }
        _ = r.u8()
        guard let id = r.u64LE() else { throw .truncated(offset: r.offset) }
        guard id != 0 else { throw .badPayloadTag(offset: at) }
        if tag == VersionFormat.valueTagTombstoneWithWriteID { return (.tombstone, id, 0) }
        var expiry: UInt64 = 0
        if tag == VersionFormat.valueTagValueWithExpiryAndWriteID {
            guard let e = r.varint() else { throw .truncated(offset: r.offset) }
            guard e != 0 else { throw .badPayloadTag(offset: at) }
            expiry = e
        }
        guard let bytes = r.lengthPrefixed() else { throw .truncated(offset: r.offset) }
        return (.value(bytes), id, expiry)
    }

    /// Tag 4: `expiresAtMs:varint len:varint bytes`; the expiry is never 0 (tag 0 says "no
    /// expiry"), so each state has one encoding.
    static func readExpiringValue(_ r: inout ByteReader) throws(KeyRecordError) -> ([UInt8], UInt64) {
        let at = r.offset
        _ = r.u8()
        guard let expiry = r.varint() else { throw .truncated(offset: r.offset) }
        guard expiry != 0 else { throw .badPayloadTag(offset: at) }
        guard let bytes = r.lengthPrefixed() else { throw .truncated(offset: r.offset) }
        return (bytes, expiry)
    }

    static func readPayload(_ r: inout ByteReader) throws(KeyRecordError) -> SiblingValue {
        let at = r.offset
        guard let tag = r.u8() else { throw .truncated(offset: at) }
        switch tag {
        case VersionFormat.valueTagValue:
            guard let bytes = r.lengthPrefixed() else { throw .truncated(offset: r.offset) }
            return .value(bytes)
        case VersionFormat.valueTagTombstone:
            return .tombstone
        default:
            throw .badPayloadTag(offset: at)
        }
    }
}
