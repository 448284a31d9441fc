// What the read coordinator needs from a key's state: a merge and a staleness test. The
// Peer layer's KeyState (dotted version vector set, docs/VERSIONS.md) conforms in the node layer;
// the coordinator stays generic so it is tested with tiny fake states.

/// A replica's state of one key that the read coordinator can merge and compare.
public protocol QuorumMergeable: Sendable {
    /// Merge two replicas' states of the same key. Must be commutative, associative and
    /// idempotent (docs/VERSIONS.md, "Merge"), so the order replies arrive in does not matter.
    static func merge(_ a: Self, _ b: Self) -> Self

    /// True when a replica holding `self` needs no repair to hold `merged`, i.e. merging
    /// `merged` into it would change nothing. Called with `merged` = the merge of all replies.
    func isEquivalent(to merged: Self) -> Bool
}
