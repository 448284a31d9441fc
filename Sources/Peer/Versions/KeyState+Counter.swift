// docs/VERSIONS.md, "Counters": how a siblings-mode key with a counter reads, and INCR at
// its coordinator.
//
// Read (`readSiblings`), with `now` the sum of the key's entries and each sibling's mark
// saying what its write had seen (`seen`, the entries its coordinator held):
//   * if some sibling is an assignment (SET, DEL, PUTV; a sibling without a mark is one),
//     the increment siblings are ignored: an assignment concurrent with an INCR replaces
//     the counter, and the increments NO assignment had seen are added on top (`unseen` =
//     now minus the pointwise max of every assignment's seen; an increment one of them saw
//     was replaced by it: observed-remove) —
//       - a value that is a decimal integer reads `value + unseen`; any other value reads
//         as written (an increment cannot apply to it);
//       - if every assignment is a tombstone, the key reads as `unseen` when some increment
//         is unseen by all of them (on the first tombstone in dot order); else absent;
//   * otherwise (only INCR siblings: concurrent increments) each reads
//     `value + (now - seen)`; siblings that read equal are one value. They all read equal
//     when they grew from one assignment, which is the only way concurrent INCRs arise
//     short of concurrent SETs.
// A sibling whose `seen` covers every entry reads exactly its stored bytes ("007" stays
// "007"), so a key that never held a counter reads as before.
//
// INCR at replica r (`increment`): read as above (a conflict, a non-integer or an overflow
// is refused before a counter is drawn); add delta to r's newest own entry (or start one
// whose epoch is the new dot's counter, CounterEntries.swift); write one sibling with
// the new decimal value, marked `incremented` with the new sum as seen, superseding every
// sibling r holds (context = r's context, like SET). Increments r has not seen, made
// elsewhere, stay as concurrent siblings and read on top after merge.

/// Why an increment was refused; each is a Redis error line.
public enum CounterRefusal: Error, Equatable, Sendable {
    case notInteger
    case overflow
    case conflict(siblings: Int)

    public var message: String {
        switch self {
        case .notInteger: return "ERR value is not an integer or out of range"
        case .overflow: return "ERR increment or decrement would overflow"
        case .conflict(let n): return "CONFLICT \(n) siblings, read them with GETV and resolve with PUTV before incrementing"
        }
    }
}

/// The result of an increment at one replica.
public enum IncrementOutcome: Equatable, Sendable {
    /// Applied: the new sibling's dot and the counter's value as this replica sees it.
    case incremented(Dot, value: Int64)
    /// Not applied: this write id was applied before and superseded since (as
    /// `WriteOutcome.alreadySuperseded`); the counter's value as this replica sees it.
    case alreadySuperseded(value: Int64)
    case refused(CounterRefusal)
    /// As `WriteOutcome.refusedSiblingLimit`.
    case refusedSiblingLimit(siblings: Int, limit: Int)
    /// As `WriteOutcome.counterBehind`.
    case counterBehind(highestSeen: UInt64)
}

enum CounterRead {
    /// Bytes of a value with the increments its write had not seen added on top.
    static func onTop(_ bytes: [UInt8], seen: CounterSum, now: CounterSum) -> [UInt8] {
        guard now.applied != seen.applied, let v = RedisInteger.parse(bytes) else { return bytes }
        return decimal(v &+ (now.total &- seen.total))
    }

    static func decimal(_ v: Int64) -> [UInt8] { Array(String(v).utf8) }

    /// The integer an INCR starts from, given the values a key reads as.
    static func integer(_ values: [[UInt8]]) -> Result<Int64, CounterRefusal> {
        guard let first = values.first else { return .success(0) }
        guard values.count == 1 else { return .failure(.conflict(siblings: values.count)) }
        guard let v = RedisInteger.parse(first) else { return .failure(.notInteger) }
        return .success(v)
    }
}

extension KeyState {
    /// The siblings as reads see them: `siblings` itself for a key that never held a
    /// counter, else with increments applied as the file comment says.
    public var readSiblings: [Sibling] { readSiblings(atMs: 0) }

