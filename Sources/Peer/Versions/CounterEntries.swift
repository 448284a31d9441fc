// A key's PN-counter (docs/VERSIONS.md, "Counters"): one entry per coordinating server,
// each `(epoch, applied, total)` — how many increments that server has applied to the key
// and their signed sum. Only the named server ever changes its entry, and each change
// raises `applied` by one, so of two copies of one server's entry the one with more
// increments applied has seen everything the other has: merge keeps it. Pure value type.
//
// The epoch is a number the server drew from its node-wide, never-repeating counter (the
// dot counter lease) when it created the entry. A server continues its newest entry; one
// that holds no entry of its own for the key (its copy was dropped after an ownership
// handoff and the range came back before the data did, or the key was reaped) starts a
// new epoch instead of restarting at `applied` 1, so its new increments never collide
// with an old copy of its entry that is still on its way: both entries count.
//
// Invariants (checked by `validate()`, which decoders run):
//   1. entries are sorted strictly by (node id bytes, epoch);
//   2. every entry has `epoch >= 1` and `applied >= 1` (a node that applied nothing has
//      no entry).
//
// Totals are added with wrapping arithmetic. A counter's value is `base + (sum now - sum
// seen)` (KeyState+Counter.swift), which is exact modulo 2^64 and so exact whenever the
// value itself fits in 64 bits; each coordinator refuses an increment that would take its
// own reading of the value, or its own entry, past Int64 (Redis's overflow error).

/// One coordinating server's share of a counter.
public struct CounterEntry: Hashable, Sendable {
    public let node: NodeID
    /// Which of `node`'s entries for this key this is (see the file comment).
    public let epoch: UInt64
    /// How many increments `node` has applied to this entry: its version.
    public let applied: UInt64
    /// The signed sum of those increments.
    public let total: Int64

    public init(node: NodeID, epoch: UInt64 = 1, applied: UInt64, total: Int64) {
        self.node = node
        self.epoch = epoch
        self.applied = applied
        self.total = total
    }

    /// The entries' order: node id bytes, then epoch; -1, 0 or 1.
    static func order(_ a: CounterEntry, _ b: CounterEntry) -> Int {
        let c = NodeID.compare(a.node, b.node)
        if c != 0 { return c }
        return a.epoch == b.epoch ? 0 : (a.epoch < b.epoch ? -1 : 1)
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

    /// Entries in any order; throws if two name one (node, epoch) or one has applied nothing.
    public init(_ entries: [CounterEntry]) throws(CounterError) {
        self.entries = entries.sorted { CounterEntry.order($0, $1) < 0 }
        try validate()
    }

    init(unchecked entries: [CounterEntry]) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    public func validate() throws(CounterError) {
        for (i, e) in entries.enumerated() {
            guard e.applied >= 1, e.epoch >= 1 else { throw .emptyEntry(e.node) }
            if i > 0 && CounterEntry.order(entries[i - 1], e) >= 0 { throw .entriesNotSorted(e.node) }
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

    /// `node`'s newest entry (the one it continues).
    public subscript(node: NodeID) -> CounterEntry? { entries.last { $0.node == node } }

    /// Whether every entry here is in `other` with at least as many increments applied.
    func isCovered(by other: CounterEntries) -> Bool {
        var j = 0
        for e in entries {
            while j < other.entries.count && CounterEntry.order(other.entries[j], e) < 0 { j += 1 }
            guard j < other.entries.count, CounterEntry.order(other.entries[j], e) == 0, other.entries[j].applied >= e.applied else { return false }
        }
        return true
    }

    /// Per (node, epoch), the entry with more increments applied. Commutative, associative,
    /// idempotent.
    public func merged(with other: CounterEntries) -> CounterEntries {
        if other.entries.isEmpty || other == self { return self }
        if entries.isEmpty { return other }
        var out: [CounterEntry] = []
        out.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0, j = 0
        let a = entries, b = other.entries
        while i < a.count || j < b.count {
            let c = i == a.count ? 1 : (j == b.count ? -1 : CounterEntry.order(a[i], b[j]))
            if c < 0 { out.append(a[i]); i += 1 } else if c > 0 { out.append(b[j]); j += 1 } else {
                out.append(CounterEntry.later(a[i], b[j]))
                i += 1; j += 1
            }
        }
        return CounterEntries(unchecked: out)
    }

    /// Whether `node` can add `delta` to its newest entry without its total leaving Int64.
    public func canAdd(_ delta: Int64, at node: NodeID) -> Bool {
        guard let e = self[node] else { return true }
        return !e.total.addingReportingOverflow(delta).overflow
    }

    /// The entries after one more increment of `delta` at `node`: its newest entry, or, when
    /// it has none, a new one with epoch `newEpoch` (a number `node` never used before).
    /// nil if the entry's total would leave Int64.
    public func adding(_ delta: Int64, at node: NodeID, newEpoch: UInt64) -> CounterEntries? {
        var out = entries
        if let i = out.lastIndex(where: { $0.node == node }) {
            let (total, overflow) = out[i].total.addingReportingOverflow(delta)
            guard !overflow else { return nil }
            out[i] = CounterEntry(node: node, epoch: out[i].epoch, applied: out[i].applied + 1, total: total)
        } else {
            let fresh = CounterEntry(node: node, epoch: max(1, newEpoch), applied: 1, total: delta)
            let at = out.firstIndex { CounterEntry.order(fresh, $0) < 0 } ?? out.endIndex
            out.insert(fresh, at: at)
        }
        return CounterEntries(unchecked: out)
    }
}

/// What one write had seen of the key's counter when it was made (the entries its
/// coordinator held), and what kind of write it was. A value or tombstone without a mark
/// was written when the counter was empty: it is an assignment that has seen nothing
/// (`CounterMark.none`). `seen` is a vector, not a sum, so that a read can tell the
/// increments every concurrent assignment had seen from those none had (KeyState+Counter).
public struct CounterMark: Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// SET, DEL, PUTV...: replaces the counter and every increment in `seen`.
        case assigned = 0
        /// INCR and friends: the sibling's value already counts every increment in `seen`.
        case incremented = 1
    }

    public let kind: Kind
    public let seen: CounterEntries

    public init(kind: Kind, seen: CounterEntries) {
        self.kind = kind
        self.seen = seen
    }

    public static let none = CounterMark(kind: .assigned, seen: CounterEntries())

    /// A total order, used only to pick between two different marks under one dot (a bug
    /// elsewhere), so that merge stays commutative.
    static func deterministicMax(_ a: CounterMark, _ b: CounterMark) -> CounterMark {
        if a.kind != b.kind { return a.kind.rawValue > b.kind.rawValue ? a : b }
        let (x, y) = (a.seen.entries, b.seen.entries)
        if x.count != y.count { return x.count > y.count ? a : b }
        for (e, f) in zip(x, y) where e != f {
            let c = CounterEntry.order(e, f)
            if c != 0 { return c > 0 ? a : b }
            if e.applied != f.applied { return e.applied > f.applied ? a : b }
            return e.total > f.total ? a : b
        }
        return a
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
    /// A mark has seen an entry the state does not hold (or more of it than it holds).
    case markAheadOfEntries
}

/// Zigzag: signed totals as unsigned varints, small magnitudes in few bytes.
enum ZigZag {
    static func encode(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func decode(_ u: UInt64) -> Int64 { Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }
}
