import XCTest
@testable import Peer

final class PeerRPCAuthTests: XCTestCase {
    private func handshake(serverSecret: [UInt8]?, clientSecret: [UInt8]?,
                           tamper: ((inout Frame) -> Void)? = nil) -> (server: PeerAuthServer.Outcome?, client: Result<PeerAuthResult, RPCError>) {
        let server = PeerAuthServer(nodeID: "n1", secret: serverSecret, nonce: PeerAuth.makeNonce())
        var client = PeerAuthClient(nodeID: "n2", secret: clientSecret, nonce: PeerAuth.makeNonce())
        let hello: Frame
        switch client.onServerHello(server.hello()) {
        case .failure(let e): return (nil, .failure(e))
        case .success(let f): hello = f
        }
        let outcome = server.onClientHello(hello)
        switch outcome {
        case .accept(_, var reply), .reject(_, var reply):
            tamper?(&reply)
            return (outcome, client.onServerReply(reply))
        }
    }

    func testSameSecretAuthenticatesBothEnds() {
        let (server, client) = handshake(serverSecret: Array("s3cret".utf8), clientSecret: Array("s3cret".utf8))
        guard case .accept(let seen, _)? = server else { return XCTFail("server rejected: \(String(describing: server))") }
        XCTAssertEqual(seen, PeerAuthResult(peerID: "n2", authenticated: true))
        XCTAssertEqual(try client.get(), PeerAuthResult(peerID: "n1", authenticated: true))
    }

    func testNoSecretAnywhereExchangesIDsUnauthenticated() {
        let (server, client) = handshake(serverSecret: nil, clientSecret: [])
        guard case .accept(let seen, _)? = server else { return XCTFail("server rejected") }
        XCTAssertEqual(seen, PeerAuthResult(peerID: "n2", authenticated: false))
        XCTAssertEqual(try client.get(), PeerAuthResult(peerID: "n1", authenticated: false))
    }

    func testWrongSecretIsRejectedByTheServer() {
        let (server, client) = handshake(serverSecret: Array("a".utf8), clientSecret: Array("b".utf8))
        guard case .reject(let reason, _)? = server else { return XCTFail("server accepted a wrong secret") }
        XCTAssertEqual(reason, "bad cluster secret")
        guard case .failure(.authenticationFailed) = client else { return XCTFail("client accepted a reject") }
    }

    func testSecretOnOneEndOnlyFailsEitherWay() {
        guard case .failure(.authenticationFailed) = handshake(serverSecret: Array("a".utf8), clientSecret: nil).client else { return XCTFail() }
        guard case .failure(.authenticationFailed) = handshake(serverSecret: nil, clientSecret: Array("a".utf8)).client else { return XCTFail() }
    }

    func testForgedServerProofIsRejectedByTheClient() {
        let (_, client) = handshake(serverSecret: Array("k".utf8), clientSecret: Array("k".utf8)) { reply in
            reply.payload[reply.payload.count - 1] ^= 1
        }
        guard case .failure(.authenticationFailed) = client else { return XCTFail("client accepted a forged proof") }
    }

    /// A client hello recorded on one connection is useless on another: the server's nonce differs.
    func testReplayedClientHelloIsRejected() {
        let secret = Array("k".utf8)
        let first = PeerAuthServer(nodeID: "n1", secret: secret, nonce: PeerAuth.makeNonce())
        var client = PeerAuthClient(nodeID: "n2", secret: secret, nonce: PeerAuth.makeNonce())
        guard case .success(let recorded) = client.onServerHello(first.hello()) else { return XCTFail() }
        let second = PeerAuthServer(nodeID: "n1", secret: secret, nonce: PeerAuth.makeNonce())
        guard case .reject = second.onClientHello(recorded) else { return XCTFail("replay accepted") }
    }

    func testBackoffDoublesWithinJitterBoundsAndCaps() {
        var b = RPCBackoff(baseMs: 50, maxMs: 1000)
        var ceilings: [Int] = []
        for _ in 0..<8 {
            let low = b.onFailure(randomUnit: 0)
            ceilings.append(low * 2)
        }
        XCTAssertEqual(ceilings, [50, 100, 200, 400, 800, 1000, 1000, 1000])
        var c = RPCBackoff(baseMs: 50, maxMs: 1000)
        XCTAssertEqual(c.onFailure(randomUnit: 0.999_999), 49)
        for _ in 0..<100 { XCTAssertLessThanOrEqual(c.onFailure(randomUnit: 0.999_999), 1000) }
        c.onSuccess()
        XCTAssertEqual(c.onFailure(randomUnit: 0), 25)
    }
}
