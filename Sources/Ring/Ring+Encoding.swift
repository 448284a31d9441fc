// The ring's binary encoding (grammar and worked example in FORMAT.md) and its merge rule.
// The encoding is canonical: equal rings encode to equal bytes, so the merge tie-break on
// bytes is the same decision on every node.

import Bytes

extension Ring {
    /// The canonical encoding: header, sorted member table, owner indices, transfers, checksum.
    public func encode() -> [UInt8] {
        let members = Ring.sortedIDs(nodes)
        var index: [String: Int] = [:]
        index.reserveCapacity(members.count)
        for (i, m) in members.enumerated() { index[m] = i }

        var w = ByteWriter()
        w.append(RingFormat.ringMagic)
        w.u8(RingFormat.formatVersion1)
        w.u8(UInt8(0)) // flags, reserved
        w.u64LE(version)
        w.u8(UInt8(partitionBits))
        w.u8(UInt8(targetN))
        w.varint(members.count)
        for m in members { w.string(m) }
        for o in owners { w.varint(index[o] ?? 0) }
        let transfers = (0..<partitionCount).filter { nextOwners[$0] != nil }
        w.varint(transfers.count)
        for p in transfers {
            w.varint(p)
            w.varint(index[nextOwners[p] ?? ""] ?? 0)
        }
        let sum = KeyHash.xxh64(w.bytes, seed: RingFormat.checksumSeed)
        w.u64LE(sum)
        return w.bytes
    }

    /// Decodes `encode()`'s output. Truncated, corrupted or non-canonical bytes throw.
    public init(decoding bytes: [UInt8]) throws(RingError) {
        var r = ByteReader(bytes)
        guard let magic = r.take(4) else { throw .truncated(offset: r.offset) }
        guard magic.elementsEqual(RingFormat.ringMagic) else { throw .corrupt(offset: 0, reason: "not a ring (bad magic)") }
        guard let format = r.u8() else { throw .truncated(offset: r.offset) }
        guard format == RingFormat.formatVersion1 else { throw .unsupportedFormatVersion(format) }
        guard bytes.count >= 8 + r.offset else { throw .truncated(offset: bytes.count) }
        let body = bytes.count - 8
        var tail = ByteReader(bytes[body...])
        guard let stored = tail.u64LE() else { throw .truncated(offset: body) }
        let computed = bytes.withUnsafeBytes { KeyHash.xxh64(UnsafeRawBufferPointer(rebasing: $0[0..<body]), seed: RingFormat.checksumSeed) }
        guard stored == computed else { throw .checksumMismatch }
        r = ByteReader(bytes[0..<body])
        _ = r.skip(5)

        func need<T>(_ value: T?) throws(RingError) -> T {
            guard let value else { throw .truncated(offset: r.offset) }
            return value
        }
        let flags = try need(r.u8())
        guard flags == 0 else { throw .corrupt(offset: r.offset - 1, reason: "unknown flags \(flags)") }
        let version = try need(r.u64LE())
        let bits = Int(try need(r.u8()))
        guard bits <= RingFormat.maxPartitionBits else { throw .corrupt(offset: r.offset - 1, reason: "partition bits \(bits)") }
        let q = 1 << bits
        let targetN = Int(try need(r.u8()))
        // Each member needs at least 2 bytes, so the count is bounded by what is left.
        let memberCount = try need(r.varintInt(limit: min(2 * q, r.remaining / 2)))
        var members: [String] = []
        members.reserveCapacity(memberCount)
        for _ in 0..<memberCount {
            let at = r.offset
            let m = try need(r.string(maxBytes: RingFormat.maxNameBytes))
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
            guard let i = r.varintInt(limit: Int(UInt32.max)) else { throw .truncated(offset: at) }
            guard i < memberCount else { throw .corrupt(offset: at, reason: "owner index \(i) of \(memberCount)") }
            used[i] = true
            owners.append(members[i])
        }
        var next: [String?] = Array(repeating: nil, count: q)
        let transferCount = try need(r.varintInt(limit: q))
        var previous = -1
        for _ in 0..<transferCount {
            let at = r.offset
            let p = try need(r.varintInt(limit: Int(UInt32.max)))
            guard p < q, p > previous else { throw .corrupt(offset: at, reason: "transfer partition \(p) out of order") }
            let i = try need(r.varintInt(limit: Int(UInt32.max)))
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
