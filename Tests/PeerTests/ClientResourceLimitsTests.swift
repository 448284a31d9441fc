import Foundation
import Synchronization
import XCTest
@testable import Peer

/// Answers PING; AUTH pw authenticates the connection; anything else before AUTH is NOAUTH.
final class RESPTestAuthHandler: RESPCommandHandler {
    func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
        if RESPCommandName.matches(command[0], "AUTH") {
            context.authenticated = true
            return reply.reply(.simple("OK"))
        }
        guard context.authenticated else { return reply.reply(.error("NOAUTH Authentication required.")) }
        reply.reply(.simple("PONG"))
    }
}

/// Issue 14, medium: what one client can make the server hold is bounded (reply bytes
/// including replies parked behind a slow one; input before AUTH; time before AUTH), and
/// the process takes every open file the hard limit allows.
final class ClientResourceLimitsTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Replies that finished early wait behind an earlier one; they once counted toward no
    /// bound, so 1,024 parked 16 MiB replies could pile up for one client.
    func testParkedRepliesCountTowardTheOutputBoundAndOthersAreUnharmed() throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler) {
            $0.maxOutputBytes = 2 << 20
            $0.outputPauseBytes = 1 << 20
        }
        let slow = try connectRESP(server)
        for i in 0..<4 { slow.send([b("ECHO"), b("\(i)")]) }
        try slow.flush()
        var taken: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { taken += handler.take(); return taken.count == 4 })
        // The first stays unanswered; the other three park 1 MiB each behind it.
        for t in taken.dropFirst() { t.1.reply(.bulk([UInt8](repeating: 0x62, count: 1 << 20))) }
        XCTAssertThrowsError(try slow.readReply(), "the connection holding 3 MiB of parked replies stayed open")
        let other = try connectRESP(server)
        other.send([b("ECHO"), b("fine")])
        try other.flush()
        var mine: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { mine += handler.take(); return !mine.isEmpty })
        mine[0].1.reply(.bulk("fine"))
        XCTAssertEqual(try other.readReply(), .bulk("fine"))
    }

    /// A client that stops reading is disconnected once it has taken none of a paused
    /// backlog for `stalledReaderTimeoutMs`, far below `maxOutputBytes`; one that reads is kept.
    func testClientThatNeverReadsIsDisconnectedAndOthersAreServed() throws {
        let server = try startRESPServer(RESPTestEchoHandler()) {
            $0.outputPauseBytes = 64 << 10
            $0.stalledReaderTimeoutMs = 300
        }
        let stalled = try RESPClient(host: "127.0.0.1", port: server.port, timeoutMs: 10_000)
        for i in 0..<200 { stalled.send([b("BIG"), b("\(i)")]) }
        try? stalled.flush()
        XCTAssertTrue(respWaitUntil(seconds: 5) { server.stats.stalledReadersClosedTotal == 1 }, "a client that never reads was kept")
        let other = try connectRESP(server)
        XCTAssertEqual(try other.command("PING"), .simple("PONG"))
        // A client that reads, however slowly, keeps its connection.
        let slow = try connectRESP(server)
        for i in 0..<20 { slow.send([b("BIG"), b("\(i)")]) }
        try slow.flush()
        for i in 0..<20 {
            usleep(50_000)
            guard case .bulk(let bytes) = try slow.readReply() else { return XCTFail("reply \(i)") }
            XCTAssertEqual(bytes.count, 256 << 10)
        }
        XCTAssertEqual(server.stats.stalledReadersClosedTotal, 1)
    }

    func testInputBeforeAuthIsBoundedAndRefusedWithAClearError() throws {
        let server = try startRESPServer(RESPTestAuthHandler()) {
            $0.requiresAuth = true
            $0.preAuthMaxBufferBytes = 16 << 10
        }
        let stranger = try connectRESP(server)
        stranger.sendRaw(b("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n") + [UInt8](repeating: 0x78, count: 64 << 10))
        try? stranger.flush()
        XCTAssertEqual(try stranger.readReply(), .error("NOAUTH Authentication required; a command before AUTH may be at most 16384 bytes"))
        XCTAssertThrowsError(try stranger.readReply())
        // After AUTH the normal bounds apply.
        let member = try connectRESP(server)
        XCTAssertEqual(try member.command("AUTH", "pw"), .simple("OK"))
        XCTAssertEqual(try member.command([b("PING"), [UInt8](repeating: 0x78, count: 1 << 20)]), .simple("PONG"))
    }

    func testUnauthenticatedConnectionIsClosedAfterTheAuthTimeoutEvenWhenBusy() throws {
        let server = try startRESPServer(RESPTestAuthHandler()) {
            $0.requiresAuth = true
            $0.authTimeoutMs = 300
        }
        let member = try connectRESP(server)
        XCTAssertEqual(try member.command("AUTH", "pw"), .simple("OK"))
        let stranger = try connectRESP(server)
        let started = Date()
        var closed = false
        // Refused commands do not buy it more time.
        while Date().timeIntervalSince(started) < 3 {
            guard (try? stranger.command("PING")) != nil else { closed = true; break }
            usleep(50_000)
        }
        XCTAssertTrue(closed, "a connection that never authenticated was kept")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual(try member.command("PING"), .simple("PONG"), "an authenticated connection is not timed out")
    }

    func testOpenFileSoftLimitIsRaisedToTheHardLimit() throws {
        var limit = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        let original = limit
        if limit.rlim_max > 64 {
            limit.rlim_cur = 64
            XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        }
        defer { var back = original; _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &back) }
        let after = try XCTUnwrap(ResourceLimits.raiseOpenFileLimit())
        XCTAssertEqual(after.soft, after.hard)
        XCTAssertEqual(after.hard, UInt64(original.rlim_max))
    }

    /// `--max-clients` reaches the node's client server.
    func testNodeRefusesClientsPastMaxClients() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-maxclients-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = NodeConfig(dataDirectory: dir)
        config.nodeID = "n1"
        config.clientPort = 0
        config.gossipPort = 0
        config.peerPort = 0
        config.httpPort = 0
        config.maxClients = 2
        let node = try Node(config: config)
        try node.start()
        defer { node.shutdown() }
        let port = try XCTUnwrap(node.clientPort)
        let a = try RESPClient(host: "127.0.0.1", port: port, timeoutMs: 5_000)
        let c = try RESPClient(host: "127.0.0.1", port: port, timeoutMs: 5_000)
        XCTAssertEqual(try a.command("PING"), .simple("PONG"))
        XCTAssertEqual(try c.command("PING"), .simple("PONG"))
        let third = try RESPClient(host: "127.0.0.1", port: port, timeoutMs: 5_000)
        XCTAssertEqual(try third.readReply(), .error("ERR max number of clients reached"))
    }
}

