import Foundation
import XCTest
@testable import Peer

final class LoggerTests: XCTestCase {
    func testLogfmtLineHasTsLevelMsgNodeThenFields() throws {
        let sink = MemoryLogSink()
        let log = Logger(level: .info, format: .logfmt, context: [("node", "n1")], sink: sink)
        log.info("member state changed", ["member": "n2", "from": "alive", "to": "suspect", "count": 3])
        let line = try XCTUnwrap(sink.lines.first)
        let pattern = #"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="member state changed" node=n1 member=n2 from=alive to=suspect count=3\n$"#
        XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line)
    }

    func testLogfmtQuotesAndEscapesValues() throws {
        let sink = MemoryLogSink()
        Logger(sink: sink).warn("odd \"msg\"", ["path": "a b", "eq": "k=v", "nl": "x\ny", "empty": "", "plain": "127.0.0.1:7946"])
        let line = try XCTUnwrap(sink.lines.first)
        XCTAssertTrue(line.contains(#" msg="odd \"msg\"" path="a b" eq="k=v" nl="x\ny" empty="" plain=127.0.0.1:7946"#), line)
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1, "one event, one line")
    }

    func testJSONLinesParseWithTypedValues() throws {
        let sink = MemoryLogSink()
        let log = Logger(level: .debug, format: .json, context: [("node", "n\"1")], sink: sink)
        log.debug("handoff finished", ["keys": 42, "ok": true, "seconds": 1.5, "from": "n\n2"])
        let line = try XCTUnwrap(sink.lines.first)
        XCTAssertTrue(line.hasSuffix("}\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["level"] as? String, "debug")
        XCTAssertEqual(object["msg"] as? String, "handoff finished")
        XCTAssertEqual(object["node"] as? String, "n\"1")
        XCTAssertEqual(object["keys"] as? Int, 42)
        XCTAssertEqual(object["ok"] as? Bool, true)
        XCTAssertEqual(object["seconds"] as? Double, 1.5)
        XCTAssertEqual(object["from"] as? String, "n\n2")
        XCTAssertNotNil((object["ts"] as? String).flatMap { ISO8601DateFormatter().date(from: $0.replacingOccurrences(of: #"\.\d{3}"#, with: "", options: .regularExpression)) })
    }

    func testEventsBelowTheLevelAreNotWritten() {
        let sink = MemoryLogSink()
        let log = Logger(level: .warn, sink: sink)
        log.debug("d")
        log.info("i")
        log.warn("w")
        log.error("e")
        XCTAssertEqual(sink.lines.map { $0.contains("msg=\"w\"") || $0.contains("msg=\"e\"") }, [true, true])
        XCTAssertTrue(sink.lines[0].contains("level=warn"))
        XCTAssertTrue(sink.lines[1].contains("level=error"))
    }

    func testLevelNames() {
        XCTAssertEqual(LogLevel(name: "WARN"), .warn)
        XCTAssertEqual(LogLevel(name: "warning"), .warn)
        XCTAssertNil(LogLevel(name: "loud"))
        XCTAssertEqual(LogLevel.allCases.map(\.description), ["debug", "info", "warn", "error"])
    }

    func testStderrSinkWritesWholeLinesFromManyThreads() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let sink = StderrLogSink(fd: fds[1])
        let log = Logger(sink: sink)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<200 { log.info("line", ["thread": t, "i": i]) }
        }
        sink.flush(timeoutMs: 5_000)
        close(fds[1])
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        close(fds[0])
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 800)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("ts=") && $0.contains(" msg=\"line\" thread=") })
    }
}
