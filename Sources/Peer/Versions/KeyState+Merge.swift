// docs/VERSIONS.md, "Merge": merge two states of the same key.
//
// Keep a sibling of A if B has the same dot or B's context does not cover it; likewise for
// B; context = pointwise max. Both sibling lists are sorted by dot, so this is one linear
// merge-join and the result is sorted too. Commutative, associative and idempotent
// (DVVPropertyTests holds it to that).
//
// Retried writes: one client write that two coordinators applied (a forward timed out and
// the next primary coordinated it too) has one write id under two dots. Of the siblings
// that survive the merge-join, only the one with the lowest dot is kept per nonzero write
// id; the context still covers both dots, so the other cannot come back from a stale copy.
// Siblings without an id (0) are never folded.
//
// Superseded copies: a later write that covered one copy of a retried write but not the
// other recorded the id in its state's superseded set (SupersededWrites.swift). The merged
// set is the union of both (bounded, top-k), and every surviving sibling whose id it holds
// is dropped, so the other copy cannot come back as a sibling of the later write
// (docs/FAULTS.md, "Two copies of one write"). Merge is commutative, associative and
// idempotent with this (KeyStateSupersededPropertyTests), as long as no id the drop relied
// on was evicted from a full set; then a superseded copy may survive as a sibling, as any
// concurrent write would.

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
                let x = a[i], y = b[j]
                let v = x.value == y.value ? x.value : SiblingValue.deterministicMax(x.value, y.value)
                let expiry = x.value == y.value ? max(x.expiresAtMs, y.expiresAtMs) : (v == x.value ? x.expiresAtMs : y.expiresAtMs)
                out.append(Sibling(dot: x.dot, value: v, writeID: max(x.writeID, y.writeID), expiresAtMs: expiry))
                i += 1; j += 1
            }
        }
        let superseded = self.superseded.merged(with: other.superseded)
        var kept = KeyState.foldingRetries(out)
        if !superseded.isEmpty { kept.removeAll { superseded.contains($0.writeID) } }
        return KeyState(uncheckedContext: context.merged(with: other.context), siblings: kept,
                        counter: counter.merged(with: other.counter, keeping: kept), superseded: superseded)
    }

    /// Drops every sibling whose nonzero write id an earlier (lower-dot) sibling already has.
    /// Sibling lists are a handful long; the common case (no ids, or one sibling) copies nothing.
    static func foldingRetries(_ siblings: [Sibling]) -> [Sibling] {
        guard siblings.count > 1, siblings.contains(where: { $0.writeID != 0 }) else { return siblings }
        var out: [Sibling] = []
        out.reserveCapacity(siblings.count)
        for s in siblings where s.writeID == 0 || !out.contains(where: { $0.writeID == s.writeID }) {
            out.append(s)
        }
        return out
    }

    public mutating func merge(_ other: KeyState) { self = merged(with: other) }

    /// Whether this state has seen everything `other` holds: merging `other` in changes
    /// nothing. Read repair uses it to find stale replicas.
    public func descends(_ other: KeyState) -> Bool { merged(with: other) == self }
}
