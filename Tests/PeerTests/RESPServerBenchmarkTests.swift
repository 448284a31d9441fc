import XCTest
import Foundation
@testable import Peer

/// redis-benchmark against the RESP server with an in-memory handler: the figure to compare
/// with redis-server. Opt-in (CHORUS_RESP_BENCH=1) and meant for release builds:
///   swift build -c release -Xswiftc -enable-testing --build-tests
///   CHORUS_RESP_BENCH=1 swift test -c release --skip-build --filter RESPServerBenchmarkTests
final class RESPServerBenchmarkTests: XCTestCase {
    func testRedisBenchmarkFiftyClientsPipelined() throws {
        guard ProcessInfo.processInfo.environment["CHORUS_RESP_BENCH"] == "1" else {
            throw XCTSkip("set CHORUS_RESP_BENCH=1 to run")
        }
        let path = "/usr/bin/redis-benchmark"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("redis-benchmark missing") }
        let server = try startRESPServer(RESPTestMemoryKVHandler())
        let requests = ProcessInfo.processInfo.environment["CHORUS_RESP_BENCH_N"] ?? "1000000"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-p", String(server.port), "-t", "ping,set,get", "-n", requests,
                             "-c", "50", "-P", "16", "-q"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where line.contains("requests per second") {
            print(line.trimmingCharacters(in: .whitespaces))
        }
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
