// VERSIONS.md operation 2: merge two states of the same key.
//
// Keep a sibling of A if B has the same dot or B's context does not cover it; likewise for
// B; context = pointwise max. Both sibling lists are sorted by dot, so this is one linear
// merge-join and the result is sorted too. Commutative, associative and idempotent
// (DVVPropertyTests holds it to that).

extension KeyState {
    /// The merge of two replicas' states of one key.
    public func merged(with other: KeyState) -> KeyState {
        let a = siblings, b = other.siblings
        var out: [Sibling] = []
        out.reserveCapacity(max(a.count, b.count))
        var i = 0, j = 0
        while i < a.count || j < b.count {
            let c = i == a.count ? 1 : (j == b.count ? -1 : Dot.compare(a[i].dot, b[j].dot))
            if c < 0 {
                if !other.context.covers(a[i].dot) { out.append(a[i]) }
                i += 1
            } else if c > 0 {
                if !context.covers(b[j].dot) { out.append(b[j]) }
                j += 1
            } else {
                // Same dot on both sides: the same write (counters never repeat). Should the
                // payloads differ anyway, pick one by a total order so merge stays commutative.
                let v = a[i].value == b[j].value ? a[i].value : SiblingValue.deterministicMax(a[i].value, b[j].value)
                out.append(Sibling(dot: a[i].dot, value: v))
                i += 1; j += 1
            }
        }
        return KeyState(uncheckedContext: context.merged(with: other.context), siblings: out)
    }

    public mutating func merge(_ other: KeyState) { self = merged(with: other) }

    /// Whether this state has seen everything `other` holds: merging `other` in changes
    /// nothing. Read repair uses it to find stale replicas.
    public func descends(_ other: KeyState) -> Bool { merged(with: other) == self }
}
