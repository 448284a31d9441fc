// A version vector: for each actor, the highest counter seen (docs/VERSIONS.md).
//
// Kept as an array of entries sorted by actor bytes, with no zero counters, so that two
// equal vectors have equal representations and encodings (RECORDS.md). Vectors are small
// (one entry per server that ever coordinated a write of the key), so binary search over a
// sorted array beats a dictionary and costs one allocation.

/// The highest counter seen per actor; absent actors read as 0.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// One actor's highest counter (always > 0).
    public struct Entry: Hashable, Sendable {
        public let actor: NodeID
        public let counter: UInt64
        public init(actor: NodeID, counter: UInt64) {
            self.actor = actor
            self.counter = counter
        }
    }

    /// Entries sorted by actor (byte-wise), no duplicates, no zero counters.
    public private(set) var entries: [Entry]

    public init() { entries = [] }

    /// A vector from a dictionary; zero counters are dropped.
    public init(_ counters: [NodeID: UInt64]) {
        entries = counters.filter { $0.value > 0 }
            .map { Entry(actor: $0.key, counter: $0.value) }
            .sorted { $0.actor < $1.actor }
    }

    /// Entries already known to be sorted, unique and non-zero (decoders check first).
    init(uncheckedSortedEntries: [Entry]) { entries = uncheckedSortedEntries }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public var dictionary: [NodeID: UInt64] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.actor, $0.counter) })
    }

    /// Index of `actor` if present, else where it would be inserted.
    private func search(_ actor: NodeID) -> (index: Int, found: Bool) {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let c = NodeID.compare(entries[mid].actor, actor)
            if c == 0 { return (mid, true) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (lo, false)
    }

    /// The highest counter seen from `actor` (0 if none). Setting 0 removes the entry.
    public subscript(actor: NodeID) -> UInt64 {
        get {
            let s = search(actor)
            return s.found ? entries[s.index].counter : 0
        }
        set {
            let s = search(actor)
            if newValue == 0 {
                if s.found { entries.remove(at: s.index) }
            } else if s.found {
                entries[s.index] = Entry(actor: actor, counter: newValue)
            } else {
                entries.insert(Entry(actor: actor, counter: newValue), at: s.index)
            }
        }
    }

    /// Whether the write named `dot` is among what this vector has seen.
    public func covers(_ dot: Dot) -> Bool { dot.counter <= self[dot.actor] }

    /// Whether this vector has seen everything `other` has (pointwise >=).
    public func descends(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.actor] >= $0.counter }
    }

    /// Pointwise maximum, in one pass over both sorted entry lists.
    public func merged(with other: VersionVector) -> VersionVector {
        if other.entries.isEmpty { return self }
        if entries.isEmpty { return other }
        var out: [Entry] = []
        out.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0, j = 0
        let a = entries, b = other.entries
        while i < a.count || j < b.count {
            let c = i == a.count ? 1 : (j == b.count ? -1 : NodeID.compare(a[i].actor, b[j].actor))
            if c < 0 {
                out.append(a[i]); i += 1
            } else if c > 0 {
                out.append(b[j]); j += 1
            } else {
                out.append(a[i].counter >= b[j].counter ? a[i] : b[j]); i += 1; j += 1
            }
        }
        return VersionVector(uncheckedSortedEntries: out)
    }

    public mutating func merge(_ other: VersionVector) { self = merged(with: other) }

    public var description: String {
        "{" + entries.map { "\($0.actor):\($0.counter)" }.joined(separator: ", ") + "}"
    }

    /// Whether entries are strictly sorted by actor and every counter is > 0.
    var isCanonical: Bool {
        for (i, e) in entries.enumerated() {
            if e.counter == 0 { return false }
            if i > 0 && !(entries[i - 1].actor < e.actor) { return false }
        }
        return true
    }
}
