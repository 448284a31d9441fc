// The namespace table's binary encoding; grammar and worked example in FORMAT.md.

extension NamespaceTable {
    /// The canonical encoding: header, namespaces in name order, checksum.
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.write(RingFormat.namespaceMagic)
        w.write(RingFormat.formatVersion1)
        w.write(UInt8(0)) // flags, reserved
        w.write(version)
        w.writeVarint(namespaces.count)
        for ns in namespaces {
            w.writeString(ns.name)
            w.writeVarint(ns.n)
            NamespaceTable.write(ns.r, into: &w)
            NamespaceTable.write(ns.w, into: &w)
            w.write(ns.conflict == .lww ? RingFormat.conflictLWW : RingFormat.conflictSiblings)
            w.writeVarint(ns.siblingLimit)
            w.writeVarint(UInt64(ns.tombstoneGraceMs))
        }
        w.write(KeyHash.xxh64(w.bytes, seed: RingFormat.checksumSeed))
        return w.bytes
    }

    private static func write(_ q: Quorum, into w: inout ByteWriter) {
        switch q {
        case .count(let k):
            w.write(RingFormat.quorumCount)
            w.writeVarint(k)
        case .one: w.write(RingFormat.quorumOne)
        case .quorum: w.write(RingFormat.quorumQuorum)
        case .all: w.write(RingFormat.quorumAll)
        }
    }

    /// Decodes `encode()`'s output. Truncated, corrupted, invalid or unsorted input throws.
    public init(decoding bytes: [UInt8]) throws(RingError) {
        var r = ByteReader(bytes)
        guard let magic = r.readBytes(4) else { throw .truncated(offset: r.offset) }
        guard magic == RingFormat.namespaceMagic else { throw .corrupt(offset: 0, reason: "not a namespace table (bad magic)") }
        guard let format = r.readByte() else { throw .truncated(offset: r.offset) }
        guard format == RingFormat.formatVersion1 else { throw .unsupportedFormatVersion(format) }
        guard bytes.count >= 8 + r.offset else { throw .truncated(offset: bytes.count) }
        let body = bytes.count - 8
        var tail = ByteReader(Array(bytes[body...]))
        guard let stored = tail.readUInt64() else { throw .truncated(offset: body) }
        guard stored == KeyHash.xxh64(Array(bytes[0..<body]), seed: RingFormat.checksumSeed) else { throw .checksumMismatch }
        r = ByteReader(Array(bytes[0..<body]))
        _ = r.readBytes(5)

        func need<T>(_ value: T?) throws(RingError) -> T {
            guard let value else { throw .truncated(offset: r.offset) }
            return value
        }
        func quorum() throws(RingError) -> Quorum {
            let at = r.offset
            switch try need(r.readByte()) {
            case RingFormat.quorumCount: return .count(try need(r.readCount(limit: RingFormat.maxReplicas)))
            case RingFormat.quorumOne: return .one
            case RingFormat.quorumQuorum: return .quorum
            case RingFormat.quorumAll: return .all
            case let tag: throw .corrupt(offset: at, reason: "unknown quorum tag \(tag)")
            }
        }
        let flags = try need(r.readByte())
        guard flags == 0 else { throw .corrupt(offset: r.offset - 1, reason: "unknown flags \(flags)") }
        let version = try need(r.readUInt64())
        let count = try need(r.readCount(limit: min(RingFormat.maxNamespaces, r.remaining)))
        var list: [Namespace] = []
        for _ in 0..<count {
            let at = r.offset
            let name = try need(r.readString(maxBytes: Namespace.maxNameBytes))
            if let last = list.last, !last.name.utf8.lexicographicallyPrecedes(name.utf8) {
                throw .corrupt(offset: at, reason: "namespaces not strictly ascending")
            }
            let n = try need(r.readCount(limit: RingFormat.maxReplicas))
            let rq = try quorum()
            let wq = try quorum()
            let conflictAt = r.offset
            let conflict: ConflictMode
            switch try need(r.readByte()) {
            case RingFormat.conflictSiblings: conflict = .siblings
            case RingFormat.conflictLWW: conflict = .lww
            case let tag: throw .corrupt(offset: conflictAt, reason: "unknown conflict mode \(tag)")
            }
            let siblings = try need(r.readCount(limit: Namespace.maxSiblingLimit))
            let grace = try need(r.readCount(limit: Int(Int64.max)))
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
