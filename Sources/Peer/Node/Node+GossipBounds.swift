#if canImport(Glibc)
import Glibc
#endif
import Net
import Gossip
import Synchronization

// Every piece of cluster state this node gossips is checked against Gossip's bounds
// (`ClusterStateValue.fits`) before it is adopted or published (issue 14: a namespace table
// or ring past the 65,000-byte payload once hit a precondition in Gossip, and, persisted,
// crashed every restart). The sources are bounded where they are accepted (NS.CREATE,
// `--partitions`); this is the last check, which refuses and logs instead of trapping.

/// When each oversized state key was last logged, so a claimant retrying every tick logs
/// once a minute, not five times a second.
private let lastOversizedLog = Mutex<[String: Int64]>([:])

extension Node {
    /// True when `payload` can be gossiped under `key`; otherwise logs why (at most once a
    /// minute per key) and returns false: the caller keeps the state it had.
    func fitsGossip(key: String, payload: [UInt8]) -> Bool {
        if ClusterStateValue.fits(key: key, payloadBytes: payload.count) { return true }
        let now = EventLoop.nowMs()
        let log = lastOversizedLog.withLock { seen -> Bool in
            if let t = seen[key], now - t < 60_000 { return false }
            seen[key] = now
            return true
        }
        if log {
            fputs("level=error msg=\"cluster state too large to gossip; change refused\" key=\(key.prefix(64)) bytes=\(payload.count) max=\(ClusterStateValue.maxPayloadBytes)\n", stderr)
        }
        return false
    }
}
