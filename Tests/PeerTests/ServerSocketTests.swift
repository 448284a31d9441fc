import XCTest
import Foundation
import Synchronization
@testable import Peer

/// The socket helpers and the event loop under the RESP server (and the gossip transport).
final class ServerSocketTests: XCTestCase {
    func testSocketAddressParsesHostPortAndIPv6() throws {
        let v4 = try SocketAddress(parsing: "127.0.0.1:6380")
        XCTAssertEqual(v4.description, "127.0.0.1:6380")
        XCTAssertEqual(v4.port, 6380)
        let v6 = try SocketAddress(parsing: "[::1]:7946")
        XCTAssertEqual(v6.description, "[::1]:7946")
        XCTAssertThrowsError(try SocketAddress(parsing: "127.0.0.1"))
        XCTAssertThrowsError(try SocketAddress(parsing: "127.0.0.1:99999"))
        XCTAssertThrowsError(try SocketAddress(parsing: "not a host!:1"))
    }

    func testUDPDatagramRoundTripBetweenLoopbackAddresses() throws {
        let a = try Socket.bindUDP(try SocketAddress(host: "127.0.0.1", port: 0))
        let b = try Socket.bindUDP(try SocketAddress(host: "127.0.0.2", port: 0))
        defer { close(a.fd); close(b.fd) }
        XCTAssertTrue(try Socket.sendDatagram(a.fd, [1, 2, 3, 255], to: b.address))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 8)
        defer { buffer.deallocate() }
        var received: (count: Int, from: SocketAddress)?
        XCTAssertTrue(respWaitUntil {
            received = try? Socket.receiveDatagram(b.fd, into: buffer)
            return received != nil
        })
        XCTAssertEqual(received?.count, 4)
        XCTAssertEqual(Array(buffer.prefix(4)), [1, 2, 3, 255])
        XCTAssertEqual(received?.from.description, a.address.description)
        XCTAssertNil(try Socket.receiveDatagram(b.fd, into: buffer)) // non-blocking when empty
    }

    func testConnectToClosedPortFailsWithErrno() throws {
        let listener = try Socket.listenTCP(try SocketAddress(host: "127.0.0.1", port: 0))
        let port = listener.address.port
        close(listener.fd)
        XCTAssertThrowsError(try Socket.connectTCP(to: try SocketAddress(host: "127.0.0.1", port: port), timeoutMs: 1000)) {
            XCTAssertEqual($0 as? SocketError, .system(operation: "connect 127.0.0.1:\(port)", errno: ECONNREFUSED))
        }
    }

    func testListeningTwiceOnOnePortFails() throws {
        let first = try Socket.listenTCP(try SocketAddress(host: "127.0.0.1", port: 0))
        defer { close(first.fd) }
        XCTAssertThrowsError(try Socket.listenTCP(first.address))
    }

    func testEventLoopRunsTasksFromOtherThreadsOnItsThreadInOrder() throws {
        let loop = try EventLoop(name: "test")
        try loop.start()
        defer { loop.stop(); loop.join() }
        XCTAssertFalse(loop.inLoop)
        let seen = Mutex<[Int]>([])
        let onLoop = Atomic<Int>(0)
        for i in 0..<1000 {
            loop.execute {
                if loop.inLoop { onLoop.add(1, ordering: .relaxed) }
                seen.withLock { $0.append(i) }
            }
        }
        XCTAssertTrue(respWaitUntil { seen.withLock { $0.count } == 1000 })
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<1000))
        XCTAssertEqual(onLoop.load(ordering: .relaxed), 1000)
    }

    func testClientThatNeverReadsIsDisconnectedAtOutputBound() throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler) { $0.maxOutputBytes = 4 << 20 }
        let client = try connectRESP(server)
        for i in 0..<24 { client.send([Array("BIG".utf8), Array("\(i)".utf8)]) }
        try client.flush()
        var tokens: [([[UInt8]], RESPReplyToken)] = []
        XCTAssertTrue(respWaitUntil { tokens += handler.take(); return tokens.count == 24 })
        // 24 x 4 MiB of replies, far beyond what the kernel buffers between the two ends.
        let big = [UInt8](repeating: 0x62, count: 4 << 20)
        for (_, token) in tokens { token.reply(.bulk(big)) }
        XCTAssertTrue(respWaitUntil { server.stats.connections == 0 })
        var replies = 0
        do {
            for _ in 0..<24 { _ = try client.readReply(); replies += 1 }
        } catch {
            XCTAssertEqual(error, .socket(.connectionClosed))
        }
        XCTAssertLessThan(replies, 24)
        XCTAssertEqual(server.stats.protocolErrorsTotal, 0)
    }
}
