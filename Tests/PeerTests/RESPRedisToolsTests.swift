import XCTest
import Foundation
@testable import Peer

/// Real Redis tools against a tiny in-memory handler: redis-cli, --pipe and redis-benchmark.
/// Skipped when redis-tools is not installed (scripts/test.sh installs it).
final class RESPRedisToolsTests: XCTestCase {
    private func tool(_ name: String) throws -> String { try RedisToolRunner.tool(name) }

    private func run(_ path: String, _ arguments: [String], stdin: [UInt8]? = nil) throws -> (Int32, String) {
        try RedisToolRunner.run(path, arguments, stdin: stdin)
    }

    func testRedisCliPingSetGet() throws {
        let cli = try tool("redis-cli")
        let server = try startRESPServer(RESPTestMemoryKVHandler())
        let port = String(server.port)
        XCTAssertEqual(try run(cli, ["-p", port, "PING"]).1.trimmingCharacters(in: .whitespacesAndNewlines), "PONG")
        XCTAssertEqual(try run(cli, ["-p", port, "SET", "greeting", "hello world"]).1.trimmingCharacters(in: .whitespacesAndNewlines), "OK")
        XCTAssertEqual(try run(cli, ["-p", port, "GET", "greeting"]).1.trimmingCharacters(in: .whitespacesAndNewlines), "hello world")
        XCTAssertEqual(try run(cli, ["-p", port, "GET", "missing"]).1.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }

    func testRedisCliPipeMassInsert() throws {
        let cli = try tool("redis-cli")
        let handler = RESPTestMemoryKVHandler()
        let server = try startRESPServer(handler)
        var stream: [UInt8] = []
        for i in 0..<5000 { RESPWriter.appendCommand([Array("SET".utf8), Array("key:\(i)".utf8), Array("value \(i)".utf8)], to: &stream) }
        let (status, text) = try run(cli, ["-p", String(server.port), "--pipe"], stdin: stream)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("errors: 0, replies: 5000"), text)
        XCTAssertEqual(handler.count, 5000)
    }

    func testRedisBenchmarkPipelined() throws {
        let benchmark = try tool("redis-benchmark")
        let server = try startRESPServer(RESPTestMemoryKVHandler())
        let (status, text) = try run(benchmark, ["-p", String(server.port), "-t", "ping,set,get", "-n", "2000",
                                                  "-c", "10", "-P", "16", "-q"])
        XCTAssertEqual(status, 0, text)
        for name in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
            XCTAssertTrue(text.contains("\(name): "), "\(name) missing from:\n\(text)")
        }
        print(text)
    }
}