/// Issue 14, medium: a multi-key command naming more keys than the bound is refused with a
/// clear error before it reaches the handler (it once fanned out without bound).
final class MultiKeyBoundTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testRefusalCountsKeysPerCommandKind() {
        let keys = (0..<20).map { Array("k\($0)".utf8) }
        XCTAssertEqual(RESPCommandBounds.refusal([b("MGET")] + keys, maxKeys: 10), "ERR too many keys in one MGET (20, max 10): split it into several commands")
        XCTAssertNotNil(RESPCommandBounds.refusal([b("del")] + keys, maxKeys: 10))
        XCTAssertNotNil(RESPCommandBounds.refusal([b("EXISTS")] + keys, maxKeys: 10))
        XCTAssertNil(RESPCommandBounds.refusal([b("MSET")] + keys, maxKeys: 10), "20 arguments are 10 pairs")
        XCTAssertNotNil(RESPCommandBounds.refusal([b("MSET")] + keys + keys, maxKeys: 10))
        XCTAssertNil(RESPCommandBounds.refusal([b("MGET")] + keys.prefix(10) + [b("R"), b("all"), b("STRICT"), b("TIMEOUT"), b("100")], maxKeys: 10), "quorum options are not keys")
        XCTAssertNil(RESPCommandBounds.refusal([b("ECHO")] + keys, maxKeys: 10))
    }

    func testServerRefusesAMillionKeyMgetAndKeepsServing() throws {
        let handler = RESPTestEchoHandler()
        let server = try startRESPServer(handler) { $0.maxKeysPerCommand = 1_000 }
        let client = try connectRESP(server)
        client.send([b("MGET")] + (0..<100_000).map { Array("key\($0)".utf8) })
        try client.flush()
        XCTAssertEqual(try client.readReply(), .error("ERR too many keys in one MGET (100000, max 1000): split it into several commands"))
        XCTAssertEqual(try client.command("PING"), .simple("PONG"), "the connection is still served")
    }
}
