#if canImport(Glibc)
import Glibc
#endif
import Gossip
import Ring
import Synchronization

/// Keeps this peer's standing among the members' wall clocks (`ClockSkew`) and refuses to
/// coordinate `lww` writes while its own clock is more than `--max-clock-offset` from the
/// median (SPEC 6, "Clocks"). Siblings namespaces never depend on clocks and are never
/// refused. The node's ticker calls `update` with gossip's measurements; the write path
/// asks `refusal(for:)`, which only reads the last assessment.
///
/// Thread-safety: every method may be called from any thread.
public final class ClockGuard: Sendable {
    public let nodeID: String
    public let maxOffsetMs: Int64
    private let state = Mutex<(skew: ClockSkew?, exceeded: Bool)>((nil, false))
    private let measured = Mutex<[String: ClockOffset]>([:])
    private let logTo: Mutex<@Sendable (String) -> Void>

    public init(nodeID: String, maxOffsetMs: Int64,
                log: @escaping @Sendable (String) -> Void = { line in _ = (line + "\n").withCString { fputs($0, stderr) } }) {
        self.nodeID = nodeID
        self.maxOffsetMs = maxOffsetMs
        logTo = Mutex(log)
    }

    /// Sends this type's log lines (one per change) somewhere else: the node's Logger.
    public func route(log: @escaping @Sendable (String) -> Void) { logTo.withLock { $0 = log } }

    private func log(_ line: String) { logTo.withLock { $0 }(line) }

    /// Takes a new assessment; logs once when this peer's offset crosses the bound, and
    /// once when it is back within it.
    public func update(_ skew: ClockSkew?) {
        let exceeded = skew?.exceeds(maxOffsetMs: maxOffsetMs) ?? false
        let changed = state.withLock { s -> Bool in
            defer { s = (skew, exceeded) }
            return s.exceeded != exceeded
        }
        guard changed, let skew else { return }
        if exceeded {
            log("chorus: clock offset \(skew.selfOffsetMs) ms (±\(skew.errorMs) ms) from the median of the members exceeds max-clock-offset \(maxOffsetMs) ms; refusing to coordinate lww writes; check NTP on \(nodeID)")
        } else {
            log("chorus: clock offset \(skew.selfOffsetMs) ms is within max-clock-offset \(maxOffsetMs) ms again; coordinating lww writes")
        }
    }

    /// The last assessment (nil before any other member was measured).
    public var skew: ClockSkew? { state.withLock { $0.skew } }

    /// Every member's offset from the median, sorted by node id, for INFO and /metrics.
    public var memberOffsetsMs: [(node: String, offsetMs: Int64)] {
        (skew?.memberOffsetsMs ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Whether `node`'s clock is, as this peer measures it, surely more than the bound from
    /// the members' median: such a peer refuses to coordinate lww writes, so a router can
    /// pass it over for the next primary instead of forwarding to it.
    public func isOutlier(_ node: String) -> Bool {
        guard let skew, let offset = skew.memberOffsetsMs[node] else { return false }
        return abs(offset) - skew.errorMs > maxOffsetMs
    }

    /// Records gossip's latest offset estimates (other members' clocks minus ours), for
    /// converting a time in this peer's clock to another's (`ForwardDeadline`).
    public func record(offsets: [String: ClockOffset]) { measured.withLock { $0 = offsets } }

    /// `node`'s measured offset from this peer's clock, if gossip has measured one.
    public func offset(of node: String) -> ClockOffset? { measured.withLock { $0[node] } }

    /// True while this peer refuses to coordinate lww writes.
    public var isRefusing: Bool { state.withLock { $0.exceeded } }

    /// The error for a write this peer would coordinate in `namespace`, or nil to go on.
    public func refusal(for namespace: Namespace) -> ClientError? {
        guard namespace.conflict == .lww else { return nil }
        let (skew, exceeded) = state.withLock { ($0.skew, $0.exceeded) }
        guard exceeded, let skew else { return nil }
        return ClientError("ERR clock offset \(skew.selfOffsetMs) ms exceeds max-clock-offset; check NTP on \(nodeID)")
    }
}
