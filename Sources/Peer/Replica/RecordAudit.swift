#if canImport(Glibc)
import Glibc
#endif
import Net
import Synchronization

/// Counts and logs stored records that do not decode (issue 14: one such record once
/// stopped the Merkle build, handoff and SCAN of its whole partition). Every range walk
/// skips such a record, reports it here with its key, and goes on with the rest.
///
/// Logging is bounded: at most `maxLinesPerMinute` lines a minute, the rest only counted,
/// so a partition full of damage cannot flood the log. Thread-safe.
public final class RecordAudit: Sendable {
    public static let maxLinesPerMinute = 20
    /// Records skipped because they did not decode.
    public let undecodable = Atomic<UInt64>(0)
    private let window = Mutex<(startMs: Int64, lines: Int)>((0, 0))
    /// Where lines go (stderr in production; tests capture them).
    let sink: @Sendable (String) -> Void

    public init(sink: @escaping @Sendable (String) -> Void = { fputs($0 + "\n", stderr) }) {
        self.sink = sink
    }

    /// Counts one undecodable record and logs it (rate-limited) with its address.
    public func report(_ address: KeyAddress, _ error: any Error, during walk: String, nowMs: Int64 = EventLoop.nowMs()) {
        undecodable.wrappingAdd(1, ordering: .relaxed)
        let log = window.withLock { w -> Bool in
            if nowMs - w.startMs >= 60_000 { w = (nowMs, 0) }
            w.lines += 1
            return w.lines <= RecordAudit.maxLinesPerMinute
        }
        guard log else { return }
        let ns = String(decoding: address.namespace, as: UTF8.self)
        sink("level=error msg=\"undecodable record skipped\" walk=\(walk) namespace=\(ns) partition=\(address.partition) key=\(RecordAudit.printable(address.key)) error=\"\(error)\"")
    }

    /// A key for a log line: printable ASCII as is, anything else as \xNN, at most 128 bytes.
    static func printable(_ key: [UInt8]) -> String {
        var s = ""
        for b in key.prefix(128) {
            if b >= 0x21 && b < 0x7f && b != 0x5c && b != 0x22 { s.append(Character(UnicodeScalar(b))) } else { s += "\\x" + String(b, radix: 16, uppercase: false).leftPadded(2) }
        }
        if key.count > 128 { s += "...(\(key.count) bytes)" }
        return s
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

extension LocalReplica {
    /// The record of `address` from its stored bytes, or nil (counted and logged) when they
    /// do not decode: the caller skips the key and goes on.
    func decodeOrSkip(_ bytes: [UInt8], _ address: KeyAddress, during walk: String) -> KeyRecord? {
        do {
            return try KeyRecord(decoding: bytes)
        } catch {
            audit.report(address, error, during: walk)
            return nil
        }
    }
}
