import XCTest
import Foundation
import Synchronization
@testable import Peer

/// Replies at once: PING → PONG, ECHO x → x, anything else → the command as an array.
final class RESPTestEchoHandler: RESPCommandHandler {
    let opened = Atomic<Int>(0)
    let closed = Atomic<Int>(0)

    func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
        if RESPCommandName.matches(command[0], "PING") {
            reply.reply(.simple("PONG"))
        } else if RESPCommandName.matches(command[0], "ECHO"), command.count == 2 {
            reply.replyEncoding { RESPWriter.appendBulk(command[1], to: &$0) }
        } else if RESPCommandName.matches(command[0], "BIG"), command.count == 2 {
            // 256 KiB reply starting with the argument: tests of slow readers.
            var value = [UInt8](repeating: 0x61, count: 256 << 10)
            value.replaceSubrange(0..<command[1].count, with: command[1])
            reply.reply(.bulk(value))
        } else if RESPCommandName.matches(command[0], "WHOAMI") {
            reply.reply(.integer(Int64(context.id)))
        } else {
            reply.reply(.array(command.map { .bulk($0) }))
        }
    }

    func connectionOpened(_ context: RESPConnectionContext) { opened.add(1, ordering: .relaxed) }
    func connectionClosed(_ context: RESPConnectionContext) { closed.add(1, ordering: .relaxed) }
}

/// Collects commands with their tokens; a test thread answers them later, in any order.
final class RESPTestDeferredHandler: RESPCommandHandler {
    let pending = Mutex<[([[UInt8]], RESPReplyToken)]>([])

    func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
        pending.withLock { $0.append((command, reply)) }
    }

    func take() -> [([[UInt8]], RESPReplyToken)] {
        pending.withLock { list in
            let taken = list
            list.removeAll()
            return taken
        }
    }
}

/// A tiny Redis: PING, ECHO, SET, GET, DEL, COMMAND, CONFIG, over an in-memory map.
final class RESPTestMemoryKVHandler: RESPCommandHandler {
    private let map = Mutex<[[UInt8]: [UInt8]]>([:])

    func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
        let name = command[0]
        if RESPCommandName.matches(name, "PING") {
            reply.reply(command.count > 1 ? .bulk(command[1]) : .simple("PONG"))
        } else if RESPCommandName.matches(name, "ECHO"), command.count == 2 {
            reply.reply(.bulk(command[1]))
        } else if RESPCommandName.matches(name, "SET"), command.count >= 3 {
            map.withLock { $0[command[1]] = command[2] }
            reply.replyEncoding { RESPWriter.appendOK(to: &$0) }
        } else if RESPCommandName.matches(name, "GET"), command.count == 2 {
            let value = map.withLock { $0[command[1]] }
            reply.replyEncoding { out in
                if let value { RESPWriter.appendBulk(value, to: &out) } else { RESPWriter.appendNullBulk(to: &out) }
            }
        } else if RESPCommandName.matches(name, "DEL") {
            let removed = map.withLock { m in command.dropFirst().reduce(0) { $0 + (m.removeValue(forKey: $1) == nil ? 0 : 1) } }
            reply.reply(.integer(Int64(removed)))
        } else if RESPCommandName.matches(name, "COMMAND") || RESPCommandName.matches(name, "CONFIG") {
            reply.reply(.array([]))
        } else {
            reply.reply(.error("ERR unknown command"))
        }
    }

    var count: Int { map.withLock { $0.count } }
}

extension XCTestCase {
    /// Starts a server on 127.0.0.1 with an ephemeral port; shut down at teardown.
    func startRESPServer(_ handler: RESPCommandHandler, _ configure: (inout RESPServerConfiguration) -> Void = { _ in }) throws -> RESPServer {
        var configuration = RESPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.shutdownGraceMs = 2000
        configure(&configuration)
        let server = RESPServer(configuration: configuration, handler: handler)
        try server.start()
        addTeardownBlock { server.shutdown() }
        return server
    }

    func connectRESP(_ server: RESPServer, timeoutMs: Int = 10_000) throws -> RESPClient {
        try RESPClient(host: "127.0.0.1", port: server.port, timeoutMs: timeoutMs)
    }

    /// Polls `condition` every 5 ms for at most `seconds` (no timing is asserted, only the state).
    func respWaitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5000)
        }
        return condition()
    }
}
