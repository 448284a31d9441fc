#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization

/// The peer's event log: one line per event, logfmt (`ts=... level=info msg="..." node=...
/// key=value`) or one JSON object per line, filtered by level.
///
/// Use: `log.info("member state changed", ["member": id, "from": "alive", "to": "suspect"])`.
/// Log state changes an operator cares about, once per change; never one line per request.
/// Thread-safety: any thread. Cost: an event below the level is one comparison; one at or
/// above it is formatted on the caller's thread and handed to the sink, which for stderr
/// queues it for a writer thread (bounded; never blocks the caller on the terminal or pipe).
public final class Logger: Sendable {
    public let level: LogLevel
    public let format: LogFormat
    /// Fields on every line after `msg` (such as `node`).
    let context: [(String, String)]
    let sink: LogSink

    public init(level: LogLevel = .info, format: LogFormat = .logfmt, context: [(String, String)] = [],
                sink: LogSink = StderrLogSink.shared) {
        self.level = level
        self.format = format
        self.context = context
        self.sink = sink
    }

    /// The same logger with more context fields.
    public func with(_ fields: [(String, String)]) -> Logger {
        Logger(level: level, format: format, context: context + fields, sink: sink)
    }

    public func debug(_ msg: String, _ fields: KeyValuePairs<String, any Sendable> = [:]) { log(.debug, msg, fields) }
    public func info(_ msg: String, _ fields: KeyValuePairs<String, any Sendable> = [:]) { log(.info, msg, fields) }
    public func warn(_ msg: String, _ fields: KeyValuePairs<String, any Sendable> = [:]) { log(.warn, msg, fields) }
    public func error(_ msg: String, _ fields: KeyValuePairs<String, any Sendable> = [:]) { log(.error, msg, fields) }

    @inline(__always) public func enabled(_ l: LogLevel) -> Bool { l >= level }

    public func log(_ l: LogLevel, _ msg: String, _ fields: KeyValuePairs<String, any Sendable> = [:]) {
        guard l >= level else { return }
        log(l, msg, fields: fields.map { ($0.key, $0.value) })
    }

    /// The same, with fields built at run time.
    public func log(_ l: LogLevel, _ msg: String, fields: [(String, any Sendable)]) {
        guard l >= level else { return }
        sink.write(LogLine.render(format: format, ts: LogLine.timestamp(), level: l, msg: msg, context: context, fields: fields))
    }
}

/// Where formatted lines go (each ends in a newline).
public protocol LogSink: Sendable {
    func write(_ line: String)
}

/// Lines kept in memory, for tests.
public final class MemoryLogSink: LogSink {
    private let stored = Mutex<[String]>([])
    public init() {}
    public func write(_ line: String) { stored.withLock { $0.append(line) } }
    public var lines: [String] { stored.withLock { $0 } }
}

/// Standard error through a bounded queue and one writer thread, so a slow terminal or a
/// full pipe delays only the writer. When the queue is full (`maxQueuedLines`), lines are
/// dropped and counted, and the writer reports the count once it catches up.
public final class StderrLogSink: LogSink, @unchecked Sendable {
    public static let shared = StderrLogSink(fd: 2)
    static let maxQueuedLines = 10_000

    private struct Queue {
        var lines: [String] = []
        var dropped = 0
        var writerStarted = false
        var writing = false
    }
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    public func write(_ line: String) {
        let startWriter = queue.withLock { q -> Bool in
            if q.lines.count >= StderrLogSink.maxQueuedLines {
                q.dropped += 1
                return false
            }
            q.lines.append(line)
            defer { q.writerStarted = true }
            return !q.writerStarted
        }
        if startWriter {
            let t = Thread { [self] in writerLoop() }
            t.name = "log-writer"
            t.start()
        }
        wake.signal()
    }

    /// Waits (up to `timeoutMs`) until every queued line is written; for process exit.
    public func flush(timeoutMs: Int = 1_000) {
        for _ in 0..<max(1, timeoutMs / 5) {
            if queue.withLock({ $0.lines.isEmpty && !$0.writing }) { return }
            usleep(5_000)
        }
    }

    private func writerLoop() {
        while true {
            wake.wait()
            while true {
                let (lines, dropped) = queue.withLock { q -> ([String], Int) in
                    defer { q.lines.removeAll(keepingCapacity: true); q.dropped = 0 }
                    q.writing = !q.lines.isEmpty || q.dropped > 0
                    return (q.lines, q.dropped)
                }
                if lines.isEmpty && dropped == 0 { break }
                var text = lines.joined()
                if dropped > 0 {
                    text += LogLine.render(format: .logfmt, ts: LogLine.timestamp(), level: .warn, msg: "log lines dropped",
                                           context: [], fields: [("dropped", dropped)])
                }
                text.withUTF8 { buf in
                    guard let base = buf.baseAddress else { return }
                    var offset = 0
                    while offset < buf.count {
                        let n = Glibc.write(fd, base + offset, buf.count - offset)
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { break }
                        offset += n
                    }
                }
                queue.withLock { $0.writing = false }
            }
        }
    }
}
