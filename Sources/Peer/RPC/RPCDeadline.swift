#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock (CLOCK_MONOTONIC, ns). Deadlines never cross the wire:
/// frames carry a relative budget (`timeoutMs`) and each end turns it into its own deadline.
public struct RPCDeadline: Sendable, Comparable, Hashable {
    public var uptimeNanos: UInt64

    public init(uptimeNanos: UInt64) { self.uptimeNanos = uptimeNanos }

    public static func now() -> RPCDeadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return RPCDeadline(uptimeNanos: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    public func adding(ms: Int) -> RPCDeadline {
        RPCDeadline(uptimeNanos: uptimeNanos &+ UInt64(max(0, ms)) &* 1_000_000)
    }

    public func hasPassed(at now: RPCDeadline) -> Bool { now.uptimeNanos >= uptimeNanos }

    /// Whole ms left at `now`, at least 1 while not passed (0 on the wire means "none").
    public func remainingMs(at now: RPCDeadline) -> UInt32 {
        guard uptimeNanos > now.uptimeNanos else { return 0 }
        let ms = (uptimeNanos - now.uptimeNanos + 999_999) / 1_000_000
        return UInt32(clamping: max(1, ms))
    }

    public static func < (a: RPCDeadline, b: RPCDeadline) -> Bool { a.uptimeNanos < b.uptimeNanos }
}
