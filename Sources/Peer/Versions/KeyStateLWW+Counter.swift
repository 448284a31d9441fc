// docs/VERSIONS.md, "Counters", in an lww namespace. The key's entries merge per node (the
// entry with more increments applied) whatever the timestamps say, so no increment is lost
// to a later write; the value with the highest timestamp is the base, and the increments
// its write had not seen (its mark) are added on top:
//   * a decimal integer value reads `value + (now - seen)`; any other value as written;
//   * a tombstone reads as `now - seen` when some increment is unseen by it; else absent.
// INCR takes a timestamp above the stored one (like SET), adds delta to this node's entry,
// and writes the new decimal value marked with the new sum as seen. Concurrent INCRs
// through different coordinators all count: whichever value wins, the other's increment is
// in an entry it had not seen. A SET concurrent with an INCR is the base if its timestamp
// is the later; otherwise the INCR's value is (last writer wins), and every increment counts.

extension LWWKeyState {
    /// `value` (the stored one, or a tombstone once it expired) with the counter's unseen
    /// increments on top, or nil when absent.
    func counterRead(_ value: SiblingValue) -> [UInt8]? {
        let now = counter.sum, seen = mark?.seen.sum ?? .zero
        switch value {
        case .value(let bytes): return CounterRead.onTop(bytes, seen: seen, now: now)
        case .tombstone: return now.applied != seen.applied ? CounterRead.decimal(now.total &- seen.total) : nil
        }
    }

    /// This write (a SET or DEL with its new timestamp) made over `existing`: it keeps the
    /// counter's entries and records that it has seen all of them.
    public func assigned(over existing: LWWKeyState?) -> LWWKeyState {
        guard let existing, !existing.counter.isEmpty else { return self }
        var s = self
        s.counter = existing.counter
        s.mark = CounterMark(kind: .assigned, seen: existing.counter)
        return s
    }

    /// INCRBY `delta` at `node` over `existing`, with `timestamp` above its timestamp: the
    /// new state and the value it reads, or why the increment is refused.
    /// `newEpoch` is drawn only when `node` has no entry of its own yet (CounterEntries.swift).
    /// `nowMs` as in `KeyState.increment`: the new value keeps a live value's expiry.
    public static func incremented<E: Error>(by delta: Int64, at node: NodeID, over existing: LWWKeyState?, timestamp: HLCTimestamp,
                                             nowMs: UInt64 = 0,
                                             newEpoch: () throws(E) -> UInt64) throws(E) -> Result<(state: LWWKeyState, value: Int64), CounterRefusal> {
        let current: Int64
        let read = existing?.read(atMs: nowMs)
        let keptExpiry = read != nil && existing?.value.isTombstone == false ? existing?.expiresAtMs ?? 0 : 0
        switch CounterRead.integer(read.map { [$0] } ?? []) {
        case .success(let v): current = v
        case .failure(let refusal): return .failure(refusal)
        }
        let base = existing?.counter ?? CounterEntries()
        let (next, overflow) = current.addingReportingOverflow(delta)
        guard !overflow, base.canAdd(delta, at: node) else { return .failure(.overflow) }
        let epoch = base[node] == nil ? try newEpoch() : 0
        guard let entries = base.adding(delta, at: node, newEpoch: epoch) else { return .failure(.overflow) }
        var s = LWWKeyState(timestamp: timestamp, value: .value(CounterRead.decimal(next)), expiresAtMs: keptExpiry)
        s.counter = entries
        s.mark = CounterMark(kind: .incremented, seen: entries)
        return .success((s, next))
    }
}
