import XCTest
import Net

/// Sockets on loopback only (127.0.0.1 and, when the machine has it, ::1): TCP and UDP
/// round trips, and the errors each failure gives.
final class SocketTests: XCTestCase {
    private let v4 = "127.0.0.1"

    func testTCPRoundTripOnIPv4Loopback() throws {
        try tcpRoundTrip(host: v4)
    }

    func testTCPRoundTripOnIPv6Loopback() throws {
        try skipWithoutIPv6Loopback()
        try tcpRoundTrip(host: "::1")
    }

    func testUDPRoundTripOnIPv4Loopback() throws {
        try udpRoundTrip(host: v4)
    }

    func testUDPRoundTripOnIPv6Loopback() throws {
        try skipWithoutIPv6Loopback()
        try udpRoundTrip(host: "::1")
    }

    func testConnectToClosedPortIsRefusedWithErrno() throws {
        let (listener, bound) = try Socket.listenTCP(try SocketAddress(host: v4, port: 0))
        listener.close()
        XCTAssertThrowsError(try Socket.connectTCP(host: v4, port: bound.port, timeoutMs: 1000)) {
            XCTAssertEqual($0 as? SocketError, .system(operation: "connect 127.0.0.1:\(bound.port)", errno: ECONNREFUSED))
        }
    }

    func testListeningTwiceOnOnePortFailsInBind() throws {
        let (first, bound) = try Socket.listenTCP(try SocketAddress(host: v4, port: 0))
        defer { first.close() }
        XCTAssertThrowsError(try Socket.listenTCP(bound)) {
            XCTAssertEqual($0 as? SocketError, .system(operation: "bind \(bound)", errno: EADDRINUSE))
        }
    }

    func testReadExactlyTimesOutAtTheDeadlineAndSeesTheEndOfStream() throws {
        let (listener, bound) = try Socket.listenTCP(try SocketAddress(host: v4, port: 0), nonBlocking: false)
        defer { listener.close() }
        let client = try Socket.connectTCP(to: bound, timeoutMs: 1000)
        defer { client.close() }
        guard case .connection(let server, _) = listener.accept() else { return XCTFail("no connection") }
        defer { server.close() }
        try client.writeAll([1, 2])
        let start = MonotonicClock.nowNs()
        XCTAssertThrowsError(try server.read(exactly: 3, deadlineNs: start + 100_000_000)) {
            XCTAssertEqual($0 as? SocketError, .timedOut)
        }
        XCTAssertLessThan(MonotonicClock.nowNs() - start, 2_000_000_000, "the deadline did not bound the read")
        client.shutdownWrite()
        XCTAssertThrowsError(try server.read(exactly: 1, deadlineNs: MonotonicClock.nowNs() + 1_000_000_000)) {
            XCTAssertEqual($0 as? SocketError, .connectionClosed)
        }
    }

