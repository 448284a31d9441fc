import XCTest
import Gossip
import Synchronization
import Net
@testable import Peer

/// Real-socket tests on 127.0.0.1 / 127.0.0.2 with ephemeral ports. Waits are bounded
/// polls on state, never timing assertions.
final class PeerRPCTests: XCTestCase {
    private var servers: [PeerRPCServer] = []
    private var clients: [PeerRPCClient] = []

    override func tearDown() {
        for c in clients { c.shutdown() }
        for s in servers { s.stop() }
        clients = []
        servers = []
    }

    private func server(host: String = "127.0.0.1", port: UInt16 = 0, secret: String? = nil, id: String = "n1",
                        maxConnections: Int = 256,
                        handler: @escaping PeerRPCHandler = { req, respond in respond(.success(req.payload)) }) throws -> PeerRPCServer {
        var config = PeerRPCConfig(nodeID: id, host: host, secret: secret.map { Array($0.utf8) })
        config.maxConnections = maxConnections
        let s = try PeerRPCServer(config: config, port: port, handler: handler)
        servers.append(s)
        return s
    }

    private func client(host: String = "127.0.0.2", secret: String? = nil, id: String = "n2",
                        configure: (inout PeerRPCConfig) -> Void = { _ in }) throws -> PeerRPCClient {
        var config = PeerRPCConfig(nodeID: id, host: host, secret: secret.map { Array($0.utf8) })
        configure(&config)
        let c = try PeerRPCClient(config: config)
        clients.append(c)
        return c
    }

