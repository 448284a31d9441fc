// The client writes a siblings-mode key's local writes superseded, by write id
// (docs/VERSIONS.md, "Merge"; RECORDS.md, "Superseded writes").
//
// Why: one forwarded client write can be versioned by two coordinators (the first primary
// applied it but its answer and replica writes were lost; the sender failed over and the
// next coordinator applied it again under the same write id). A later write that supersedes
// one copy does not cover the other copy's dot, so without this the other copy comes back
// as a sibling of the later write when it surfaces (docs/FAULTS.md, "Two copies of one
// write"). A write that drops a sibling with a nonzero id records the id here; merge drops
// every surviving sibling whose id the merged set holds, and a coordinator asked to version
// an id held here (a late retry or a duplicate forward) versions nothing.
//
// Bounded: at most `limit` entries. Each entry carries the causal rank of the write that
// superseded it (the sum of that write's context counters, which grows along every causal
// chain), and the set keeps the `limit` entries of highest (rank, id): the most recently
// superseded writes. Merge is: per id the highest rank, then the top `limit`, which is
// commutative, associative and idempotent (a top-k of a max-map). An id that falls out of
// the set loses its protection: a copy of it surfacing later shows as a sibling again, as
// before this existed.
//
// Invariants (checked by `validate()`, which the record decoder runs):
//   1. entries are sorted strictly by write id (unique ids), none is 0;
//   2. at most `limit` entries.

/// One superseded client write: its id and the causal rank of the write that superseded it.
public struct SupersededWrite: Hashable, Sendable {
    public let writeID: UInt64
    /// The saturating sum of the superseding write's context counters.
    public let rank: UInt64

    public init(writeID: UInt64, rank: UInt64) {
        self.writeID = writeID
        self.rank = rank
    }

    /// The eviction order: a higher rank is more recent; ids break ties.
    static func ranksAbove(_ a: SupersededWrite, _ b: SupersededWrite) -> Bool {
        a.rank != b.rank ? a.rank > b.rank : a.writeID > b.writeID
    }
}

/// Why a superseded set breaks its invariants.
public enum SupersededError: Error, Equatable, Sendable {
    case zeroWriteID
    case notSorted(UInt64)
    case tooMany(Int)
}

/// The bounded set of write ids a key's local writes superseded (the file comment).
public struct SupersededWrites: Hashable, Sendable {
    /// Most entries kept (the section's count is bounded by it on decode too).
    public static let limit = 8

    /// Sorted by write id; see the invariants at the top of the file.
    public private(set) var entries: [SupersededWrite]

    public init() { entries = [] }

    /// Entries in any order; ids repeated keep their highest rank; only the top `limit` stay.
    public init(_ entries: [SupersededWrite]) {
        self.entries = SupersededWrites.normalized(entries)
    }

    /// Entries already known to satisfy the invariants (the decoder validates after).
    init(uncheckedSorted entries: [SupersededWrite]) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    public func contains(_ writeID: UInt64) -> Bool {
        writeID != 0 && entries.contains { $0.writeID == writeID }
    }

    /// The union of both sets, per id the highest rank, the top `limit` kept.
    public func merged(with other: SupersededWrites) -> SupersededWrites {
        if other.entries.isEmpty || other == self { return self }
        if entries.isEmpty { return other }
        return SupersededWrites(entries + other.entries)
    }

    /// This set with the nonzero `writeIDs` added, each superseded by a write of `rank`.
    func adding(_ writeIDs: [UInt64], rank: UInt64) -> SupersededWrites {
        let added = writeIDs.filter { $0 != 0 }
        if added.isEmpty { return self }
        return SupersededWrites(entries + added.map { SupersededWrite(writeID: $0, rank: rank) })
    }

    public func validate() throws(SupersededError) {
        if entries.count > SupersededWrites.limit { throw .tooMany(entries.count) }
        for (i, e) in entries.enumerated() {
            if e.writeID == 0 { throw .zeroWriteID }
            if i > 0 && entries[i - 1].writeID >= e.writeID { throw .notSorted(e.writeID) }
        }
    }

    private static func normalized(_ all: [SupersededWrite]) -> [SupersededWrite] {
        var best: [UInt64: UInt64] = [:]
        for e in all where e.writeID != 0 { best[e.writeID] = max(best[e.writeID] ?? 0, e.rank) }
        var out = best.map { SupersededWrite(writeID: $0.key, rank: $0.value) }
        if out.count > limit {
            out.sort(by: SupersededWrite.ranksAbove)
            out.removeLast(out.count - limit)
        }
        out.sort { $0.writeID < $1.writeID }
        return out
    }
}

extension VersionVector {
    /// The saturating sum of the counters: larger for every causal successor of a context
    /// (it covers more), so it orders supersessions along a causal chain.
    var causalRank: UInt64 {
        var sum: UInt64 = 0
        for e in entries {
            let (s, overflow) = sum.addingReportingOverflow(e.counter)
            sum = overflow ? UInt64.max : s
        }
        return sum
    }
}
