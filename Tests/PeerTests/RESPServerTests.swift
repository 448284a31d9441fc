import Net
import XCTest
import Foundation
import Synchronization
@testable import Peer

final class RESPServerTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testEchoHandlerRepliesOverRealSocket() throws {
        let server = try startRESPServer(RESPTestEchoHandler())
        let client = try connectRESP(server)
        XCTAssertEqual(try client.command("PING"), .simple("PONG"))
        XCTAssertEqual(try client.command("ECHO", "hello"), .bulk("hello"))
        XCTAssertEqual(try client.command("SET", "k", "v"), .array([.bulk("SET"), .bulk("k"), .bulk("v")]))
        client.sendRaw(b("PING\r\nECHO \"a b\"\r\n"))
        XCTAssertEqual(try client.readReply(), .simple("PONG"))
        XCTAssertEqual(try client.readReply(), .bulk("a b"))
    }

    func testLargeValueRoundTrips() throws {
        let server = try startRESPServer(RESPTestEchoHandler())
        let client = try connectRESP(server)
        var value = [UInt8](repeating: 0x5A, count: 4 << 20)
        for i in stride(from: 0, to: value.count, by: 4093) { value[i] = UInt8(truncatingIfNeeded: i / 4093) }
        XCTAssertEqual(try client.command([b("ECHO"), value]), .bulk(value))
    }

    private func pipelineOutOfOrder(commands: Int, maxInFlight: Int) throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler) { $0.maxCommandsInFlight = maxInFlight }
        let client = try connectRESP(server)
        let answered = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        // Answers whatever has arrived, newest first, from a thread that is not the loop's.
        let replier = Thread {
            var seed: UInt64 = 42
            let deadline = Date().addingTimeInterval(30)
            while !stop.load(ordering: .relaxed) && Date() < deadline {
                var batch = handler.take()
                if batch.isEmpty { usleep(200); continue }
                // Seeded shuffle, then reverse: far from request order.
                for i in stride(from: batch.count - 1, to: 0, by: -1) {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    batch.swapAt(i, Int(seed >> 33) % (i + 1))
                }
                for (command, token) in batch.reversed() {
                    token.reply(.bulk(command[1]))
                    answered.add(1, ordering: .relaxed)
                }
            }
        }
        replier.start()
        defer { stop.store(true, ordering: .relaxed) }
        for i in 0..<commands { client.send([b("ECHO"), b("\(i)")]) }
        try client.flush()
        for i in 0..<commands {
            XCTAssertEqual(try client.readReply(), .bulk("\(i)"), "reply \(i)")
        }
        XCTAssertEqual(answered.load(ordering: .relaxed), commands)
    }

    func testThousandPipelinedCommandsAnsweredInOrderWhenRepliedOutOfOrderFromAnotherThread() throws {
        try pipelineOutOfOrder(commands: 1000, maxInFlight: 1024)
    }

    func testPipelineLongerThanInFlightBoundPausesAndResumesInOrder() throws {
        try pipelineOutOfOrder(commands: 1000, maxInFlight: 16)
    }

    func testMalformedInputGetsProtocolErrorAndClosesWhileOtherConnectionWorks() throws {
        let server = try startRESPServer(RESPTestEchoHandler())
        let good = try connectRESP(server)
        let bad = try connectRESP(server)
        XCTAssertEqual(try good.command("PING"), .simple("PONG"))
        bad.sendRaw(b("PING\r\nPING\r\n*1\r\n$-5\r\nPING\r\n"))
        XCTAssertEqual(try bad.readReply(), .simple("PONG"))
        XCTAssertEqual(try bad.readReply(), .simple("PONG"))
        guard case .error(let text) = try bad.readReply() else { return XCTFail("expected an error") }
        XCTAssertTrue(text.hasPrefix("ERR protocol error"), text)
        XCTAssertThrowsError(try bad.readReply()) { XCTAssertEqual($0 as? RESPClientError, .socket(.connectionClosed)) }
        XCTAssertEqual(try good.command("ECHO", "still here"), .bulk("still here"))
        XCTAssertTrue(respWaitUntil { server.stats.protocolErrorsTotal == 1 })
    }

    func testOversizedBulkHeaderIsRejectedWithoutWaitingForItsBody() throws {
        let server = try startRESPServer(RESPTestEchoHandler()) { $0.limits.maxBulkBytes = 1024 }
        let client = try connectRESP(server)
        client.sendRaw(b("*2\r\n$4\r\nECHO\r\n$1025\r\n"))
        XCTAssertEqual(try client.readReply(), .error("ERR protocol error"))
        XCTAssertThrowsError(try client.readReply())
    }

    func testQuitRepliesOkThenCloses() throws {
        let server = try startRESPServer(RESPTestEchoHandler())
        let client = try connectRESP(server)
        client.sendRaw(b("PING\r\nQUIT\r\nPING\r\n"))
        XCTAssertEqual(try client.readReply(), .simple("PONG"))
        XCTAssertEqual(try client.readReply(), .ok)
        XCTAssertThrowsError(try client.readReply()) { XCTAssertEqual($0 as? RESPClientError, .socket(.connectionClosed)) }
    }

    /// A node's loops carry peer RPC too and run on after the client server's shutdown (and
    /// after the server is gone): its listener and shards must not be touched from them then.
    func testSharedLoopsOutliveTheServerAfterShutdown() throws {
        let loops = try LoopGroup(count: 2, name: "shared-test")
        var server: RESPServer? = RESPServer(configuration: {
            var c = RESPServerConfiguration(host: "127.0.0.1", port: 0)
            c.loops = loops
            c.shutdownGraceMs = 200
            return c
        }(), handler: RESPTestEchoHandler())
        try server?.start()
        try loops.start()
        defer { loops.stop() }
        let client = try RESPClient(host: "127.0.0.1", port: server?.port ?? 0, timeoutMs: 5_000)
        XCTAssertEqual(try client.command("PING"), .simple("PONG"))
        server?.shutdown()
        server = nil
        // Several ticks (100 ms) and iterations of the loops after the server is gone.
        let ran = DispatchSemaphore(value: 0)
        for _ in 0..<5 {
            usleep(100_000)
            for loop in loops.loops { loop.execute { ran.signal() } }
        }
        for _ in 0..<10 { XCTAssertEqual(ran.wait(timeout: .now() + 2), .success, "a shared loop stopped running") }
    }

    func testExtraConnectionGetsMaxClientsErrorAndClose() throws {
        let handler = RESPTestEchoHandler()
        let server = try startRESPServer(handler) { $0.maxConnections = 2 }
        var first: RESPClient? = try connectRESP(server)
        let second = try connectRESP(server)
        XCTAssertEqual(try first?.command("PING"), .simple("PONG"))
        XCTAssertEqual(try second.command("PING"), .simple("PONG"))
        let third = try connectRESP(server)
        XCTAssertEqual(try third.readReply(), .error("ERR max number of clients reached"))
        XCTAssertThrowsError(try third.readReply())
        XCTAssertTrue(respWaitUntil { server.stats.rejectedTotal == 1 })
        first?.close()
        first = nil
        XCTAssertTrue(respWaitUntil { server.stats.connections < 2 })
        let fourth = try connectRESP(server)
        XCTAssertEqual(try fourth.command("PING"), .simple("PONG"))
    }

    func testIdleConnectionIsClosedAfterTimeout() throws {
        let server = try startRESPServer(RESPTestEchoHandler()) { $0.idleTimeoutMs = 150 }
        let client = try connectRESP(server)
        XCTAssertEqual(try client.command("PING"), .simple("PONG"))
        // Blocks until the server closes the idle connection (the client timeout is 10 s).
        XCTAssertThrowsError(try client.readReply()) { XCTAssertEqual($0 as? RESPClientError, .socket(.connectionClosed)) }
        XCTAssertEqual(server.stats.idleClosedTotal, 1)
    }

    func testConnectionWithCommandInFlightIsNotIdle() throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler) { $0.idleTimeoutMs = 50 }
        let client = try connectRESP(server)
        client.send([b("ECHO"), b("slow")])
        try client.flush()
        var taken: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { taken += handler.take(); return !taken.isEmpty })
        // Several idle periods pass while the command is in flight.
        usleep(300_000)
        taken[0].1.reply(.bulk("slow"))
        XCTAssertEqual(try client.readReply(), .bulk("slow"))
        XCTAssertEqual(server.stats.idleClosedTotal, 0)
    }

    func testClientThatStopsReadingIsPausedAndGetsEveryReplyLater() throws {
        let server = try startRESPServer(RESPTestEchoHandler()) { $0.outputPauseBytes = 64 << 10 }
        let client = try connectRESP(server)
        // Small requests, big replies: 40 x 256 KiB queue up while the client does not read.
        for i in 0..<40 { client.send([b("BIG"), b("\(i)")]) }
        try client.flush()
        usleep(50_000)
        for i in 0..<40 {
            guard case .bulk(let bytes) = try client.readReply() else { return XCTFail("reply \(i)") }
            XCTAssertEqual(bytes.count, 256 << 10)
            XCTAssertEqual(bytes.prefix(8), ArraySlice(Array("\(i)".utf8) + [UInt8](repeating: 0x61, count: 8 - "\(i)".utf8.count)), "reply \(i)")
        }
    }

    func testReplyAfterClientDisconnectIsWrittenNowhereAndConnectionCloses() throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler)
        let client = try connectRESP(server)
        client.send([b("ECHO"), b("x")])
        try client.flush()
        var taken: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { taken += handler.take(); return !taken.isEmpty })
        client.close()
        // The server keeps the half-closed connection until its in-flight command is answered.
        usleep(20_000)
        taken[0].1.reply(.bulk("late"))
        taken[0].1.reply(.bulk("twice")) // a second use of a token is ignored
        XCTAssertTrue(respWaitUntil { server.stats.connections == 0 })
        let other = try connectRESP(server)
        other.send([b("ECHO"), b("y")])
        try other.flush()
        var next: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { next += handler.take(); return !next.isEmpty })
        next[0].1.reply(.bulk("y"))
        XCTAssertEqual(try other.readReply(), .bulk("y"))
    }

    func testHalfClosedClientStillGetsItsReplies() throws {
        let server = try startRESPServer(RESPTestEchoHandler())
        let client = try connectRESP(server)
        client.sendRaw(b("PING\r\nECHO abc\r\n"))
        try client.flush()
        client.shutdownWrite()
        XCTAssertEqual(try client.readReply(), .simple("PONG"))
        XCTAssertEqual(try client.readReply(), .bulk("abc"))
        XCTAssertThrowsError(try client.readReply()) { XCTAssertEqual($0 as? RESPClientError, .socket(.connectionClosed)) }
    }

    func testConnectionContextKeepsStatePerConnection() throws {
        final class StateHandler: RESPCommandHandler {
            func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
                if command.count == 2 {
                    context.namespace = String(decoding: command[1], as: UTF8.self)
                    reply.reply(.ok)
                } else {
                    reply.reply(.bulk(context.namespace))
                }
            }
        }
        let server = try startRESPServer(StateHandler())
        let a = try connectRESP(server), c = try connectRESP(server)
        XCTAssertEqual(try a.command("NS.USE", "alpha"), .ok)
        XCTAssertEqual(try a.command("NS"), .bulk("alpha"))
        XCTAssertEqual(try c.command("NS"), .bulk("default"))
    }

    func testShutdownWaitsForInFlightReplyThenCloses() throws {
        let handler = RESPTestDeferredHandler()
        var configuration = RESPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.shutdownGraceMs = 10_000
        let server = RESPServer(configuration: configuration, handler: handler)
        try server.start()
        let client = try connectRESP(server)
        client.send([b("ECHO"), b("last")])
        try client.flush()
        var taken: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { taken += handler.take(); return !taken.isEmpty })
        let done = Atomic<Bool>(false)
        let stopper = Thread { server.shutdown(); done.store(true, ordering: .relaxed) }
        stopper.start()
        usleep(50_000)
        XCTAssertFalse(done.load(ordering: .relaxed), "shutdown must wait for the in-flight command")
        taken[0].1.reply(.bulk("last"))
        XCTAssertEqual(try client.readReply(), .bulk("last"))
        XCTAssertThrowsError(try client.readReply())
        XCTAssertTrue(respWaitUntil { done.load(ordering: .relaxed) })
        XCTAssertThrowsError(try RESPClient(host: "127.0.0.1", port: server.port, timeoutMs: 1000))
    }

    func testClientBindsToSourceAddress() throws {
        final class AddressHandler: RESPCommandHandler {
            func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
                reply.reply(.bulk(context.remoteAddress))
            }
        }
        let server = try startRESPServer(AddressHandler()) { $0.host = "0.0.0.0" }
        let client = try RESPClient(host: "127.0.0.1", port: server.port, sourceHost: "127.0.0.2")
        let address = try client.command("WHO").text ?? ""
        XCTAssertTrue(address.hasPrefix("127.0.0.2:"), address)
    }
}
