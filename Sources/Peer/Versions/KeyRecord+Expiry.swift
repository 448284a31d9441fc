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
    /// The read at `nowMs`: expired values count as tombstones (and a counter's increments
    /// apply on top, KeyState+Counter.swift).
    public func read(atMs nowMs: UInt64) -> KeyRead {
        var values: [[UInt8]] = []
        var tombstones = 0
        for s in readSiblings(atMs: nowMs) {
            switch s.value {
            case .value(let v): values.append(v)
            case .tombstone: tombstones += 1
            }
        }
        return KeyRead(context: context, values: values, tombstones: tombstones)
    }

    /// True when the key reads as absent at `nowMs`.
    public func isAbsent(atMs nowMs: UInt64) -> Bool { readSiblings(atMs: nowMs).allSatisfy { $0.value.isTombstone } }

    /// The values present at `nowMs`, in dot order.
    public func live(atMs nowMs: UInt64) -> [LiveValue] {
        readSiblings(atMs: nowMs).compactMap { s in
            guard case .value(let v) = s.value else { return nil }
            return LiveValue(bytes: v, expiresAtMs: s.expiresAtMs)
        }
    }

    /// When the key becomes absent for good: 0 if it reads as absent now with no expiry
    /// involved, the latest expiry if it reads absent once every value expired, nil if it
    /// never does (a value without an expiry, or a counter's increments no write had seen).
    public var absentFromMs: UInt64? {
        guard isAbsent(atMs: UInt64.max) else { return nil }
        return siblings.reduce(0) { max($0, $1.expiresAtMs) }
    }
}

extension LWWKeyState {
    /// True when the key reads as absent at `nowMs` (a tombstone or an expired value, with
    /// no unseen increments on top).
    public func isAbsent(atMs nowMs: UInt64) -> Bool { read(atMs: nowMs) == nil }

    /// The value present at `nowMs`, or nil. An expired value reads as a tombstone.
    public func read(atMs nowMs: UInt64) -> [UInt8]? {
        let expired = expiresAtMs != 0 && expiresAtMs <= nowMs
        let current: SiblingValue = expired ? .tombstone : value
        return counter.isEmpty ? current.bytes : counterRead(current)
    }

    /// 0 for a tombstone, the expiry for an expiring value, nil for a value that never
    /// expires (or a counter's unseen increments on top).
    public var absentFromMs: UInt64? { isAbsent(atMs: UInt64.max) ? expiresAtMs : nil }
}

extension KeyRecord {
    /// True when the key reads as absent at `nowMs` (no value that is neither deleted nor expired).
    public func isAbsent(atMs nowMs: UInt64) -> Bool {
        switch self {
        case .siblings(let s): return s.isAbsent(atMs: nowMs)
        case .lww(let l): return l.isAbsent(atMs: nowMs)
        }
    }

    /// The values present at `nowMs` (at most one in an lww namespace).
    public func live(atMs nowMs: UInt64) -> [LiveValue] {
        switch self {
        case .siblings(let s): return s.live(atMs: nowMs)
        case .lww(let l):
            // Past its expiry, what reads is the increments on top of it, which never expire.
            let expiry = l.expiresAtMs > nowMs ? l.expiresAtMs : 0
            return l.read(atMs: nowMs).map { [LiveValue(bytes: $0, expiresAtMs: expiry)] } ?? []
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