    /// Polls `condition` every 10 ms, at most `tries` times.
    private func eventually(tries: Int = 500, _ condition: () -> Bool) -> Bool {
        for _ in 0..<tries {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func testRequestResponseCarriesPayloadAndAuthenticatedNodeID() throws {
        let s = try server(secret: "k") { req, respond in
            respond(.success(Array("\(req.from)|\(req.authenticated)|\(req.type)|".utf8) + req.payload))
        }
        let c = try client(secret: "k")
        let r = c.call(to: Endpoint(host: "127.0.0.1", port: s.port), type: .replicaRead, payload: [1, 2, 3], timeoutMs: 5_000)
        XCTAssertEqual(try r.get(), Array("n2|true|replicaRead|".utf8) + [1, 2, 3])
        let cs = c.counters.snapshot(), ss = s.counters.snapshot()
        XCTAssertEqual(cs.connects, 1)
        XCTAssertEqual(cs.authFailures, 0)
        XCTAssertEqual(ss.authFailures, 0)
        XCTAssertGreaterThanOrEqual(ss.framesReceived, 2)  // client hello + request
        XCTAssertGreaterThan(cs.bytesReceived, 0)
    }

    func testClientSourceAddressIsItsOwnHost() throws {
        let s1 = try server(host: "127.0.0.1")
        let c2 = try client(host: "127.0.0.2")
        XCTAssertNoThrow(try c2.call(to: Endpoint(host: "127.0.0.1", port: s1.port), type: .ping, payload: []).get())
        let seen1 = s1.connectionPeerAddresses
        XCTAssertEqual(seen1.count, 1)
        XCTAssertTrue(seen1.allSatisfy { $0.hasPrefix("127.0.0.2:") }, "server saw \(seen1)")

        let s2 = try server(host: "127.0.0.2", id: "n2")
        let c3 = try client(host: "127.0.0.3", id: "n3")
        XCTAssertNoThrow(try c3.call(to: Endpoint(host: "127.0.0.2", port: s2.port), type: .ping, payload: []).get())
        XCTAssertTrue(s2.connectionPeerAddresses.allSatisfy { $0.hasPrefix("127.0.0.3:") }, "server saw \(s2.connectionPeerAddresses)")
    }

    /// The server holds every answer until all 1,000 requests are in, then answers them in
    /// reverse order: ids, not order, must match answers to callers.
    func testThousandMultiplexedRequestsAnsweredInReverseOrder() throws {
        let total = 1_000
        let held = Mutex<[(Int, RPCRespond)]>([])
        let s = try server { req, respond in
            let index = Int(req.payload[0]) << 8 | Int(req.payload[1])
            let all = held.withLock { h -> [(Int, RPCRespond)]? in
                h.append((index, respond))
                return h.count == total ? h : nil
            }
            guard let all else { return }
            DispatchQueue.global().async {
                for (i, r) in all.reversed() { r(.success([UInt8(i >> 8), UInt8(i & 0xff), 0xee])) }
            }
        }
        let c = try client()
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        let done = DispatchSemaphore(value: 0)
        let results = Mutex<[(Int, Result<[UInt8], RPCError>)]>([])
        DispatchQueue.concurrentPerform(iterations: total) { i in
            c.send(to: peer, type: .replicaWrite, payload: [UInt8(i >> 8), UInt8(i & 0xff)], timeoutMs: 30_000) { r in
                results.withLock { $0.append((i, r)) }
                done.signal()
            }
        }
        for _ in 0..<total { XCTAssertEqual(done.wait(timeout: .now() + .seconds(60)), .success) }
        let got = results.withLock { $0 }
        XCTAssertEqual(got.count, total)
        for (i, r) in got {
            XCTAssertEqual(try r.get(), [UInt8(i >> 8), UInt8(i & 0xff), 0xee], "request \(i)")
        }
        let order = got.map { $0.0 }
        XCTAssertNotEqual(order, Array(0..<total), "answers came back in request order")
        XCTAssertLessThanOrEqual(c.openConnections(to: peer), 2)
    }

    func testDeadlineExpiryCompletesWithTimeoutAndServerDropsTheLateAnswer() throws {
        let held = Mutex<[(RPCRequest, RPCRespond)]>([])
        let s = try server { req, respond in held.withLock { $0.append((req, respond)) } }
        let c = try client()
        let r = c.call(to: Endpoint(host: "127.0.0.1", port: s.port), type: .replicaRead, payload: [], timeoutMs: 100)
        XCTAssertEqual(r.rpcFailure, .timeout)
        XCTAssertEqual(c.counters.snapshot().timeouts, 1)
        let (req, respond) = try XCTUnwrap(held.withLock { $0.first })
        let deadline = try XCTUnwrap(req.deadline)
        XCTAssertTrue(eventually { deadline.hasPassed(at: RPCDeadline.now()) })
        respond(.success([1]))
        respond(.success([2]))  // a second answer is ignored
        XCTAssertEqual(s.counters.snapshot().lateResponsesDropped, 1)
    }

    func testServerRestartClientReconnectsAndLaterCallsSucceed() throws {
        var s = try server()
        let port = s.port
        let peer = Endpoint(host: "127.0.0.1", port: port)
        let c = try client { $0.backoffBaseMs = 20; $0.backoffMaxMs = 200 }
        XCTAssertNoThrow(try c.call(to: peer, type: .ping, payload: [1]).get())
        s.stop()
        XCTAssertTrue(eventually { c.openConnections(to: peer) == 0 })
        // While the server is down every call fails fast, never hangs.
        for _ in 0..<5 {
            switch c.call(to: peer, type: .ping, payload: [2], timeoutMs: 2_000) {
            case .failure(.unreachable), .failure(.connectionLost): break
            case let other: XCTFail("unexpected \(other)")
            }
        }
        XCTAssertGreaterThanOrEqual(c.counters.snapshot().connectFailures, 1)
        s = try server(port: port)
        var answered = false
        for _ in 0..<300 where !answered {
            if case .success(let body) = c.call(to: peer, type: .ping, payload: [3], timeoutMs: 2_000) {
                XCTAssertEqual(body, [3])
                answered = true
            } else {
                usleep(10_000)
            }
        }
        XCTAssertTrue(answered)
        let snap = c.counters.snapshot()
        XCTAssertEqual(snap.reconnects, 1)
        XCTAssertEqual(snap.connectionsLost, 1)
    }

    /// After a failed connect the pool backs off: calls inside the window fail at once with
    /// `.unreachable` and make no new connection attempt.
    func testFailedConnectStartsBackoffDuringWhichCallsFailFast() throws {
        // A bound socket that never listens: the port stays ours and refuses connections.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        try Socket(fd: holder).bind(SocketAddress(host: "127.0.0.1", port: 0))
        let port = try Socket(fd: holder).localAddress().port
        let c = try client { $0.backoffBaseMs = 60_000; $0.backoffMaxMs = 60_000 }
        let peer = Endpoint(host: "127.0.0.1", port: port)
        guard case .failure(.unreachable(let first)) = c.call(to: peer, type: .ping, payload: []) else { return XCTFail("connected to nothing") }
        XCTAssertTrue(first.contains("connect"), first)
        for _ in 0..<3 {
            guard case .failure(.unreachable(let why)) = c.call(to: peer, type: .ping, payload: []) else { return XCTFail("no backoff") }
            XCTAssertTrue(why.contains("backoff"), why)
        }
        XCTAssertEqual(c.counters.snapshot().connectFailures, 1)
    }

    func testWrongSecretIsRefusedAndCountedOnBothEnds() throws {
        let s = try server(secret: "right")
        let c = try client(secret: "wrong")
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        guard case .failure(.authenticationFailed) = c.call(to: peer, type: .ping, payload: []) else { return XCTFail("wrong secret accepted") }
        XCTAssertEqual(c.counters.snapshot().authFailures, 1)
        XCTAssertEqual(s.counters.snapshot().authFailures, 1)
        XCTAssertTrue(eventually { s.connectionCount == 0 })

        // No secret at all against a server with one: refused too.
        let open = try client(secret: nil, id: "n3")
        guard case .failure(.authenticationFailed) = open.call(to: peer, type: .ping, payload: []) else { return XCTFail("missing secret accepted") }
        XCTAssertTrue(eventually { s.counters.snapshot().authFailures == 2 })
    }

    func testUnauthenticatedConnectionsAreServedAndCounted() throws {
        let s = try server(secret: nil)
        let c = try client(secret: nil)
        XCTAssertNoThrow(try c.call(to: Endpoint(host: "127.0.0.1", port: s.port), type: .ping, payload: []).get())
        XCTAssertEqual(c.counters.snapshot().unauthenticatedConnections, 1)
        XCTAssertEqual(s.counters.snapshot().unauthenticatedConnections, 1)
    }

    func testOutstandingBoundFailsTheExtraRequestWithOverloaded() throws {
        let held = Mutex<[RPCRespond]>([])
        let s = try server { _, respond in held.withLock { $0.append(respond) } }
        let c = try client { $0.maxOutstandingPerPeer = 10 }
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        let failures = Mutex<[RPCError]>([])
        for _ in 0..<10 { c.send(to: peer, type: .ping, payload: [], timeoutMs: 30_000) { r in if case .failure(let e) = r { failures.withLock { $0.append(e) } } } }
        XCTAssertTrue(eventually { held.withLock { $0.count } == 10 })
        XCTAssertEqual(c.call(to: peer, type: .ping, payload: []).rpcFailure, .overloaded)
        XCTAssertEqual(c.counters.snapshot().overloaded, 1)
        XCTAssertEqual(failures.withLock { $0 }, [])
        for r in held.withLock({ $0 }) { r(.failure(.overloaded)) }
        XCTAssertTrue(eventually { failures.withLock { $0.count } == 10 })
        XCTAssertEqual(failures.withLock { $0 }, Array(repeating: .overloaded, count: 10))
    }

    func testConnectionsPastTheServerBoundAreRefusedAndCounted() throws {
        let s = try server(maxConnections: 1)
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        XCTAssertNoThrow(try client(id: "a").call(to: peer, type: .ping, payload: []).get())
        guard case .failure(.unreachable) = try client(id: "b").call(to: peer, type: .ping, payload: []) else { return XCTFail("second connection served") }
        XCTAssertEqual(s.counters.snapshot().connectionsRefused, 1)
        XCTAssertEqual(s.connectionCount, 1)
    }

    /// A raw peer speaking the handshake then sending an unknown type, then garbage: the
    /// first gets an error frame, the second closes that connection; others keep working.
    func testUnknownTypeGetsAnErrorAndGarbageClosesOnlyThatConnection() throws {
        let s = try server()
        let sock = try Socket.connectTCP(host: "127.0.0.1", port: s.port, sourceHost: "127.0.0.2", timeoutMs: 1_000)
        let fd = sock.fd
        defer { close(fd) }
        try sock.setTimeouts(receiveMs: 5_000, sendMs: 5_000)
        var decoder = FrameDecoder()
        var auth = PeerAuthClient(nodeID: "raw", secret: nil, nonce: PeerAuth.makeNonce())
        let hello = try RPCSocket.readFrame(sock, &decoder).flatMap { auth.onServerHello($0) }.get()
        XCTAssertTrue(writeAll(sock, hello.encoded()))
        XCTAssertEqual(try RPCSocket.readFrame(sock, &decoder).flatMap { auth.onServerReply($0) }.get().peerID, "n1")

        XCTAssertTrue(writeAll(sock, Frame(kind: .request, type: 999, requestID: 42, timeoutMs: 1000, payload: []).encoded()))
        let answer = try RPCSocket.readFrame(sock, &decoder).get()
        XCTAssertEqual(answer.kind, .error)
        XCTAssertEqual(answer.requestID, 42)
        XCTAssertEqual(RPCError.decodeErrorBody(answer.payload, type: answer.type), .unknownMessageType(999))

        XCTAssertTrue(writeAll(sock, Array("GET / HTTP/1.1\r\n\r\n".utf8)))
        XCTAssertTrue(eventually { s.counters.snapshot().decodeErrors == 1 })
        var byte: UInt8 = 0
        XCTAssertEqual(recv(fd, &byte, 1, 0), 0, "server kept a garbage connection open")

        XCTAssertNoThrow(try client().call(to: Endpoint(host: "127.0.0.1", port: s.port), type: .ping, payload: []).get())
    }

    func testOneWayMessagesOpenAConnectionAndReachTheHandlerWithoutAnswer() throws {
        let got = Mutex<[RPCRequest]>([])
        let s = try server { req, respond in
            got.withLock { $0.append(req) }
            respond(.success([9]))  // ignored for one-way messages
        }
        let c = try client()
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        XCTAssertFalse(c.sendOneWay(to: peer, type: .hintDelivery, payload: [1]), "no connection yet: not queued")
        XCTAssertTrue(eventually { c.openConnections(to: peer) == 1 })
        XCTAssertTrue(c.sendOneWay(to: peer, type: .hintDelivery, payload: [2]))
        XCTAssertTrue(eventually { got.withLock { $0.count } == 1 })
        let req = try XCTUnwrap(got.withLock { $0.first })
        XCTAssertTrue(req.isOneWay)
        XCTAssertEqual(req.payload, [2])
        XCTAssertNil(req.deadline)
        XCTAssertNoThrow(try c.call(to: peer, type: .ping, payload: [3]).get())  // nothing stray came back
        // hello, accept, one answer (counted just after the write, hence the poll)
        XCTAssertTrue(eventually { s.counters.snapshot().framesSent == 3 })
        XCTAssertEqual(s.counters.snapshot().framesSent, 3)
    }

    func testHugeTimeoutIsClampedNotWrapped() throws {
        XCTAssertEqual(PeerRPCClient.budget(Int.max), Int(UInt32.max))
        XCTAssertEqual(PeerRPCClient.budget(-5), 1)
        let now = RPCDeadline.now()
        XCTAssertFalse(now.adding(ms: PeerRPCClient.budget(Int.max)).hasPassed(at: now))
    }

    func testOversizedRequestFailsWithoutSending() throws {
        let s = try server()
        let c = try client { $0.maxFrameBytes = 1024 }
        let r = c.call(to: Endpoint(host: "127.0.0.1", port: s.port), type: .ping, payload: Array(repeating: 0, count: 2000))
        XCTAssertEqual(r.rpcFailure, .frameTooLarge(bytes: 2026))
        XCTAssertEqual(c.counters.snapshot().framesSent, 0)
    }

    func testShutdownFailsQueuedRequestsAndLaterSendsImmediately() throws {
        let held = Mutex<[RPCRespond]>([])
        let s = try server { _, respond in held.withLock { $0.append(respond) } }
        let c = try client()
        let peer = Endpoint(host: "127.0.0.1", port: s.port)
        let result = Mutex<Result<[UInt8], RPCError>?>(nil)
        c.send(to: peer, type: .ping, payload: [], timeoutMs: 30_000) { r in result.withLock { $0 = r } }
        XCTAssertTrue(eventually { held.withLock { $0.count } == 1 })
        c.shutdown()
        XCTAssertTrue(eventually { result.withLock { $0 } != nil })
        XCTAssertEqual(result.withLock { $0 }?.rpcFailure, .connectionLost)
        XCTAssertEqual(c.call(to: peer, type: .ping, payload: []).rpcFailure, .shutdown)
    }
}

extension Result {
    var rpcFailure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
