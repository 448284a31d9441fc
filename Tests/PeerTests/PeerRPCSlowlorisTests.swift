import Foundation
import Gossip
import Synchronization
import XCTest
import Net
@testable import Peer

/// Issue 14, high 4: strangers who can reach the peer port (with or without knowing the
/// cluster secret) cannot hold the server's threads or memory: a whole-handshake deadline,
/// a 1 KiB handshake frame bound, and a small per-address budget. Real sockets on 127.0.0.x;
/// every wait is bounded.
final class PeerRPCSlowlorisTests: XCTestCase {
    private var servers: [PeerRPCServer] = []
    private var clients: [PeerRPCClient] = []

    override func tearDown() {
        for c in clients { c.shutdown() }
        for s in servers { s.stop() }
    }

    private func server(secret: String?, configure: (inout PeerRPCConfig) -> Void = { _ in }) throws -> PeerRPCServer {
        var config = PeerRPCConfig(nodeID: "n1", host: "127.0.0.1", secret: secret.map { Array($0.utf8) })
        configure(&config)
        let s = try PeerRPCServer(config: config, port: 0) { req, respond in respond(.success(req.payload)) }
        servers.append(s)
        return s
    }

    private func realPeer(secret: String?) throws -> PeerRPCClient {
        let c = try PeerRPCClient(config: PeerRPCConfig(nodeID: "n2", host: "127.0.0.2", secret: secret.map { Array($0.utf8) }))
        clients.append(c)
        return c
    }

