// The state of one key in an `lww` namespace (docs/VERSIONS.md, "Last-writer-wins
// namespaces"): one value or tombstone with the hybrid logical clock timestamp of its
// write. Merge keeps the highest (timestamp, node id); no siblings ever.
//
// A write observes the timestamp this replica already holds before taking its own, so a
// write always wins over every version its coordinator had seen, even when that version
// came from a node whose wall clock runs ahead. Replicas receiving a state should also
// `observe` its timestamp so their next writes sort after it.

/// A last-writer-wins key state.
public struct LWWKeyState: Hashable, Sendable {
    public let timestamp: HLCTimestamp
    public let value: SiblingValue
    /// Absolute expiry of the value, wall-clock ms since the Unix epoch (0: never; always 0
    /// on a tombstone). The expiry is part of the write: a later write replaces it.
    public let expiresAtMs: UInt64
    /// The key's PN-counter entries (empty unless it was ever incremented) and what this
    /// value's write had seen of them (nil: nothing). KeyStateLWW+Counter.swift.
    public internal(set) var counter = CounterEntries()
    public internal(set) var mark: CounterMark?

    public init(timestamp: HLCTimestamp, value: SiblingValue, expiresAtMs: UInt64 = 0) {
        self.timestamp = timestamp
        self.value = value
        self.expiresAtMs = value.isTombstone ? 0 : expiresAtMs
    }

    /// A tombstone reads as absent (unless increments it had not seen are on top of it).
    public var isAbsent: Bool { read() == nil }

    /// The value, or nil if deleted (with a counter's unseen increments on top).
    public func read() -> [UInt8]? { read(atMs: 0) }

    /// The merge of two replicas' states: the later timestamp wins. Equal timestamps with
    /// different payloads (only possible through a bug) are settled by a total order on the
    /// payload so that merge stays commutative.
    public func merged(with other: LWWKeyState) -> LWWKeyState {
        // Increments are never lost to a later timestamp: entries merge on their own.
        if counter.isEmpty && other.counter.isEmpty { return winner(other) }
        var m = winner(other)
        m.counter = counter.merged(with: other.counter)
        return m
    }

    /// The later write of the two, by timestamp.
    private func winner(_ other: LWWKeyState) -> LWWKeyState {
        if timestamp != other.timestamp { return timestamp > other.timestamp ? self : other }
        if value != other.value { return SiblingValue.deterministicMax(value, other.value) == value ? self : other }
        if expiresAtMs != other.expiresAtMs { return expiresAtMs > other.expiresAtMs ? self : other }
        if mark == other.mark { return self }
        let (a, b) = (mark ?? .none, other.mark ?? .none)
        return CounterMark.deterministicMax(a, b) == a ? self : other
    }

    public mutating func merge(_ other: LWWKeyState) { self = merged(with: other) }

    /// A write (or, with `.tombstone`, a delete) at the local node over `existing`: the new
    /// state, whose timestamp is above `existing`'s.
    public static func written(_ value: SiblingValue, over existing: LWWKeyState?,
                               clock: inout HybridClock, wallMs: UInt64) -> LWWKeyState {
        let ts = existing.map { clock.observe(remote: $0.timestamp, wallMs: wallMs) } ?? clock.now(wallMs: wallMs)
        return LWWKeyState(timestamp: ts, value: value).assigned(over: existing)
    }
}
