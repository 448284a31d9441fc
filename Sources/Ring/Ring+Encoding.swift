// The ring's binary encoding (grammar and worked example in FORMAT.md) and its merge rule.
// The encoding is canonical: equal rings encode to equal bytes, so the merge tie-break on
// bytes is the same decision on every node.

extension Ring {
    /// The canonical encoding: header, sorted member table, owner indices, transfers, checksum.
    public func encode() -> [UInt8] {
        let members = Ring.sortedIDs(nodes)
        var index: [String: Int] = [:]
        index.reserveCapacity(members.count)
        for (i, m) in members.enumerated() { index[m] = i }

        var w = ByteWriter()
        w.write(RingFormat.ringMagic)
        w.write(RingFormat.formatVersion1)
        w.write(UInt8(0)) // flags, reserved
        w.write(version)
        w.write(UInt8(partitionBits))
        w.write(UInt8(targetN))
        w.writeVarint(members.count)
        for m in members { w.writeString(m) }
        for o in owners { w.writeVarint(index[o] ?? 0) }
        let transfers = (0..<partitionCount).filter { nextOwners[$0] != nil }
        w.writeVarint(transfers.count)
        for p in transfers {
            w.writeVarint(p)
            w.writeVarint(index[nextOwners[p] ?? ""] ?? 0)
        }
        let sum = KeyHash.xxh64(w.bytes, seed: RingFormat.checksumSeed)
        w.write(sum)
        return w.bytes
    }

    /// Decodes `encode()`'s output. Truncated, corrupted or non-canonical bytes throw.
    public init(decoding bytes: [UInt8]) throws(RingError) {
        var r = ByteReader(bytes)
        guard let magic = r.readBytes(4) else { throw .truncated(offset: r.offset) }
        guard magic == RingFormat.ringMagic else { throw .corrupt(offset: 0, reason: "not a ring (bad magic)") }
        guard let format = r.readByte() else { throw .truncated(offset: r.offset) }
        guard format == RingFormat.formatVersion1 else { throw .unsupportedFormatVersion(format) }
        guard bytes.count >= 8 + r.offset else { throw .truncated(offset: bytes.count) }
        let body = bytes.count - 8
        var tail = ByteReader(Array(bytes[body...]))
        guard let stored = tail.readUInt64() else { throw .truncated(offset: body) }
        let computed = bytes.withUnsafeBytes { KeyHash.xxh64(UnsafeRawBufferPointer(rebasing: $0[0..<body]), seed: RingFormat.checksumSeed) }
        guard stored == computed else { throw .checksumMismatch }
        r = ByteReader(Array(bytes[0..<body]))
        _ = r.readBytes(5)

        func need<T>(_ value: T?) throws(RingError) -> T {
            guard let value else { throw .truncated(offset: r.offset) }
            return value
        }
        let flags = try need(r.readByte())
        guard flags == 0 else { throw .corrupt(offset: r.offset - 1, reason: "unknown flags \(flags)") }
        let version = try need(r.readUInt64())
        let bits = Int(try need(r.readByte()))
        guard bits <= RingFormat.maxPartitionBits else { throw .corrupt(offset: r.offset - 1, reason: "partition bits \(bits)") }
        let q = 1 << bits
        let targetN = Int(try need(r.readByte()))
        // Each member needs at least 2 bytes, so the count is bounded by what is left.
        let memberCount = try need(r.readCount(limit: min(2 * q, r.remaining / 2)))
        var members: [String] = []
        members.reserveCapacity(memberCount)
        for _ in 0..<memberCount {
            let at = r.offset
            let m = try need(r.readString(maxBytes: RingFormat.maxNameBytes))
            guard !m.isEmpty else { throw .corrupt(offset: at, reason: "empty node id") }
            if let last = members.last, !last.utf8.lexicographicallyPrecedes(m.utf8) {
                throw .corrupt(offset: at, reason: "member table not strictly ascending")
            }
            members.append(m)
        }
        var used = Array(repeating: false, count: memberCount)
        var owners: [String] = []
        owners.reserveCapacity(q)
        for _ in 0..<q {
            let at = r.offset
            guard let i = r.readCount(limit: Int(UInt32.max)) else { throw .truncated(offset: at) }
            guard i < memberCount else { throw .corrupt(offset: at, reason: "owner index \(i) of \(memberCount)") }
            used[i] = true
            owners.append(members[i])
        }
        var next: [String?] = Array(repeating: nil, count: q)
        let transferCount = try need(r.readCount(limit: q))
        var previous = -1
        for _ in 0..<transferCount {
            let at = r.offset
            let p = try need(r.readCount(limit: Int(UInt32.max)))
            guard p < q, p > previous else { throw .corrupt(offset: at, reason: "transfer partition \(p) out of order") }
            let i = try need(r.readCount(limit: Int(UInt32.max)))
            guard i < memberCount else { throw .corrupt(offset: at, reason: "next owner index \(i) of \(memberCount)") }
            used[i] = true
            next[p] = members[i]
            previous = p
        }
        guard r.remaining == 0 else { throw .corrupt(offset: r.offset, reason: "\(r.remaining) trailing bytes") }
        guard !used.contains(false) else { throw .corrupt(offset: 0, reason: "member table lists an unused node") }
        // The shared validation: targetN range, node ids, no transfer to the owner itself.
        try self.init(partitionCount: q, version: version, targetN: targetN, owners: owners, nextOwners: next)
    }

    /// The ring every node keeps of two: the higher version; at equal versions with
    /// different contents, the longer encoding, then the lexicographically greater one
    /// (the rule Gossip's `ClusterStateValue.defaultWinner` applies to the same bytes).
    public static func merge(_ a: Ring, _ b: Ring) -> Ring {
        if a.version != b.version { return a.version > b.version ? a : b }
        if a == b { return a }
        let ea = a.encode(), eb = b.encode()
        if ea.count != eb.count { return ea.count > eb.count ? a : b }
        return ea.lexicographicallyPrecedes(eb) ? b : a
    }

    /// `Ring.merge(self, other)`.
    public func merged(with other: Ring) -> Ring { Ring.merge(self, other) }
}
