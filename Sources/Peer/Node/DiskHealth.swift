#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Storage
import Synchronization

/// Whether this peer's store accepts writes (SPEC 6, "A full disk"), as INFO, /status and
/// the log show it. The store itself refuses writes it cannot make durable and resumes by
/// itself (Storage's Store+Recovery.swift); this only watches: `observe` is called
/// periodically with the store's current error, and logs each change once.
///
/// Thread-safety: every method may be called from any thread.
public final class DiskHealth: Sendable {
    private struct State {
        var error: StorageError?
        var sinceMs: Int64 = 0
    }
    private let state = Mutex(State())
    private let logTo: Mutex<@Sendable (String) -> Void>

    public init(log: @escaping @Sendable (String) -> Void = { line in _ = (line + "\n").withCString { fputs($0, stderr) } }) {
        logTo = Mutex(log)
    }

    /// Sends this type's log lines (one per change) somewhere else: the node's Logger.
    public func route(log: @escaping @Sendable (String) -> Void) { logTo.withLock { $0 = log } }

    private func log(_ line: String) { logTo.withLock { $0 }(line) }

    /// Takes the store's current write error (nil: writes accepted) at monotonic `nowMs`.
    public func observe(_ error: StorageError?, nowMs: Int64) {
        let (before, sinceMs) = state.withLock { s -> (StorageError?, Int64) in
            let old = (s.error, s.sinceMs)
            if (s.error == nil) != (error == nil) { s.sinceMs = nowMs }
            s.error = error
            return old
        }
        switch (before, error) {
        case (nil, let e?):
            log("chorus: writes refused: the store cannot make them durable: \(e); reads and everything else go on; writes resume by themselves once the disk accepts them")
        case (_?, nil):
            log("chorus: writes accepted again after \(max(0, nowMs - sinceMs)) ms")
        default:
            break
        }
    }

    /// The current write error, nil when writes are accepted.
    public var error: StorageError? { state.withLock { $0.error } }

    /// The client error for a write refused because the store stopped on `e`.
    static func refusal(_ e: StorageError) -> ClientError {
        ClientError("ERR this peer cannot make writes durable (\(e)); it resumes by itself once the disk accepts writes; retry through another peer")
    }

    /// INFO's `# Persistence` fields (Redis names its own `aof_last_write_status`).
    public func infoFields(_ stats: StorageStats) -> [(String, String)] {
        var fields = [("write_status", error == nil ? "ok" : "err")]
        if let e = error { fields.append(("write_error", "\(e)")) }
        fields.append(("write_errors", String(stats.writeErrors)))
        fields.append(("write_recoveries", String(stats.errorRecoveries)))
        fields.append(("wal_tail_dropped_bytes", String(stats.recoveredTornTailBytes)))
        fields.append(("wal_tail_checksum_failures", String(stats.recoveredChecksumTails)))
        return fields
    }

    /// `/status`'s `"writes"` object: `{"ok":true}` or `{"ok":false,"error":"..."}`.
    public var statusJSON: String {
        guard let e = error else { return "{\"ok\":true}" }
        let text = "\(e)".replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "{\"ok\":false,\"error\":\"\(text)\"}"
    }
}
