import Synchronization

/// One incoming transfer: a (partition, namespace) range this node pulls from a current
/// primary before the ring switches. Shown by INFO and `chorus status`.
public struct TransferStatus: Equatable, Sendable {
    public enum State: String, Sendable {
        case waiting, running, stalled, done
    }
    public var id: TreeID
    public var from: String
    public var to: String
    public var keys: Int = 0
    public var bytes: Int = 0
    public var remainingBytes: UInt64 = 0
    public var startedMs: Int64 = 0
    public var lastProgressMs: Int64 = 0
    public var state: State = .waiting
    public var lastError: String = ""
    public var retryAtMs: Int64 = 0
    public var backoffMs: Int = 0

    public init(id: TreeID, from: String, to: String) {
        self.id = id
        self.from = from
        self.to = to
    }

    /// Bytes per second since the transfer started.
    public func rate(nowMs: Int64) -> Int {
        let elapsed = max(1, nowMs - startedMs)
        return startedMs == 0 ? 0 : Int(Int64(bytes) * 1000 / elapsed)
    }

    /// Seconds left at the current rate (nil when unknown).
    public func etaSeconds(nowMs: Int64) -> Int? {
        if state == .done { return 0 }
        let r = rate(nowMs: nowMs)
        guard r > 0 else { return nil }
        return Int(remainingBytes / UInt64(r))
    }
}

/// The shell's side of handoff: counters, and when each range the node no longer
/// replicates was first seen so (it is dropped after a delay).
final class HandoffCounters: Sendable {
    let keysReceived = Atomic<UInt64>(0)
    let bytesReceived = Atomic<UInt64>(0)
    let chunksServed = Atomic<UInt64>(0)
    /// Ranges deleted after they moved away (INFO's anti-entropy `ranges_dropped`).
    let rangesDropped = Atomic<UInt64>(0)
    struct Drops {
        var unneededSince: [TreeID: Int64] = [:]
        var lastCheckMs: Int64 = 0
    }
    let drops = Mutex(Drops())
}
