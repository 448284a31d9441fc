// The namespace table's binary encoding; grammar and worked example in FORMAT.md.

import Bytes

extension NamespaceTable {
    /// The canonical encoding: header, namespaces in name order, checksum.
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.append(RingFormat.namespaceMagic)
        w.u8(RingFormat.formatVersion1)
        w.u8(UInt8(0)) // flags, reserved
        w.u64LE(version)
        w.varint(namespaces.count)
        for ns in namespaces {
            w.string(ns.name)
            w.varint(ns.n)
            NamespaceTable.write(ns.r, into: &w)
            NamespaceTable.write(ns.w, into: &w)
            w.u8(ns.conflict == .lww ? RingFormat.conflictLWW : RingFormat.conflictSiblings)
            w.varint(ns.siblingLimit)
            w.varint(UInt64(ns.tombstoneGraceMs))
        }
        w.u64LE(KeyHash.xxh64(w.bytes, seed: RingFormat.checksumSeed))
        return w.bytes
    }

    private static func write(_ q: Quorum, into w: inout ByteWriter) {
        switch q {
        case .count(let k):
            w.u8(RingFormat.quorumCount)
            w.varint(k)
        case .one: w.u8(RingFormat.quorumOne)
        case .quorum: w.u8(RingFormat.quorumQuorum)
        case .all: w.u8(RingFormat.quorumAll)
        }
    }

    /// Decodes `encode()`'s output. Truncated, corrupted, invalid or unsorted input throws.
    public init(decoding bytes: [UInt8]) throws(RingError) {
        var r = ByteReader(bytes)
        guard let magic = r.take(4) else { throw .truncated(offset: r.offset) }
        guard magic.elementsEqual(RingFormat.namespaceMagic) else { throw .corrupt(offset: 0, reason: "not a namespace table (bad magic)") }
        guard let format = r.u8() else { throw .truncated(offset: r.offset) }
        guard format == RingFormat.formatVersion1 else { throw .unsupportedFormatVersion(format) }
        guard bytes.count >= 8 + r.offset else { throw .truncated(offset: bytes.count) }
        let body = bytes.count - 8
        var tail = ByteReader(bytes[body...])
        guard let stored = tail.u64LE() else { throw .truncated(offset: body) }
        guard stored == KeyHash.xxh64(Array(bytes[0..<body]), seed: RingFormat.checksumSeed) else { throw .checksumMismatch }
        r = ByteReader(bytes[0..<body])
        _ = r.skip(5)

        func need<T>(_ value: T?) throws(RingError) -> T {
            guard let value else { throw .truncated(offset: r.offset) }
            return value
        }
        func quorum() throws(RingError) -> Quorum {
            let at = r.offset
            switch try need(r.u8()) {
            case RingFormat.quorumCount: return .count(try need(r.varintInt(limit: RingFormat.maxReplicas)))
            case RingFormat.quorumOne: return .one
            case RingFormat.quorumQuorum: return .quorum
            case RingFormat.quorumAll: return .all
            case let tag: throw .corrupt(offset: at, reason: "unknown quorum tag \(tag)")
            }
        }
        let flags = try need(r.u8())
        guard flags == 0 else { throw .corrupt(offset: r.offset - 1, reason: "unknown flags \(flags)") }
        let version = try need(r.u64LE())
        let count = try need(r.varintInt(limit: min(RingFormat.maxNamespaces, r.remaining)))
        var list: [Namespace] = []
        for _ in 0..<count {
            let at = r.offset
            let name = try need(r.string(maxBytes: Namespace.maxNameBytes))
            if let last = list.last, !last.name.utf8.lexicographicallyPrecedes(name.utf8) {
                throw .corrupt(offset: at, reason: "namespaces not strictly ascending")
            }
            let n = try need(r.varintInt(limit: RingFormat.maxReplicas))
            let rq = try quorum()
            let wq = try quorum()
            let conflictAt = r.offset
            let conflict: ConflictMode
            switch try need(r.u8()) {
            case RingFormat.conflictSiblings: conflict = .siblings
            case RingFormat.conflictLWW: conflict = .lww
            case let tag: throw .corrupt(offset: conflictAt, reason: "unknown conflict mode \(tag)")
            }
            let siblings = try need(r.varintInt(limit: Namespace.maxSiblingLimit))
            let grace = try need(r.varintInt(limit: Int(Int64.max)))
            do {
                list.append(try Namespace(name: name, n: n, r: rq, w: wq, conflict: conflict,
                                          siblingLimit: siblings, tombstoneGraceMs: Int64(grace)))
            } catch {
                throw .corrupt(offset: at, reason: "invalid namespace: \(error)")
            }
        }
        guard r.remaining == 0 else { throw .corrupt(offset: r.offset, reason: "\(r.remaining) trailing bytes") }
        self.version = version
        self.namespaces = list
    }
}
