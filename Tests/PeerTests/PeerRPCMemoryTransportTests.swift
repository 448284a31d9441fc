import XCTest
import Gossip
import Synchronization
@testable import Peer

final class PeerRPCMemoryTransportTests: XCTestCase {
    private func wait(_ t: any RPCTransport, _ peer: Endpoint, _ payload: [UInt8], timeoutMs: Int = 2_000) -> Result<[UInt8], RPCError>? {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<[UInt8], RPCError>?>(nil)
        t.send(to: peer, type: .ping, payload: payload, timeoutMs: timeoutMs) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        _ = done.wait(timeout: .now() + .seconds(10))
        return box.withLock { $0 }
    }

    func testRequestsReachHandlersUntilTheLinkIsCut() throws {
        let net = RPCMemoryTransport.Network()
        let a = Endpoint(host: "127.0.0.1", port: 7947)
        net.register(a, nodeID: "n1") { req, respond in respond(.success(Array(req.from.utf8) + req.payload)) }
        let t2 = RPCMemoryTransport(network: net, nodeID: "n2", host: "127.0.0.2")
        XCTAssertEqual(try wait(t2, a, [1])?.get(), Array("n2".utf8) + [1])
        net.setCut("127.0.0.2", "127.0.0.1", true)
        guard case .failure(.unreachable)? = wait(t2, a, [1]) else { return XCTFail("cut link delivered") }
        net.setCut("127.0.0.1", "127.0.0.2", false)
        XCTAssertNoThrow(try wait(t2, a, [2])?.get())
    }

    func testSilentHandlerTimesOut() {
        let net = RPCMemoryTransport.Network()
        let a = Endpoint(host: "127.0.0.1", port: 7947)
        net.register(a, nodeID: "n1") { _, _ in }
        let t2 = RPCMemoryTransport(network: net, nodeID: "n2", host: "127.0.0.2")
        XCTAssertEqual(wait(t2, a, [], timeoutMs: 50)?.rpcFailure, .timeout)
    }
}
