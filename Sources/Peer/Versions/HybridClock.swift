// Hybrid logical clocks (Kulkarni et al., 2014) for `lww` namespaces (docs/VERSIONS.md).
//
// A timestamp is (physicalMs, logical, node). The clock never goes backwards on one node
// and moves past every timestamp it observes, so a write made after seeing another write
// always sorts after it, whatever the wall clocks say. Pure: the wall clock is an input
// (`wallMs`: Unix-epoch milliseconds from `WallClock`, never a since-boot clock), never
// read here.
//
// Limits: counters saturate instead of trapping, so a hostile timestamp at the top of the
// range pins the clock there rather than crashing the node. A remote timestamp more than
// --max-clock-offset ahead of the local wall clock is never adopted (`stamp(after:)`,
// `observeIfPlausible`): one broken clock cannot drag the cluster's clocks into the future.
// Across a restart, pass the last persisted timestamp as `floor` if the wall clock may
// have gone backwards.

/// A hybrid logical clock timestamp; ordered by (physicalMs, logical, node bytes).
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let physicalMs: UInt64
    public let logical: UInt32
    public let node: NodeID

    public init(physicalMs: UInt64, logical: UInt32, node: NodeID) {
        self.physicalMs = physicalMs
        self.logical = logical
        self.node = node
    }

    public static func < (a: HLCTimestamp, b: HLCTimestamp) -> Bool {
        if a.physicalMs != b.physicalMs { return a.physicalMs < b.physicalMs }
        if a.logical != b.logical { return a.logical < b.logical }
        return a.node < b.node
    }

    public var description: String { "\(physicalMs).\(logical)@\(node)" }
}

/// One node's hybrid logical clock.
public struct HybridClock: Sendable {
    public let node: NodeID
    public private(set) var lastPhysicalMs: UInt64
    public private(set) var lastLogical: UInt32

    /// A clock for `node` that will only issue timestamps above `floor` (if given).
    public init(node: NodeID, floor: HLCTimestamp? = nil) {
        self.node = node
        lastPhysicalMs = floor?.physicalMs ?? 0
        lastLogical = floor?.logical ?? 0
    }

    /// The last timestamp issued (or the floor).
    public var last: HLCTimestamp { HLCTimestamp(physicalMs: lastPhysicalMs, logical: lastLogical, node: node) }

    /// A timestamp for a local event (a write): above every earlier one from this clock.
    public mutating func now(wallMs: UInt64) -> HLCTimestamp {
        if wallMs > lastPhysicalMs {
            set(wallMs, 0)
        } else {
            bump(lastPhysicalMs, lastLogical)
        }
        return last
    }

    /// Takes in a timestamp received from elsewhere (a replicated or stored write) and
    /// returns a timestamp for this event, above both `remote` and everything issued before.
    @discardableResult
    public mutating func observe(remote: HLCTimestamp, wallMs: UInt64) -> HLCTimestamp {
        let p = max(lastPhysicalMs, remote.physicalMs, wallMs)
        if p == lastPhysicalMs && p == remote.physicalMs {
            bump(p, max(lastLogical, remote.logical))
        } else if p == lastPhysicalMs {
            bump(p, lastLogical)
        } else if p == remote.physicalMs {
            bump(p, remote.logical)
        } else {
            set(p, 0)
        }
        return last
    }

    /// A timestamp for a local write over a stored version stamped `existing` (nil: none):
    /// above `existing` and everything issued before. An `existing` more than `maxAheadMs`
    /// ahead of `wallMs` (a peer whose clock runs far ahead) is not adopted: the write gets
    /// the smallest timestamp above it, so it still wins over what its coordinator saw,
    /// while this clock keeps following the local wall clock (SPEC 6, "Clocks").
    public mutating func stamp(after existing: HLCTimestamp?, wallMs: UInt64, maxAheadMs: UInt64) -> HLCTimestamp {
        guard let existing else { return now(wallMs: wallMs) }
        if HybridClock.isPlausible(existing, wallMs: wallMs, maxAheadMs: maxAheadMs) {
            return observe(remote: existing, wallMs: wallMs)
        }
        _ = now(wallMs: wallMs)
        if existing.logical < UInt32.max {
            return HLCTimestamp(physicalMs: existing.physicalMs, logical: existing.logical + 1, node: node)
        }
        return HLCTimestamp(physicalMs: existing.physicalMs == .max ? .max : existing.physicalMs + 1, logical: 0, node: node)
    }

    /// Takes in a received timestamp only when it is plausible (at most `maxAheadMs` ahead
    /// of `wallMs`); false when it was ignored.
    @discardableResult
    public mutating func observeIfPlausible(_ remote: HLCTimestamp, wallMs: UInt64, maxAheadMs: UInt64) -> Bool {
        guard HybridClock.isPlausible(remote, wallMs: wallMs, maxAheadMs: maxAheadMs) else { return false }
        observe(remote: remote, wallMs: wallMs)
        return true
    }

    /// Whether `remote` is at most `maxAheadMs` ahead of the local wall clock; a node
    /// drops (and counts) timestamps that are not, so one broken clock cannot drag the
    /// cluster's clocks into the far future.
    public static func isPlausible(_ remote: HLCTimestamp, wallMs: UInt64, maxAheadMs: UInt64) -> Bool {
        let (limit, overflow) = wallMs.addingReportingOverflow(maxAheadMs)
        return overflow || remote.physicalMs <= limit
    }

    /// Sets (p, l+1), carrying into the physical part when the logical part is full;
    /// saturates at the top of the range rather than trapping.
    private mutating func bump(_ p: UInt64, _ l: UInt32) {
        if l < UInt32.max {
            set(p, l + 1)
        } else if p < UInt64.max {
            set(p + 1, 0)
        } else {
            set(p, l)
        }
    }

    private mutating func set(_ p: UInt64, _ l: UInt32) {
        lastPhysicalMs = p
        lastLogical = l
    }
}
