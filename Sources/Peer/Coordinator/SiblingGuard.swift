// The sibling limit on writes that carry a context (issue 14). SPEC 3 accepts a write with
// a context past the limit because "it can only shrink the set" — true only when the
// context covers at least one sibling. A PUTV whose context covers none of them (a stale
// or made-up context) adds one each time, so it once bypassed the limit without bound.
// Such a write is refused like a blind SET; a write that covers any sibling never grows
// the set and is always accepted.

extension KeyState {
    /// The refusal for a write with `context` that would grow the key past `limit`, nil
    /// when it is acceptable.
    func growthRefusal(context: VersionVector, limit: Int) -> String? {
        let kept = siblings.reduce(0) { $0 + (context.covers($1.dot) ? 0 : 1) }
        guard kept + 1 > limit, kept + 1 > siblings.count else { return nil }
        return "ERR key has \(siblings.count) siblings (limit \(limit)) and the context covers none of them: read them with GETV and resolve with PUTV"
    }
}
