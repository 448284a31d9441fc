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

/// The node's incoming transfers for the ring version it is working toward.
final class HandoffState: Sendable {
    struct State {
        var ringVersion: UInt64 = 0
        var transfers: [TreeID: TransferStatus] = [:]
        /// Sources per range, in the order to try.
        var sources: [TreeID: [String]] = [:]
        var running = 0
        /// False at start: checkpoints left by a run that crashed are cleared once the ring is at rest.
        var checkpointsCleared = false
        /// When each range this node no longer replicates was first seen unneeded.
        var unneededSince: [TreeID: Int64] = [:]
        var lastDropCheckMs: Int64 = 0
        /// When the rate limit lets the next chunk go.
        var nextFreeMs: Int64 = 0
    }
    let state = Mutex(State())
    let keysReceived = Atomic<UInt64>(0)
    let bytesReceived = Atomic<UInt64>(0)
    let chunksServed = Atomic<UInt64>(0)

    var report: HandoffReport {
        state.withLock { s in
            HandoffReport(ringVersion: s.ringVersion, pending: s.transfers.values.filter { $0.state != .done }.count,
                          total: s.transfers.count)
        }
    }

    var transfers: [TransferStatus] {
        state.withLock { s in
            s.transfers.values.sorted {
                $0.id.partition != $1.id.partition ? $0.id.partition < $1.id.partition
                    : $0.id.namespace.lexicographicallyPrecedes($1.id.namespace)
            }
        }
    }
}