    private func eventually(ms: Int, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(Double(ms) / 1000)
        while Date() < end {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Holds `count` connections from `host` open, each dripping one byte of a frame header
    /// (claiming a 64 MiB payload) every `dripMs`, reopening any the server closes.
    final class Attacker: @unchecked Sendable {
        let stop = Atomic<Bool>(false)
        let opened = Atomic<Int>(0)
        private let done = DispatchSemaphore(value: 0)

        init(host: String, port: UInt16, count: Int, dripMs: Int) {
            var header = Frame(kind: .request, type: 1, requestID: 1, payload: []).encoded()
            header[18] = 0x04  // payload length 0x04000000: 64 MiB
            let thread = Thread { [self] in
                var fds: [(fd: Int32, sent: Int)] = []
                while !stop.load(ordering: .relaxed) {
                    while fds.count < count, !stop.load(ordering: .relaxed) {
                        guard let sock = try? Socket.connectTCP(host: "127.0.0.1", port: port, sourceHost: host, timeoutMs: 200) else { break }
                        try? sock.setTimeouts(receiveMs: 1, sendMs: 50)
                        let fd = sock.fd
                        fds.append((fd, 0))
                        opened.add(1, ordering: .relaxed)
                    }
                    for i in fds.indices.reversed() {
                        let byte = header[fds[i].sent % header.count]
                        if Glibc.send(fds[i].fd, [byte], 1, Int32(MSG_NOSIGNAL)) != 1 {
                            close(fds[i].fd)
                            fds.remove(at: i)
                        } else {
                            fds[i].sent += 1
                        }
                    }
                    usleep(UInt32(dripMs * 1000))
                }
                for f in fds { close(f.fd) }
                done.signal()
            }
            thread.start()
        }

        func finish() {
            stop.store(true, ordering: .relaxed)
            _ = done.wait(timeout: .now() + 10)
        }
    }

    private func assertRealPeerServed(_ s: PeerRPCServer, secret: String?, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try realPeer(secret: secret)
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        let started = Date()
        var served = 0
        for i in 0..<20 {
            if case .success(let body) = c.call(to: peer, type: .ping, payload: [UInt8(i)], timeoutMs: 2_000), body == [UInt8(i)] { served += 1 }
        }
        XCTAssertEqual(served, 20, "a real peer's RPCs were not served while strangers held connections", file: file, line: line)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, file: file, line: line)
    }

    func testSlowStrangersCannotStarveARealPeerWithASecret() throws {
        let s = try server(secret: "k")
        let attacker = Attacker(host: "127.0.0.9", port: s.port, count: 300, dripMs: 200)
        defer { attacker.finish() }
        XCTAssertTrue(eventually(ms: 5_000) { attacker.opened.load(ordering: .relaxed) >= 300 })
        try assertRealPeerServed(s, secret: "k")
        XCTAssertGreaterThan(s.counters.snapshot().handshakesRefused, 0)
        XCTAssertLessThanOrEqual(s.connectionCount, 1 + 4 + 2, "strangers held more than their handshake budget")
    }

    func testSlowStrangersCannotStarveARealPeerWithoutASecret() throws {
        let s = try server(secret: nil)
        let attacker = Attacker(host: "127.0.0.9", port: s.port, count: 300, dripMs: 200)
        defer { attacker.finish() }
        XCTAssertTrue(eventually(ms: 5_000) { attacker.opened.load(ordering: .relaxed) >= 300 })
        try assertRealPeerServed(s, secret: nil)
    }

    /// A client hello dripped a byte at a time never outlives the handshake deadline (it
    /// once got a fresh 2 s per recv, so a drip held the thread forever).
    func testHandshakeHasOneDeadlineForAllItsBytes() throws {
        let s = try server(secret: "k") { $0.handshakeTimeoutMs = 1_000 }
        let sock = try Socket.connectTCP(host: "127.0.0.1", port: s.port, sourceHost: "127.0.0.3", timeoutMs: 1_000)
        let fd = sock.fd
        defer { close(fd) }
        try sock.setTimeouts(receiveMs: 5_000, sendMs: 1_000)
        var decoder = FrameDecoder()
        var auth = PeerAuthClient(nodeID: "slow", secret: Array("k".utf8), nonce: PeerAuth.makeNonce())
        let hello = try RPCSocket.readFrame(sock, &decoder).flatMap { auth.onServerHello($0) }.get().encoded()
        let started = Date()
        var closed = false
        for byte in hello.dropLast() {
            if Glibc.send(fd, [byte], 1, Int32(MSG_NOSIGNAL)) != 1 { closed = true; break }
            usleep(100_000)
            if Date().timeIntervalSince(started) > 4 { break }
        }
        var b: UInt8 = 0
        if !closed { closed = recv(fd, &b, 1, 0) <= 0 }
        XCTAssertTrue(closed, "a dripping handshake was kept open")
        XCTAssertLessThan(Date().timeIntervalSince(started), 3.5)
        XCTAssertTrue(eventually(ms: 2_000) { s.counters.snapshot().handshakeTimeouts == 1 })
    }

    /// Before the handshake a header may ask for at most 1 KiB: a larger one closes the
    /// connection at once, without buffering its payload.
    func testHandshakeFrameOverOneKibibyteIsRefusedAtItsHeader() throws {
        let s = try server(secret: "k")
        let sock = try Socket.connectTCP(host: "127.0.0.1", port: s.port, sourceHost: "127.0.0.3", timeoutMs: 1_000)
        let fd = sock.fd
        defer { close(fd) }
        try sock.setTimeouts(receiveMs: 3_000, sendMs: 1_000)
        var decoder = FrameDecoder()
        _ = try RPCSocket.readFrame(sock, &decoder).get()
        let big = Frame(kind: .handshake, type: PeerAuth.Step.clientHello.rawValue, requestID: 0, payload: [UInt8](repeating: 0, count: 2_000)).encoded()
        XCTAssertTrue(writeAll(sock, Array(big.prefix(FrameFormat.headerBytes))))
        var b: UInt8 = 0
        let started = Date()
        XCTAssertLessThanOrEqual(recv(fd, &b, 1, 0), 0, "the server waited for a 2,000-byte handshake frame")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        XCTAssertEqual(s.counters.snapshot().authFailures, 1)
    }

    /// Without a secret anyone completes the handshake; one address is still served at most
    /// `maxUnauthenticatedPerAddress` connections, and other addresses are unaffected.
    func testOneAddressGetsABoundedShareOfUnauthenticatedConnections() throws {
        let s = try server(secret: nil) { $0.maxUnauthenticatedPerAddress = 5 }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var served = 0
        for i in 0..<8 {
            let sock = try Socket.connectTCP(host: "127.0.0.1", port: s.port, sourceHost: "127.0.0.9", timeoutMs: 1_000)
            let fd = sock.fd
            fds.append(fd)
            try sock.setTimeouts(receiveMs: 2_000, sendMs: 1_000)
            var decoder = FrameDecoder()
            var auth = PeerAuthClient(nodeID: "x\(i)", secret: nil, nonce: PeerAuth.makeNonce())
            guard let hello = try? RPCSocket.readFrame(sock, &decoder).flatMap({ auth.onServerHello($0) }).get(),
                  writeAll(sock, hello.encoded()),
                  (try? RPCSocket.readFrame(sock, &decoder).flatMap({ auth.onServerReply($0) }).get()) != nil else { continue }
            // Served means a request is answered.
            guard writeAll(sock, Frame(kind: .request, type: PeerMessageType.ping.rawValue, requestID: 1, timeoutMs: 1_000, payload: [7]).encoded()),
                  let answer = try? RPCSocket.readFrame(sock, &decoder).get(), answer.kind == .response else { continue }
            served += 1
        }
        XCTAssertEqual(served, 5)
        try assertRealPeerServed(s, secret: nil)
    }
}
