// The state of one key on one replica in a `siblings` namespace: a dotted version vector
// set (Almeida et al., DAIS 2014; docs/VERSIONS.md). Pure value type, no I/O.
//
// Invariants (checked by `validate()`, which every decoder runs):
//   1. the context is canonical (sorted by actor, no zero counters);
//   2. siblings are sorted strictly by dot (actor bytes, then counter), so no two share a dot;
//   3. every sibling's dot is covered by the context;
//   4. no sibling's write id is one the state records as superseded (SupersededWrites.swift).
// Keeping siblings sorted makes equal states structurally equal, so `==`, encodings and
// digests agree on every replica.
//
// Operations: `write` (KeyState+Write.swift), `merge` (KeyState+Merge.swift), `read` and
// delete (a write of `.tombstone`).

/// A sibling's payload: a value, or a tombstone left by a delete.
public enum SiblingValue: Hashable, Sendable {
    case value([UInt8])
    case tombstone

    public var isTombstone: Bool { if case .tombstone = self { return true } else { return false } }

    public var bytes: [UInt8]? { if case .value(let b) = self { return b } else { return nil } }

    /// A total order used only to pick deterministically between two different payloads
    /// under one dot, which happens only if a counter was reused (a bug elsewhere); it keeps
    /// merge commutative even then. Tombstone < any value; values by bytes.
    static func deterministicMax(_ a: SiblingValue, _ b: SiblingValue) -> SiblingValue {
        switch (a, b) {
        case (.tombstone, _): return b
        case (_, .tombstone): return a
        case (.value(let x), .value(let y)): return x.lexicographicallyPrecedes(y) ? b : a
        }
    }
}

/// One version of a key: the write's dot, its value or tombstone, the client write it
/// came from, and when the value expires.
public struct Sibling: Hashable, Sendable {
    public let dot: Dot
    public let value: SiblingValue
    /// The id of the client write (0: none). A forwarded write that a silent coordinator
    /// applied and a second coordinator applied again carries one id under two dots; merge
    /// keeps one of them (KeyState+Merge.swift), so a retry never shows as two siblings.
    public let writeID: UInt64
    /// Absolute expiry, wall-clock ms since the Unix epoch (0: never). From then on the
    /// sibling reads as absent (KeyState+Expiry.swift). Always 0 on a tombstone, so each
    /// state has one encoding.
    public let expiresAtMs: UInt64
    public init(dot: Dot, value: SiblingValue, writeID: UInt64 = 0, expiresAtMs: UInt64 = 0) {
        self.dot = dot
        self.value = value
        self.writeID = writeID
        self.expiresAtMs = value.isTombstone ? 0 : expiresAtMs
    }
}

/// Why a key state breaks the invariants above.
public enum KeyStateError: Error, Equatable, Sendable {
    case contextNotCanonical
    case siblingsNotSorted(Dot)
    case duplicateDot(Dot)
    case siblingNotCovered(Dot)
    /// A sibling carries a write id the state's superseded set holds (merge would drop it).
    case supersededSibling(Dot)
}

/// What a read of one replica's (or a merged) state returns.
public struct KeyRead: Equatable, Sendable {
    /// What the client sends back with PUTV/DELV to say "I have seen all of this".
    public let context: VersionVector
    /// The values of the non-tombstone siblings, in dot order.
    public let values: [[UInt8]]
    /// How many siblings are tombstones.
    public let tombstones: Int

    /// True when every sibling is a tombstone (or there are none): the key reads as absent,
    /// but `context` must still be kept and returned — it is what stops an old value from
    /// coming back.
    public var isAbsent: Bool { values.isEmpty }
}

/// A key's dotted version vector set: the causal context and the concurrent siblings.
public struct KeyState: Hashable, Sendable {
    public internal(set) var context: VersionVector
    /// Sorted by dot; see the invariants at the top of the file.
    public internal(set) var siblings: [Sibling]
    /// The key's PN-counter and its siblings' marks; empty unless the key was ever
    /// incremented (KeyCounter.swift, KeyState+Counter.swift).
    public internal(set) var counter = KeyCounter()
    /// The write ids of the siblings this key's writes superseded, bounded; empty unless a
    /// sibling with a write id (a forwarded write) was ever superseded (SupersededWrites.swift).
    public internal(set) var superseded = SupersededWrites()

    /// The state of a key never written on this replica.
    public init() {
        context = VersionVector()
        siblings = []
    }

    /// A state from parts; siblings may come in any order. Throws if the parts break an
    /// invariant (a duplicate dot, a dot the context does not cover).
    public init(context: VersionVector, siblings: [Sibling]) throws(KeyStateError) {
        self.context = context
        self.siblings = siblings.sorted { $0.dot < $1.dot }
        try validate()
    }

    /// Parts already known to satisfy the invariants.
    init(uncheckedContext context: VersionVector, siblings: [Sibling], counter: KeyCounter = KeyCounter(),
         superseded: SupersededWrites = SupersededWrites()) {
        self.context = context
        self.siblings = siblings
        self.counter = counter
        self.superseded = superseded
    }

    /// Checks the invariants; decoders call this and refuse a state that fails.
    public func validate() throws(KeyStateError) {
        guard context.isCanonical else { throw .contextNotCanonical }
        for (i, s) in siblings.enumerated() {
            if i > 0 {
                let prev = siblings[i - 1].dot
                if prev == s.dot { throw .duplicateDot(s.dot) }
                if !(prev < s.dot) { throw .siblingsNotSorted(s.dot) }
            }
            guard context.covers(s.dot) else { throw .siblingNotCovered(s.dot) }
            if superseded.contains(s.writeID) { throw .supersededSibling(s.dot) }
        }
    }

    /// True when every sibling is a tombstone or there are none (after a counter's
    /// increments: a tombstone with increments on top reads as their sum).
    public var isAbsent: Bool { isAbsent(atMs: 0) }

    /// True for a state that was never written (no context at all): nothing to store.
    public var isEmpty: Bool { siblings.isEmpty && context.isEmpty }

    public var dots: [Dot] { siblings.map(\.dot) }

    /// The siblings and the context (docs/VERSIONS.md, "Read"), no expiry counted as
    /// passed (`read(atMs:)`, KeyRecord+Expiry.swift, is what clients see).
    public func read() -> KeyRead { read(atMs: 0) }
}
