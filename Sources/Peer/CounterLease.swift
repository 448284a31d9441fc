// The node-wide dot counter, reserved in leases (VERSIONS.md, "Counters never repeat").
//
// A dot must name one write forever, so the counter may never hand out a value twice, not
// even across a crash. Before handing out any counter up to L, the node durably records
// "counters up to L are taken" (an fsync through Storage); after a restart it starts above
// the recorded L. One fsync buys `leaseSize` counters; a crash wastes at most that many.
//
// Call order (pure state machine; the node does the I/O):
//   var lease = CounterLease(persistedLeasedUpTo: storedL)   // nil on a new data directory
//   switch lease.next() {
//   case .counter(let n): use n
//   case .persist(let l): durably store CounterLease.encodePersisted(l) under
//                         StorageKey.meta(StorageKey.counterLeaseName), then
//                         lease.didPersist(leasedUpTo: l) and call next() again
//   }
// `renewalDue` says when to extend the lease early (in the background) so writers rarely
// wait for the fsync.

import Storage

/// Hands out node-wide dot counters, never beyond what has been durably leased.
public struct CounterLease: Sendable {
    public static let defaultLeaseSize: UInt64 = 10_000

    /// The outcome of asking for a counter.
    public enum Step: Equatable, Sendable {
        /// Use this counter.
        case counter(UInt64)
        /// No counter is left in the lease: durably record `leasedUpTo`, call
        /// `didPersist(leasedUpTo:)`, then ask again.
        case persist(leasedUpTo: UInt64)
    }

    public let leaseSize: UInt64
    /// The highest counter handed out (or known taken); the next is above it.
    public private(set) var lastIssued: UInt64
    /// The durable bound: every counter up to it may have been handed out.
    public private(set) var leasedUpTo: UInt64

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
        return .persist(leasedUpTo: proposedLease)
    }

    /// The lease to persist next: `leaseSize` counters beyond the last one handed out.
    public var proposedLease: UInt64 {
        let (l, overflow) = lastIssued.addingReportingOverflow(leaseSize)
        return overflow ? UInt64.max : l
    }

    /// True when less than a quarter of the lease is left: persist `proposedLease` now,
    /// off the write path, and writers will not have to wait.
    public var renewalDue: Bool { leasedUpTo - lastIssued < max(1, leaseSize / 4) }

    /// Records that `leasedUpTo` is durably stored. A smaller value than the current lease
    /// (a late confirmation) changes nothing.
    public mutating func didPersist(leasedUpTo l: UInt64) {
        leasedUpTo = max(leasedUpTo, l)
    }

    /// Skips past a counter of this node seen in stored data (`KeyState.write` reported
    /// `.counterBehind`): the next counter will be above `seen`. The caller decides whether
    /// `seen` is believable before calling (a jump of billions is more likely poison than a
    /// lost lease).
    public mutating func advance(past seen: UInt64) {
        lastIssued = max(lastIssued, seen)
    }

    /// The persisted form: version 0x01, leasedUpTo as u64 big-endian, then the masked
    /// CRC-32C of those 9 bytes as u32 little-endian (RECORDS.md, "Counter lease").
    public static func encodePersisted(_ leasedUpTo: UInt64) -> [UInt8] {
        var w = VersionWriter(capacity: 13)
        w.u8(VersionFormat.leaseVersion1)
        w.u64BE(leasedUpTo)
        w.u32LE(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// Decodes `encodePersisted`'s bytes; throws on any damage.
    public static func decodePersisted(_ bytes: [UInt8]) throws(KeyRecordError) -> UInt64 {
        guard bytes.count == 13 else { throw .truncated(offset: min(bytes.count, 13)) }
        var r = VersionReader(bytes[...])
        guard let version = r.u8(), version == VersionFormat.leaseVersion1 else { throw .unknownVersion(bytes[0]) }
        guard let l = r.u64BE(), let stored = r.u32LE() else { throw .truncated(offset: r.offset) }
        guard CRC32C.unmask(stored) == CRC32C.checksum(bytes[0..<9]) else { throw .checksumMismatch }
        return l
    }
}
