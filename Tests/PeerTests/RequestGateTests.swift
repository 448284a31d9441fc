import Synchronization
import XCTest
@testable import Peer

/// Issue 14: peer requests queued on the node's scheduler are bounded in count and bytes;
/// past the bound they are refused `overloaded` at once instead of queued without limit.
final class RequestGateTests: XCTestCase {
    /// A scheduler that holds its work until the test runs it (a store stalled in fsync).
    final class HeldScheduler: NodeScheduler, @unchecked Sendable {
        private let work = Mutex<[@Sendable () -> Void]>([])
        func after(ms: Int, _ w: @escaping @Sendable () -> Void) {}
        func async(_ w: @escaping @Sendable () -> Void) { work.withLock { $0.append(w) } }
        var queued: Int { work.withLock { $0.count } }
        func runAll() {
            let all = work.withLock { w -> [@Sendable () -> Void] in defer { w = [] }; return w }
            for w in all { w() }
        }
    }

    final class NoTransport: PeerTransport, @unchecked Sendable {
        func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
                  completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) { completion(.failure(.unreachable(node))) }
    }

    func engine(maxRequests: Int, maxBytes: Int, scheduler: HeldScheduler) throws -> NodeEngine {
        var limits = NodeEngine.Limits()
        limits.maxQueuedPeerRequests = maxRequests
        limits.maxQueuedPeerBytes = maxBytes
        return NodeEngine(nodeID: "n1", replica: try ForgedContextTests.memoryReplica("n1"), cluster: ClusterView(localID: "n1"),
                          transport: NoTransport(), scheduler: scheduler, limits: limits, background: scheduler)
    }

    func testRequestsPastTheCountBoundAreRefusedAtOnceAndNothingIsQueued() throws {
        let held = HeldScheduler()
        let e = try engine(maxRequests: 4, maxBytes: 1 << 20, scheduler: held)
        let answers = Mutex<[Result<[UInt8], RPCError>]>([])
        for i in 0..<10 {
            e.serveQueued(type: .ping, payload: [UInt8(i)]) { r in answers.withLock { $0.append(r) } }
        }
        XCTAssertEqual(held.queued, 4, "only the admitted requests wait on the scheduler")
        XCTAssertEqual(answers.withLock { $0 }, Array(repeating: .failure(.overloaded), count: 6), "the rest are refused at once")
        XCTAssertEqual(e.peerGate.refused.load(ordering: .relaxed), 6)
        XCTAssertEqual(e.peerGate.inFlight.requests, 4)
        held.runAll()
        XCTAssertEqual(answers.withLock { $0.suffix(4) }, (0..<4).map { .success([UInt8($0)]) })
        XCTAssertEqual(e.peerGate.inFlight.requests, 0, "answered requests leave the gate")
        XCTAssertEqual(e.peerGate.inFlight.bytes, 0)
        e.serveQueued(type: .ping, payload: [9]) { r in answers.withLock { $0.append(r) } }
        XCTAssertEqual(held.queued, 1, "admitted again once the queue drained")
    }

    func testRequestsPastTheByteBoundAreRefusedButOneLargeRequestAlwaysGoes() throws {
        let held = HeldScheduler()
        let e = try engine(maxRequests: 100, maxBytes: 1_000, scheduler: held)
        let refused = Atomic(0)
        let count = { @Sendable (r: Result<[UInt8], RPCError>) in if r == .failure(.overloaded) { refused.wrappingAdd(1, ordering: .relaxed) } }
        e.serveQueued(type: .ping, payload: [UInt8](repeating: 1, count: 5_000), respond: count)
        XCTAssertEqual(held.queued, 1, "one request larger than the bound is served when nothing else is")
        e.serveQueued(type: .ping, payload: [1], respond: count)
        XCTAssertEqual(refused.load(ordering: .relaxed), 1)
        held.runAll()
        for _ in 0..<3 { e.serveQueued(type: .ping, payload: [UInt8](repeating: 1, count: 400), respond: count) }
        XCTAssertEqual(held.queued, 2, "two of 400 bytes fit 1,000; the third does not")
        XCTAssertEqual(refused.load(ordering: .relaxed), 2)
        XCTAssertEqual(e.peerGate.inFlight.bytes, 800)
    }
}
