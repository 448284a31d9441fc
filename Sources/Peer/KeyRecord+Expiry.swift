// Expiry as reads see it (docs/VERSIONS.md, "Expiry"). An expiry is part of the version it
// was written with: a value with `expiresAtMs <= now` reads exactly like a tombstone, and
// nothing else changes — merge, digests and contexts treat it as the ordinary sibling it
// is. So an expired version supersedes, by causality, every older version its write had
// seen: a stale replica's older unexpired copy is dropped on merge (its dot is covered),
// and it can never come back through repair, hints or handoff.
//
// The bytes are reclaimed like a tombstone's (LocalReplica+Trees, "reap"): a record all of
// whose siblings are tombstones or expiring values is timed in the tombstone index at the
// moment it becomes absent for good (`absentFromMs`), and reaped only after every primary
// confirmed it and the grace passed from that moment.

/// A value that reads as present at some instant, with its expiry (0: none).
public struct LiveValue: Equatable, Sendable {
    public let bytes: [UInt8]
    public let expiresAtMs: UInt64
}

extension Sibling {
    /// True when this sibling reads as absent at `nowMs`: a tombstone, or an expired value.
    public func isAbsent(atMs nowMs: UInt64) -> Bool {
        value.isTombstone || (expiresAtMs != 0 && expiresAtMs <= nowMs)
    }
}

extension KeyState {
    /// The read at `nowMs`: expired values count as tombstones.
    public func read(atMs nowMs: UInt64) -> KeyRead {
        var values: [[UInt8]] = []
        for s in siblings where !s.isAbsent(atMs: nowMs) {
            if case .value(let v) = s.value { values.append(v) }
        }
        return KeyRead(context: context, values: values, tombstones: siblings.count - values.count)
    }

    /// The values present at `nowMs`, in dot order.
    public func live(atMs nowMs: UInt64) -> [LiveValue] {
        siblings.compactMap { s in
            guard !s.isAbsent(atMs: nowMs), case .value(let v) = s.value else { return nil }
            return LiveValue(bytes: v, expiresAtMs: s.expiresAtMs)
        }
    }

    /// When the key becomes absent for good: 0 if every sibling is a tombstone, the latest
    /// expiry if every value expires, nil if some value never does.
    public var absentFromMs: UInt64? {
        var latest: UInt64 = 0
        for s in siblings where !s.value.isTombstone {
            guard s.expiresAtMs != 0 else { return nil }
            latest = max(latest, s.expiresAtMs)
        }
        return latest
    }
}

extension LWWKeyState {
    /// True when the value is a tombstone or has expired at `nowMs`.
    public func isAbsent(atMs nowMs: UInt64) -> Bool {
        value.isTombstone || (expiresAtMs != 0 && expiresAtMs <= nowMs)
    }

    /// The value present at `nowMs`, or nil.
    public func read(atMs nowMs: UInt64) -> [UInt8]? { isAbsent(atMs: nowMs) ? nil : value.bytes }

    /// 0 for a tombstone, the expiry for an expiring value, nil for a value that never expires.
    public var absentFromMs: UInt64? {
        if value.isTombstone { return 0 }
        return expiresAtMs == 0 ? nil : expiresAtMs
    }
}

extension KeyRecord {
    /// True when the key reads as absent at `nowMs` (no value that is neither deleted nor expired).
    public func isAbsent(atMs nowMs: UInt64) -> Bool {
        switch self {
        case .siblings(let s): return s.siblings.allSatisfy { $0.isAbsent(atMs: nowMs) }
        case .lww(let l): return l.isAbsent(atMs: nowMs)
        }
    }

    /// The values present at `nowMs` (at most one in an lww namespace).
    public func live(atMs nowMs: UInt64) -> [LiveValue] {
        switch self {
        case .siblings(let s): return s.live(atMs: nowMs)
        case .lww(let l): return l.read(atMs: nowMs).map { [LiveValue(bytes: $0, expiresAtMs: l.expiresAtMs)] } ?? []
        }
    }

    /// When the record becomes absent for good (see `KeyState.absentFromMs`); nil if never.
    public var absentFromMs: UInt64? {
        switch self {
        case .siblings(let s): return s.absentFromMs
        case .lww(let l): return l.absentFromMs
        }
    }
}
