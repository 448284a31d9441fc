import Foundation
import XCTest
@testable import Peer

/// SCAN and KEYS through the RESP server (ClientCommands) of one node of the five-engine
/// simulated cluster: the reply shapes and errors, and redis-cli --scan when redis-cli is
/// installed (skipped otherwise; scripts/test.sh installs redis-tools).
extension ScanClusterTests {
    func startClientServer(on node: String) throws -> RESPServer {
        let commands = ClientCommands(engine: engines[node]!, requirePass: nil, publishNamespaces: { _ in }, info: { [] })
        return try startRESPServer(commands)
    }

    func testScanRepliesAsRedisAndRefusesBadArguments() throws {
        load()
        let server = try startClientServer(on: "n2")
        let client = try connectRESP(server)
        defer { client.close() }
        guard case .array(let parts) = try client.command("SCAN", "0", "COUNT", "20"), parts.count == 2,
              let cursor = parts[0].text, case .array(let keys) = parts[1] else {
            return XCTFail("not [cursor, [keys]]")
        }
        XCTAssertNotEqual(cursor, "0")
        XCTAssertGreaterThanOrEqual(keys.count, 20)
        XCTAssertEqual(try client.command("SCAN", "abc"), .error("ERR invalid cursor"))
        XCTAssertEqual(try client.command("SCAN", "-1"), .error("ERR invalid cursor"))
        XCTAssertEqual(try client.command("SCAN", "5"), .error("ERR invalid cursor"))
        XCTAssertEqual(try client.command("SCAN", "0", "COUNT", "0"), .error("ERR syntax error"))
        XCTAssertEqual(try client.command("SCAN", "0", "COUNT", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(try client.command("SCAN", "0", "MATCH"), .error("ERR syntax error"))
        XCTAssertEqual(try client.command("SCAN", "0", "R"), .error("ERR syntax error"))
        XCTAssertEqual(try client.command("SCAN", "0", "BOGUS", "1"), .error("ERR syntax error"))
        XCTAssertEqual(try client.command("SCAN"), .error("ERR wrong number of arguments for 'scan' command"))
        guard case .array(let withOptions) = try client.command("SCAN", cursor, "MATCH", "key:*", "R", "all", "TIMEOUT", "3000") else {
            return XCTFail("options refused")
        }
        XCTAssertEqual(withOptions.count, 2)
        guard case .array(let matched) = try client.command("KEYS", "key:19?") else { return XCTFail("KEYS did not answer an array") }
        let want = live.filter { $0.count == 7 && $0.starts(with: Array("key:19".utf8)) }
        XCTAssertEqual(Set(matched.compactMap(\.bulkBytes)), want)
    }

    private func redisCli(_ arguments: [String]) throws -> (Int32, String) {
        try RedisToolRunner.run(RedisToolRunner.tool("redis-cli"), arguments)
    }

    func testRedisCliScanReturnsEveryLiveKey() throws {
        load()
        let server = try startClientServer(on: "n3")
        let port = String(server.port)
        let (status, text) = try redisCli(["-p", port, "--scan"])
        XCTAssertEqual(status, 0, text)
        let lines = Set(text.split(separator: "\n").map { Array($0.utf8) })
        XCTAssertEqual(lines, live)
        let (status2, text2) = try redisCli(["-p", port, "--scan", "--pattern", "key:1[0-4]?"])
        XCTAssertEqual(status2, 0, text2)
        let want = Set(live.filter { GlobPattern("key:1[0-4]?").matches($0) }.map { String(decoding: $0, as: UTF8.self) })
        XCTAssertFalse(want.isEmpty)
        XCTAssertEqual(Set(text2.split(separator: "\n").map(String.init)), want)
    }
}
