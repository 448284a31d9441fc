// The node-wide dot counter, reserved in leases (docs/VERSIONS.md, "Counters never repeat").
//
// A dot must name one write forever, so the counter may never hand out a value twice, not
// even across a crash. Before handing out any counter up to L, the node durably records
// "counters up to L are taken" (an fsync through Storage); after a restart it starts above
// the recorded L. One fsync buys `leaseSize` counters; a crash wastes at most that many.
//
// Call order (pure state machine; the node does the I/O, one lease write at a time):
//   var lease = CounterLease(persistedLeasedUpTo: storedL)   // nil on a new data directory
//   switch lease.next() {
//   case .counter(let n):        use n
//   case .persist(let l):        durably store CounterLease.encodePersisted(l) under
//                                StorageKey.meta(name: StorageKey.counterLeaseName), then
//                                lease.didPersist(leasedUpTo: l) (or persistFailed()) and
//                                ask again
//   case .waitForPersist:        a lease write is in flight; ask again when it completes
//   }
//   if let l = lease.renewIfDue() { persist l off the write path, then didPersist(l) }
// At most one lease write is in flight and each asks for more than the one before, so
// the stored lease never goes backwards even if the node writes them asynchronously.

import Bytes
import Storage

/// Hands out node-wide dot counters, never beyond what has been durably leased.
public struct CounterLease: Sendable {
    public static let defaultLeaseSize: UInt64 = 10_000

    /// The outcome of asking for a counter.
    public enum Step: Equatable, Sendable {
        /// Use this counter.
        case counter(UInt64)
        /// No counter is left in the lease: durably record `leasedUpTo`, call
        /// `didPersist(leasedUpTo:)` (or `persistFailed()`), then ask again.
        case persist(leasedUpTo: UInt64)
        /// No counter is left and a lease write is already in flight: ask again after it.
        case waitForPersist
    }

    public let leaseSize: UInt64
    /// The highest counter handed out (or known taken); the next is above it.
    public private(set) var lastIssued: UInt64
    /// The durable bound: every counter up to it may have been handed out.
    public private(set) var leasedUpTo: UInt64
    /// The lease being written, if any.
    public private(set) var inFlight: UInt64?

    /// - Parameter persistedLeasedUpTo: the last durably recorded lease, or nil for a new
    ///   data directory (which must come with a new node id).
    public init(persistedLeasedUpTo: UInt64?, leaseSize: UInt64 = CounterLease.defaultLeaseSize) {
        precondition(leaseSize > 0, "lease size must be positive")
        self.leaseSize = leaseSize
        let l = persistedLeasedUpTo ?? 0
        lastIssued = l
        leasedUpTo = l
    }

    /// The next counter, or the lease the node must persist first.
    public mutating func next() -> Step {
        if lastIssued < leasedUpTo {
            lastIssued += 1
            return .counter(lastIssued)
        }
        if inFlight != nil { return .waitForPersist }
        let l = proposedLease
        guard l > leasedUpTo else { return .waitForPersist }  // the counter space is spent
        inFlight = l
        return .persist(leasedUpTo: l)
    }

    /// A lease to write now, off the write path, when less than a quarter of the current
    /// one is left and no write is in flight; nil otherwise.
    public mutating func renewIfDue() -> UInt64? {
        guard inFlight == nil, renewalDue else { return nil }
        let l = proposedLease
        guard l > leasedUpTo else { return nil }
        inFlight = l
        return l
    }

    /// The lease to persist next: `leaseSize` counters beyond the last one handed out.
    public var proposedLease: UInt64 {
        let (l, overflow) = lastIssued.addingReportingOverflow(leaseSize)
        return overflow ? UInt64.max : l
    }

    /// True when less than a quarter of the lease is left (see `renewIfDue`).
    public var renewalDue: Bool { lastIssued >= leasedUpTo || leasedUpTo - lastIssued < max(1, leaseSize / 4) }

    /// Records that `leasedUpTo` is durably stored. A smaller value than the current lease
    /// (a late confirmation) changes nothing.
    public mutating func didPersist(leasedUpTo l: UInt64) {
        leasedUpTo = max(leasedUpTo, l)
        if let f = inFlight, f <= l { inFlight = nil }
    }

    /// The in-flight lease write failed (or its outcome is unknown): nothing handed out
    /// depends on it; the next `next()` or `renewIfDue()` asks again (for at least as much).
    public mutating func persistFailed() {
        inFlight = nil
    }

    /// The end of the usable counter space. A node writing a million dots a second takes
    /// 146,000 years to reach it, so a counter above it in stored data cannot be one this
    /// node issued: it is poison (a forged context stored before contexts were checked), and
    /// `advance(past:)` refuses to jump there, which would spend the rest of the space.
    public static let counterSpaceLimit: UInt64 = 1 << 62

    /// Skips past a counter of this node seen in stored data (`KeyState.write` reported
    /// `.counterBehind`, a lost lease): the next counter will be above `seen`. Returns false,
    /// changing nothing, when `seen` is beyond `counterSpaceLimit`; the caller then refuses
    /// the one write instead of moving the lease.
    @discardableResult
    public mutating func advance(past seen: UInt64) -> Bool {
        guard seen < CounterLease.counterSpaceLimit else { return false }
        lastIssued = max(lastIssued, seen)
        return true
    }

    /// The persisted form: version 0x01, leasedUpTo as u64 big-endian, then the masked
    /// CRC-32C of those 9 bytes as u32 little-endian (RECORDS.md, "Counter lease").
    public static func encodePersisted(_ leasedUpTo: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 13)
        w.u8(VersionFormat.leaseVersion1)
        w.u64BE(leasedUpTo)
        w.u32LE(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// Decodes `encodePersisted`'s bytes; throws on any damage.
    public static func decodePersisted(_ bytes: [UInt8]) throws(KeyRecordError) -> UInt64 {
        guard bytes.count == 13 else { throw .truncated(offset: min(bytes.count, 13)) }
        var r = ByteReader(bytes[...])
        guard let version = r.u8(), version == VersionFormat.leaseVersion1 else { throw .unknownVersion(bytes[0]) }
        guard let l = r.u64BE(), let stored = r.u32LE() else { throw .truncated(offset: r.offset) }
        guard CRC32C.unmask(stored) == CRC32C.checksum(bytes[0..<9]) else { throw .checksumMismatch }
        return l
    }
}