    /// A length header alone must not make a read allocate what it claims (the gossip
    /// push-pull reads a header before any MAC was checked): 32 MiB claimed, 3 bytes sent.
    func testReadExactlyGrowsWithTheBytesThatArrive() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        let reader = Socket(fd: fds[0])
        let writer = Socket(fd: fds[1])
        defer { reader.close() }
        try writer.writeAll([1, 2, 3])
        writer.close()
        XCTAssertThrowsError(try reader.read(exactly: 32 << 20, deadlineNs: MonotonicClock.nowNs() + 1_000_000_000)) {
            XCTAssertEqual($0 as? SocketError, .connectionClosed)
        }
        XCTAssertEqual(try reader.read(exactly: 0, deadlineNs: MonotonicClock.nowNs() + 1_000_000), [])
    }

    func testNonBlockingSocketsReportWouldBlockAsNil() throws {
        let (listener, bound) = try Socket.listenTCP(try SocketAddress(host: v4, port: 0))
        defer { listener.close() }
        guard case .wouldBlock = listener.accept() else { return XCTFail("accepted from an empty backlog") }
        let client = try Socket.connectTCP(to: bound, timeoutMs: 1000)
        defer { client.close() }
        XCTAssertTrue(try listener.wait(for: Int16(POLLIN), timeoutMs: 1000))
        guard case .connection(let server, let remote) = listener.accept(nonBlocking: true) else { return XCTFail("no connection") }
        defer { server.close() }
        XCTAssertEqual(remote.description, try client.localAddress().description)
        var byte: UInt8 = 0
        XCTAssertNil(try withUnsafeMutableBytes(of: &byte) { try server.read(into: $0) })
    }

    func testAcceptOnAShutListenerSaysClosed() throws {
        let (listener, _) = try Socket.listenTCP(try SocketAddress(host: v4, port: 0), nonBlocking: false)
        defer { listener.close() }
        listener.shutdown()
        guard case .closed = listener.accept() else { return XCTFail("a shut listener accepted") }
    }

    // MARK: Helpers

    private func tcpRoundTrip(host: String) throws {
        let (listener, bound) = try Socket.listenTCP(try SocketAddress(host: host, port: 0), nonBlocking: false)
        defer { listener.close() }
        XCTAssertNotEqual(bound.port, 0)
        let client = try Socket.connectTCP(host: host, port: bound.port, sourceHost: host, timeoutMs: 1000)
        defer { client.close() }
        guard case .connection(let server, let remote) = listener.accept() else { return XCTFail("no connection") }
        defer { server.close() }
        XCTAssertEqual(remote.host, try SocketAddress(host: host, port: 0).host)
        XCTAssertEqual(server.remoteAddress()?.description, try client.localAddress().description)

        try client.writeAll(Array("hello ".utf8))
        let parts: [[UInt8]] = [Array("wor".utf8), Array("ld".utf8)]
        let gathered = try parts[0].withUnsafeBytes { a in try parts[1].withUnsafeBytes { b in try client.writev([a, b]) } }
        XCTAssertEqual(gathered, 5)
        let got = try server.read(exactly: 11, deadlineNs: MonotonicClock.nowNs() + 2_000_000_000)
        XCTAssertEqual(String(decoding: got, as: UTF8.self), "hello world")

        try server.writeAll([42])
        server.shutdownWrite()
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try client.read(into: $0) }, 1)
        XCTAssertEqual(buffer[0], 42)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try client.read(into: $0) }, 0, "end of stream")
    }

    private func udpRoundTrip(host: String) throws {
        let (a, aAddress) = try Socket.bindUDP(try SocketAddress(host: host, port: 0))
        let (b, bAddress) = try Socket.bindUDP(try SocketAddress(host: host, port: 0), nonBlocking: true)
        defer { a.close(); b.close() }
        XCTAssertTrue(try a.sendDatagram([1, 2, 3, 255], to: bAddress))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 8)
        defer { buffer.deallocate() }
        XCTAssertTrue(try b.wait(for: Int16(POLLIN), timeoutMs: 2000))
        let received = try b.receiveDatagram(into: buffer)
        XCTAssertEqual(received?.count, 4)
        XCTAssertEqual(Array(buffer.prefix(4)), [1, 2, 3, 255])
        XCTAssertEqual(received?.from.description, aAddress.description)
        XCTAssertNil(try b.receiveDatagram(into: buffer), "non-blocking and empty")

        // Blocking with a receive timeout (as the gossip shell reads): nil after it.
        try a.setReceiveTimeout(ms: 20)
        XCTAssertNil(try a.receiveDatagram(into: buffer))
        // A datagram larger than the buffer arrives truncated to it.
        XCTAssertTrue(try b.sendDatagram([UInt8](repeating: 7, count: 100), to: aAddress))
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 10, alignment: 8)
        defer { small.deallocate() }
        try a.setReceiveTimeout(ms: 2000)
        XCTAssertEqual(try a.receiveDatagram(into: small)?.count, 10)
    }

    /// Skips (not fails) on a machine without an IPv6 loopback (containers often have none).
    private func skipWithoutIPv6Loopback() throws {
        guard let address = try? SocketAddress(host: "::1", port: 0),
              let (probe, _) = try? Socket.bindUDP(address) else {
            throw XCTSkip("no IPv6 loopback (::1) on this machine")
        }
        probe.close()
    }
}
