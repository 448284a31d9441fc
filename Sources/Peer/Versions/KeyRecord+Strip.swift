// Records without their values, for SCAN chunks (PROTOCOL.md, "SCAN"): a scan only needs to
// know whether the merge of the replicas' records of a key is absent, and that depends on
// dots, contexts, timestamps and tombstones, never on the value bytes. Stripping keeps
// every one of those and empties each value, so
//   merge(strip(a), strip(b)).isAbsent(atMs: t) == merge(a, b).isAbsent(atMs: t)
// for any two records of one key (ScanChunkTests holds it to that): merge keeps or drops a
// sibling by its dot and the other side's context only; an empty value is still a value,
// never a tombstone; LWW compares timestamps, which are kept. Write ids are kept too: merge
// folds siblings that share one, and such siblings are the same write (both values or both
// tombstones). Expiry times are kept: whether a value has expired decides absence too.

extension KeyRecord {
    /// The same record with every value emptied: same dots, context, tombstones and
    /// (LWW) timestamp.
    public func strippedOfValues() -> KeyRecord {
        switch self {
        case .siblings(let s):
            let siblings = s.siblings.map { sib in
                sib.value.isTombstone ? sib : Sibling(dot: sib.dot, value: .value([]), writeID: sib.writeID, expiresAtMs: sib.expiresAtMs)
            }
            // Same dots in the same order under the same context: the invariants still hold.
            // The superseded ids stay: merge drops siblings by them.
            return .siblings(KeyState(uncheckedContext: s.context, siblings: siblings, counter: s.counter, superseded: s.superseded))
        case .lww(let l):
            var stripped = LWWKeyState(timestamp: l.timestamp, value: l.value.isTombstone ? .tombstone : .value([]), expiresAtMs: l.expiresAtMs)
            // A tombstone with increments on top is present: the counter decides absence too.
            (stripped.counter, stripped.mark) = (l.counter, l.mark)
            return .lww(stripped)
        }
    }
}