    /// The siblings as a read at `nowMs` sees them: an expired value reads exactly as a
    /// tombstone of the same write (KeyRecord+Expiry.swift), so an expired assignment
    /// leaves only the increments it had not seen, and an expired increment (INCR keeps
    /// the key's expiry) leaves nothing. Values keep their expiry.
    public func readSiblings(atMs nowMs: UInt64) -> [Sibling] {
        var current = siblings
        if nowMs != 0, siblings.contains(where: { $0.expiresAtMs != 0 && $0.expiresAtMs <= nowMs }) {
            current = siblings.map { s in
                s.isAbsent(atMs: nowMs) && !s.value.isTombstone ? Sibling(dot: s.dot, value: .tombstone, writeID: s.writeID) : s
            }
        }
        guard !counter.isEmpty else { return current }
        let now = counter.entries.sum
        let assignments = current.filter { counter.mark($0.dot).kind == .assigned }
        var out: [Sibling] = []
        if !assignments.isEmpty {
            let seen = assignments.reduce(CounterEntries()) { $0.merged(with: counter.mark($1.dot).seen) }.sum
            var firstTombstone: Int?
            for s in assignments {
                guard case .value(let bytes) = s.value else {
                    if firstTombstone == nil { firstTombstone = out.count }
                    out.append(s)
                    continue
                }
                out.append(Sibling(dot: s.dot, value: .value(CounterRead.onTop(bytes, seen: seen, now: now)), writeID: s.writeID,
                                   expiresAtMs: s.expiresAtMs))
            }
            if let t = firstTombstone, !out.contains(where: { !$0.value.isTombstone }), now.applied != seen.applied {
                out[t] = Sibling(dot: out[t].dot, value: .value(CounterRead.decimal(now.total &- seen.total)), writeID: out[t].writeID)
            }
            return out
        }
        for s in current {
            guard case .value(let bytes) = s.value else { continue }
            let v = SiblingValue.value(CounterRead.onTop(bytes, seen: counter.mark(s.dot).seen.sum, now: now))
            if !out.contains(where: { $0.value == v }) { out.append(Sibling(dot: s.dot, value: v, writeID: s.writeID, expiresAtMs: s.expiresAtMs)) }
        }
        return out
    }

    /// The counter's value as this state reads at `nowMs`, or why INCR cannot start from it.
    public func counterValue(atMs nowMs: UInt64 = 0) -> Result<Int64, CounterRefusal> { CounterRead.integer(read(atMs: nowMs).values) }

    /// INCRBY `delta` at `replica`, which must be the local node (the file comment).
    /// A retried increment (`writeID` nonzero and already held here) changes nothing and
    /// answers the value now. `nowMs` is the wall clock expiries compare with (0: none has
    /// passed); the new value keeps the expiry of the value it increments, as Redis's INCR
    /// keeps a key's TTL, and an expired value counts as absent (the counter starts at 0).
    public mutating func increment<E: Error>(
        at replica: NodeID,
        by delta: Int64,
        siblingLimit: Int = VersionFormat.defaultSiblingLimit,
        writeID: UInt64 = 0,
        nowMs: UInt64 = 0,
        nextCounter: () throws(E) -> UInt64
    ) throws(E) -> IncrementOutcome {
        let current: Int64
        let live = live(atMs: nowMs)
        switch CounterRead.integer(live.map(\.bytes)) {
        case .success(let v): current = v
        case .failure(let refusal): return .refused(refusal)
        }
        if writeID != 0, let same = siblings.first(where: { $0.writeID == writeID }) { return .incremented(same.dot, value: current) }
        // Applied before and superseded since (KeyState+Write.swift): its entry is counted.
        if superseded.contains(writeID) { return .alreadySuperseded(value: current) }
        let (next, overflow) = current.addingReportingOverflow(delta)
        guard !overflow, counter.entries.canAdd(delta, at: replica) else { return .refused(.overflow) }
        if siblings.count > siblingLimit { return .refusedSiblingLimit(siblings: siblings.count, limit: siblingLimit) }
        let n = try nextCounter()
        if context[replica] >= n { return .counterBehind(highestSeen: context[replica]) }
        // A new entry's epoch is the dot's counter: node-wide, never used before.
        guard let entries = counter.entries.adding(delta, at: replica, newEpoch: n) else { return .refused(.overflow) }
        let dot = Dot(actor: replica, counter: n)
        var newContext = context
        newContext[replica] = n
        let sibling = Sibling(dot: dot, value: .value(CounterRead.decimal(next)), writeID: writeID, expiresAtMs: live.first?.expiresAtMs ?? 0)
        let mark = CounterMark(kind: .incremented, seen: entries)
        // Every sibling is superseded (context = r's own, like SET): their ids are recorded.
        self = KeyState(uncheckedContext: newContext, siblings: [sibling], counter: KeyCounter(entries: entries, marks: [dot: mark]),
                        superseded: superseded.adding(siblings.map(\.writeID), rank: newContext.causalRank))
        return .incremented(dot, value: next)
    }
}
