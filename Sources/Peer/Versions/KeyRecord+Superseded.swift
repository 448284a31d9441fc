// The superseded section of a siblings record (RECORDS.md, "Superseded writes"): present
// only when the state records superseded write ids, so every record without them is byte for
// byte what it was before the section existed.
//
//   supersededSection := 0x07 n:varint (writeID:u64LE rank:varint){n}
//            -- 1 <= n <= SupersededWrites.limit; sorted strictly by writeID; writeID != 0

import Bytes

extension KeyRecord {
    static func appendSupersededSection(_ s: KeyState, to w: inout ByteWriter) {
        guard !s.superseded.isEmpty else { return }
        w.u8(VersionFormat.supersededSectionTag)
        w.varint(s.superseded.entries.count)
        for e in s.superseded.entries {
            w.u64LE(e.writeID)
            w.varint(e.rank)
        }
    }

    /// The superseded section, if one follows; an empty, unsorted or oversized one is refused.
    static func readSupersededSection(_ r: inout ByteReader) throws(KeyRecordError) -> SupersededWrites {
        guard r.peek() == VersionFormat.supersededSectionTag else { return SupersededWrites() }
        let at = r.offset
        _ = r.u8()
        let countAt = r.offset
        // An entry takes at least 9 bytes; an empty section is not canonical (no section).
        guard let n = r.varintInt(limit: min(SupersededWrites.limit, r.remaining / 9)), n >= 1 else {
            throw .truncated(offset: countAt)
        }
        var entries: [SupersededWrite] = []
        entries.reserveCapacity(n)
        for _ in 0..<n {
            guard let id = r.u64LE(), let rank = r.varint() else { throw .truncated(offset: r.offset) }
            entries.append(SupersededWrite(writeID: id, rank: rank))
        }
        let set = SupersededWrites(uncheckedSorted: entries)
        do { try set.validate() } catch { throw .invalidSuperseded(error, offset: at) }
        return set
    }
}
