// The counter part of a `siblings` key state (docs/VERSIONS.md, "Counters"): the key's
// PN-counter entries, and a mark per sibling saying what that sibling's write had seen of
// them. Entries live beside the siblings, not inside them, so that superseding a sibling
// (a SET over a counter, a later INCR) never drops an increment: entries only grow, and
// merge takes, per node, the entry with more increments applied.
//
// Invariants (on top of KeyState's):
//   1. the entries are valid (CounterEntries.swift);
//   2. every mark names a sibling of the state (merge and write drop the others);
//   3. no mark is `CounterMark.none` (that is what "no mark" means);
//   4. a state with marks has entries (a mark records increments seen, or an increment);
//   5. every mark's `seen` is covered by the entries (they only grow).

/// A siblings-mode key's counter entries and its siblings' marks.
public struct KeyCounter: Hashable, Sendable {
    public private(set) var entries: CounterEntries
    /// By sibling dot.
    public private(set) var marks: [Dot: CounterMark]

    public init() {
        entries = CounterEntries()
        marks = [:]
    }

    init(entries: CounterEntries, marks: [Dot: CounterMark]) {
        self.entries = entries
        self.marks = marks
    }

    /// True for a key that never held a counter: reads and writes take the old paths.
    public var isEmpty: Bool { entries.isEmpty && marks.isEmpty }

    public func mark(_ dot: Dot) -> CounterMark { marks[dot] ?? .none }

    /// The counter after merging another replica's: entries per node by most increments,
    /// marks of the siblings that survived the merge (`kept`). A dot names one write, so
    /// both sides hold the same mark for it.
    func merged(with other: KeyCounter, keeping kept: [Sibling]) -> KeyCounter {
        if isEmpty && other.isEmpty { return self }
        var out: [Dot: CounterMark] = [:]
        for s in kept {
            switch (marks[s.dot], other.marks[s.dot]) {
            case (nil, nil): continue
            case (let a?, nil): out[s.dot] = a
            case (nil, let b?): out[s.dot] = b
            case (let a?, let b?): out[s.dot] = a == b ? a : CounterMark.deterministicMax(a, b)
            }
        }
        return KeyCounter(entries: entries.merged(with: other.entries), marks: out)
    }

    /// The counter after an assignment (SET, DEL, PUTV) wrote `dot`: it has seen every
    /// entry this replica holds. `kept` are the state's siblings after the write.
    func assigning(_ dot: Dot, keeping kept: [Sibling]) -> KeyCounter {
        if isEmpty { return self }
        var out: [Dot: CounterMark] = [:]
        for s in kept where s.dot != dot { if let m = marks[s.dot] { out[s.dot] = m } }
        if !entries.isEmpty { out[dot] = CounterMark(kind: .assigned, seen: entries) }
        return KeyCounter(entries: entries, marks: out)
    }

    /// Checks invariants 1, 3, 4 and 5 (decoders check 2 by construction: a mark names its
    /// sibling by index).
    func validate() throws(CounterError) {
        try entries.validate()
        if marks.values.contains(.none) { throw .emptyMark }
        if !marks.isEmpty && entries.isEmpty { throw .marksWithoutEntries }
        for m in marks.values {
            try m.seen.validate()
            if !m.seen.isCovered(by: entries) { throw .markAheadOfEntries }
        }
    }
}
