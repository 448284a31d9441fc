// docs/VERSIONS.md, "Write": write and delete at replica r.
//
//   c = client context, or r's own context for a write without one (SET, DEL);
//   drop every local sibling whose dot c covers; take dot (r, n) with n from the node-wide
//   counter; context = merge(context, c); context[r] = n; add (dot, value).
//
// Refusals, checked before a counter is drawn (so a refused write costs nothing):
//   * sibling limit — a write that names nothing it has seen (no context, or an empty one)
//     is refused when the key already holds more siblings than the limit, or would after
//     the write. A write without a context supersedes everything this replica holds, so it
//     can only meet the first case: a blind SET must not silently discard a conflict that
//     large; the client resolves it with GETV/PUTV. A PUTV with an empty context adds a
//     sibling, so it meets the second. A write with a non-empty context is always accepted.
// A retried client write (`writeID` nonzero and already held by a sibling here) changes
// nothing and answers `.written` with that sibling's dot: the retry is idempotent. One whose
// id the state records as superseded (a late retry or a duplicate forward of a write a later
// write already replaced) changes nothing either and answers `.alreadySuperseded`: it was
// applied, and superseded; versioning it again would bring the old value back over the newer.
// A write records the nonzero ids of the siblings it drops in `superseded`, ranked by its
// context (SupersededWrites.swift).
// and after the counter is drawn (n must be above every dot of r this key has seen):
//   * `counterBehind` — this replica's own state has a dot of r at or past n: the node's
//     counter went backwards (lost lease); the node must advance its lease and retry;
//   * `contextAhead` — the client context claims a dot of r at or past n, which r never
//     handed out: the context is forged or from another cluster; reply `-ERR bad context`.

/// The result of a write at one replica.
public enum WriteOutcome: Equatable, Sendable {
    /// Applied; the new sibling's dot.
    case written(Dot)
    /// Not applied: this write id was applied before and a later write superseded it, so
    /// the write is done. Answer as for `.written`; the state is unchanged.
    case alreadySuperseded
    /// Refused: too many siblings for a write without a context. Reply with an error that
    /// says to read with GETV and resolve with PUTV.
    case refusedSiblingLimit(siblings: Int, limit: Int)
    /// Refused: the client context has seen `claimed`, a dot of this node newer than any it
    /// has handed out. Reply `-ERR bad context`.
    case refusedContextAhead(claimed: Dot)
    /// Refused: this replica already holds a dot of its own at `highestSeen` >= the counter
    /// it was given. Advance the counter lease past `highestSeen` and retry.
    case counterBehind(highestSeen: UInt64)
}

extension KeyState {
    /// Writes `value` (or a tombstone) at `replica`, which must be the local node.
    /// - Parameters:
    ///   - context: the client's context; nil for a write without one (SET, DEL), which
    ///     uses this replica's own context. An empty vector (PUTV with "") has seen nothing.
    ///   - siblingLimit: the namespace's limit (see the file comment).
    ///   - nextCounter: draws the node-wide counter; called only if the write passes the
    ///     sibling limit. Its error, if any, is rethrown with the state unchanged.
    public mutating func write<E: Error>(
        at replica: NodeID,
        context clientContext: VersionVector?,
        value: SiblingValue,
        siblingLimit: Int = VersionFormat.defaultSiblingLimit,
        writeID: UInt64 = 0,
        expiresAtMs: UInt64 = 0,
        nextCounter: () throws(E) -> UInt64
    ) throws(E) -> WriteOutcome {
        if writeID != 0, let same = siblings.first(where: { $0.writeID == writeID }) { return .written(same.dot) }
        if superseded.contains(writeID) { return .alreadySuperseded }
        let c = clientContext ?? context
        let kept = siblings.filter { !c.covers($0.dot) }
        if clientContext?.isEmpty ?? true {
            let largest = max(siblings.count, kept.count + 1)
            if largest > siblingLimit { return .refusedSiblingLimit(siblings: largest, limit: siblingLimit) }
        }
        let n = try nextCounter()
        if context[replica] >= n { return .counterBehind(highestSeen: context[replica]) }
        if let cc = clientContext, cc[replica] >= n { return .refusedContextAhead(claimed: Dot(actor: replica, counter: cc[replica])) }

        let dot = Dot(actor: replica, counter: n)
        var newContext = context.merged(with: c)
        newContext[replica] = n
        var newSiblings = kept
        // Keep siblings sorted: insert after every dot that orders before the new one.
        let at = newSiblings.firstIndex { dot < $0.dot } ?? newSiblings.endIndex
        newSiblings.insert(Sibling(dot: dot, value: value, writeID: writeID, expiresAtMs: expiresAtMs), at: at)
        let dropped = siblings.compactMap { $0.writeID != 0 && c.covers($0.dot) ? $0.writeID : nil }
        self = KeyState(uncheckedContext: newContext, siblings: newSiblings, counter: counter.assigning(dot, keeping: newSiblings),
                        superseded: superseded.adding(dropped, rank: newContext.causalRank))
        return .written(dot)
    }

    /// The non-mutating form: the state after the write and the outcome (the state is
    /// unchanged unless the outcome is `.written`).
    public func writing<E: Error>(
        at replica: NodeID,
        context clientContext: VersionVector?,
        value: SiblingValue,
        siblingLimit: Int = VersionFormat.defaultSiblingLimit,
        writeID: UInt64 = 0,
        expiresAtMs: UInt64 = 0,
        nextCounter: () throws(E) -> UInt64
    ) throws(E) -> (state: KeyState, outcome: WriteOutcome) {
        var s = self
        let outcome = try s.write(at: replica, context: clientContext, value: value, siblingLimit: siblingLimit,
                                  writeID: writeID, expiresAtMs: expiresAtMs, nextCounter: nextCounter)
        return (s, outcome)
    }

    /// A delete: a write of a tombstone (docs/VERSIONS.md, "Write").
    public mutating func delete<E: Error>(
        at replica: NodeID,
        context clientContext: VersionVector?,
        siblingLimit: Int = VersionFormat.defaultSiblingLimit,
        nextCounter: () throws(E) -> UInt64
    ) throws(E) -> WriteOutcome {
        try write(at: replica, context: clientContext, value: .tombstone,
                  siblingLimit: siblingLimit, nextCounter: nextCounter)
    }
}
