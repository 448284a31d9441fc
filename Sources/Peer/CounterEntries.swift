// A key's PN-counter (docs/VERSIONS.md, "Counters"): one entry per coordinating server,
// each `(applied, total)` — how many increments that server has applied to the key and
// their signed sum. Only the named server ever changes its entry, and each change raises
// `applied` by one, so of two copies of one server's entry the one with more increments
// applied has seen everything the other has: merge keeps it. Pure value type, no I/O.
//
// Invariants (checked by `validate()`, which decoders run):
//   1. entries are sorted strictly by node id bytes (one entry per node);
//   2. every entry has `applied >= 1` (a node that applied nothing has no entry).
//
// Totals are added with wrapping arithmetic. A counter's value is `base + (sum now - sum
// seen)` (KeyState+Counter.swift), which is exact modulo 2^64 and so exact whenever the
// value itself fits in 64 bits; each coordinator refuses an increment that would take its
// own reading of the value, or its own entry, past Int64 (Redis's overflow error).

/// One coordinating server's share of a counter.
public struct CounterEntry: Hashable, Sendable {
    public let node: NodeID
    /// How many increments `node` has applied to this key: the entry's version.
    public let applied: UInt64
    /// The signed sum of those increments.
    public let total: Int64

    public init(node: NodeID, applied: UInt64, total: Int64) {
        self.node = node
        self.applied = applied
        self.total = total
    }

    /// The later of two copies of one node's entry. Equal `applied` with different totals
    /// happens only through a bug (an entry rewritten without a new increment); a total
    /// order keeps merge commutative even then.
    static func later(_ a: CounterEntry, _ b: CounterEntry) -> CounterEntry {
        if a.applied != b.applied { return a.applied > b.applied ? a : b }
        return a.total >= b.total ? a : b
    }
}

/// The sum of a counter's entries: increments applied in all, and their wrapping sum.
public struct CounterSum: Hashable, Sendable {
    public var applied: UInt64
    public var total: Int64
    public static let zero = CounterSum(applied: 0, total: 0)

    public init(applied: UInt64, total: Int64) {
        self.applied = applied
        self.total = total
    }
}

/// A counter's entries, sorted by node.
public struct CounterEntries: Hashable, Sendable {
    public private(set) var entries: [CounterEntry]

    public init() { entries = [] }

    /// Entries in any order; throws if two name one node or one has applied nothing.
    public init(_ entries: [CounterEntry]) throws(CounterError) {
        self.entries = entries.sorted { $0.node < $1.node }
        try validate()
    }

    init(unchecked entries: [CounterEntry]) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    public func validate() throws(CounterError) {
        for (i, e) in entries.enumerated() {
            guard e.applied >= 1 else { throw .emptyEntry(e.node) }
            if i > 0 && !(entries[i - 1].node < e.node) { throw .entriesNotSorted(e.node) }
        }
    }

    /// Every entry's increments together.
    public var sum: CounterSum {
        var s = CounterSum.zero
        for e in entries {
            s.applied &+= e.applied
            s.total &+= e.total
        }
        return s
    }

    public subscript(node: NodeID) -> CounterEntry? { entries.first { $0.node == node } }

    /// Per node, the entry with more increments applied. Commutative, associative, idempotent.
    public func merged(with other: CounterEntries) -> CounterEntries {
        if other.entries.isEmpty || other == self { return self }
        if entries.isEmpty { return other }
        var out: [CounterEntry] = []
        out.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0, j = 0
        let a = entries, b = other.entries
        while i < a.count || j < b.count {
            let c = i == a.count ? 1 : (j == b.count ? -1 : NodeID.compare(a[i].node, b[j].node))
            if c < 0 { out.append(a[i]); i += 1 } else if c > 0 { out.append(b[j]); j += 1 } else {
                out.append(CounterEntry.later(a[i], b[j]))
                i += 1; j += 1
            }
        }
        return CounterEntries(unchecked: out)
    }

    /// `node`'s entry after one more increment of `delta`; nil if its total would leave Int64.
    public func adding(_ delta: Int64, at node: NodeID) -> CounterEntries? {
        var out = entries
        if let i = out.firstIndex(where: { $0.node == node }) {
            let (total, overflow) = out[i].total.addingReportingOverflow(delta)
            guard !overflow else { return nil }
            out[i] = CounterEntry(node: node, applied: out[i].applied + 1, total: total)
        } else {
            let at = out.firstIndex { node < $0.node } ?? out.endIndex
            out.insert(CounterEntry(node: node, applied: 1, total: delta), at: at)
        }
        return CounterEntries(unchecked: out)
    }
}

/// What one write had seen of the key's counter when it was made, and what kind of write it
/// was. A value or tombstone without a mark was written when the counter was empty: it is
/// an assignment that has seen nothing (`CounterMark.none`).
public struct CounterMark: Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// SET, DEL, PUTV...: replaces the counter and every increment in `seen`.
        case assigned = 0
        /// INCR and friends: the sibling's value already counts every increment in `seen`.
        case incremented = 1
    }

    public let kind: Kind
    public let seen: CounterSum

    public init(kind: Kind, seen: CounterSum) {
        self.kind = kind
        self.seen = seen
    }

    public static let none = CounterMark(kind: .assigned, seen: .zero)

    /// A total order, used only to pick between two different marks under one dot (a bug
    /// elsewhere), so that merge stays commutative.
    static func deterministicMax(_ a: CounterMark, _ b: CounterMark) -> CounterMark {
        if a.kind != b.kind { return a.kind.rawValue > b.kind.rawValue ? a : b }
        if a.seen.applied != b.seen.applied { return a.seen.applied > b.seen.applied ? a : b }
        return a.seen.total >= b.seen.total ? a : b
    }
}

/// Why counter state breaks its invariants (a decoder refuses it).
public enum CounterError: Error, Equatable, Sendable {
    case emptyEntry(NodeID)
    case entriesNotSorted(NodeID)
    /// A mark that says nothing (an assignment that saw no increment) is stored as no mark.
    case emptyMark
    /// A mark names a sibling the record does not have.
    case markWithoutSibling
    /// Marks record increments seen or made, so a state with marks has entries.
    case marksWithoutEntries
}

/// Zigzag: signed totals as unsigned varints, small magnitudes in few bytes.
enum ZigZag {
    static func encode(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func decode(_ u: UInt64) -> Int64 { Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }
}
