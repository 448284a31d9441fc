// The counter section of a key record (RECORDS.md, "Counters"): present only when the key
// has counter entries, so records of keys never incremented are byte-identical to the ones
// written before counters existed.
//
//   counterSection := 0x06 entries m:varint mark{m}
//   entries := n:varint entry{n}             -- n >= 1
//   entry := nodeId epoch:varint applied:varint total:zigzag-varint
//            -- sorted by (node id, epoch), one per pair; epoch >= 1, applied >= 1
//   mark  := index:varint kind:u8 seen:entries
//            -- index: the sibling (siblings records, strictly increasing) or 0 (lww);
//            -- kind 0 assigned, 1 incremented; seen: what its write had seen, covered by
//            -- the section's entries

import Bytes

extension KeyRecord {
    static func appendCounterSection(_ s: KeyState, to w: inout ByteWriter) {
        guard !s.counter.isEmpty else { return }
        var marks: [(Int, CounterMark)] = []
        for (i, sib) in s.siblings.enumerated() { if let m = s.counter.marks[sib.dot] { marks.append((i, m)) } }
        appendCounterSection(s.counter.entries, marks: marks, to: &w)
    }

    static func appendCounterSection(_ l: LWWKeyState, to w: inout ByteWriter) {
        guard !l.counter.isEmpty else { return }
        appendCounterSection(l.counter, marks: l.mark.map { [(0, $0)] } ?? [], to: &w)
    }

    private static func appendCounterSection(_ entries: CounterEntries, marks: [(Int, CounterMark)], to w: inout ByteWriter) {
        w.u8(VersionFormat.counterSectionTag)
        appendEntries(entries, to: &w)
        w.varint(marks.count)
        for (index, m) in marks {
            w.varint(index)
            w.u8(m.kind.rawValue)
            appendEntries(m.seen, to: &w)
        }
    }

    private static func appendEntries(_ entries: CounterEntries, to w: inout ByteWriter) {
        w.varint(entries.entries.count)
        for e in entries.entries {
            w.nodeID(e.node)
            w.varint(e.epoch)
            w.varint(e.applied)
            w.varint(ZigZag.encode(e.total))
        }
    }

    /// A siblings record's counter section, if one follows; marks are keyed by their
    /// sibling's dot.
    static func readCounterSection(_ r: inout ByteReader, siblings: [Sibling]) throws(KeyRecordError) -> KeyCounter {
        guard r.peek() == VersionFormat.counterSectionTag else { return KeyCounter() }
        let (entries, marks) = try readSection(&r, markLimit: siblings.count)
        var byDot: [Dot: CounterMark] = [:]
        for (index, m) in marks { byDot[siblings[index].dot] = m }
        let counter = KeyCounter(entries: entries, marks: byDot)
        do { try counter.validate() } catch { throw .invalidCounter(error) }
        return counter
    }

    /// An lww record's counter section, if one follows.
    static func readCounterSection(_ r: inout ByteReader) throws(KeyRecordError) -> (CounterEntries, CounterMark?) {
        guard r.peek() == VersionFormat.counterSectionTag else { return (CounterEntries(), nil) }
        let (entries, marks) = try readSection(&r, markLimit: 1)
        let mark = marks.first?.1
        if let mark, !mark.seen.isCovered(by: entries) { throw .invalidCounter(.markAheadOfEntries) }
        return (entries, mark)
    }

    /// Entries and (index, mark) pairs; every index below `markLimit`, strictly increasing.
    private static func readSection(_ r: inout ByteReader, markLimit: Int) throws(KeyRecordError) -> (CounterEntries, [(Int, CounterMark)]) {
        _ = r.u8()
        let entries = try readEntries(&r)
        let marksAt = r.offset
        // A mark takes at least 8 bytes.
        guard let m = r.varintInt(limit: min(markLimit, r.remaining / 8)) else { throw .truncated(offset: marksAt) }
        var marks: [(Int, CounterMark)] = []
        for _ in 0..<m {
            let at = r.offset
            guard let index = r.varintInt(limit: markLimit - 1), index > (marks.last?.0 ?? -1) else { throw .badActorIndex(offset: at) }
            guard let rawKind = r.u8(), let kind = CounterMark.Kind(rawValue: rawKind) else { throw .badPayloadTag(offset: at) }
            marks.append((index, CounterMark(kind: kind, seen: try readEntries(&r))))
        }
        return (entries, marks)
    }

    /// A non-empty, canonical list of entries.
    private static func readEntries(_ r: inout ByteReader) throws(KeyRecordError) -> CounterEntries {
        let countAt = r.offset
        // An entry takes at least 5 bytes; an empty list is not canonical (no section, no mark).
        guard let n = r.varintInt(limit: r.remaining / 5), n >= 1 else { throw .truncated(offset: countAt) }
        var entries: [CounterEntry] = []
        entries.reserveCapacity(n)
        for _ in 0..<n {
            let at = r.offset
            guard let node = r.nodeID() else { throw r.isAtEnd ? .truncated(offset: at) : .badNodeID(offset: at) }
            guard let epoch = r.varint(), let applied = r.varint(), let total = r.varint() else { throw .truncated(offset: r.offset) }
            entries.append(CounterEntry(node: node, epoch: epoch, applied: applied, total: ZigZag.decode(total)))
        }
        let checked: CounterEntries
        do { checked = try CounterEntries(entries) } catch { throw .invalidCounter(error) }
        guard checked.entries == entries else { throw .invalidCounter(.entriesNotSorted(entries[0].node)) }
        return checked
    }
}
