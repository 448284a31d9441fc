import Net
import XCTest
import Foundation
import Synchronization
import Glibc
@testable import Peer

/// The node-wide bound on unanswered client commands (issue 14): its accounting alone, then
/// over real sockets with many pipelining connections against a handler that holds replies.
final class ClientRequestBudgetTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testAcquireStopsAtTheLimitAndReleaseFreesOneRoom() {
        let budget = ClientRequestBudget(limit: 3)
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertFalse(budget.tryAcquire())
        XCTAssertEqual(budget.queued, 3)
        XCTAssertFalse(budget.release(), "nobody waits: no wake-up")
        XCTAssertEqual(budget.queued, 2)
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertFalse(budget.tryAcquire())
        XCTAssertEqual(budget.peakQueued, 3)
    }

    func testAWaiterIsWokenByTheNextReleaseExactlyOnce() {
        let budget = ClientRequestBudget(limit: 1)
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertFalse(budget.waitOrAcquire(), "full: the caller waits")
        XCTAssertEqual(budget.pausedTotal.load(ordering: .relaxed), 1)
        XCTAssertTrue(budget.release(), "a waiter: wake it")
        XCTAssertTrue(budget.tryAcquire(), "the woken caller takes the room")
        XCTAssertFalse(budget.release(), "the wake-up is given once per wait")
        XCTAssertEqual(budget.queued, 0)
    }

    func testARegisteredWaiterSeesRoomFreedBeforeItRegistered() {
        let budget = ClientRequestBudget(limit: 1)
        XCTAssertTrue(budget.tryAcquire())
        XCTAssertFalse(budget.tryAcquire())
        _ = budget.release() // between the failed try and the registration
        XCTAssertTrue(budget.waitOrAcquire(), "the retry after registering finds the room")
        XCTAssertEqual(budget.pausedTotal.load(ordering: .relaxed), 0)
    }

    func testConcurrentAcquiresNeverPassTheLimit() {
        let budget = ClientRequestBudget(limit: 100)
        let admitted = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 {
                if budget.tryAcquire() {
                    admitted.add(1, ordering: .relaxed)
                    XCTAssertLessThanOrEqual(budget.queued, 100)
                    _ = budget.release()
                }
            }
        }
        XCTAssertEqual(budget.queued, 0)
        XCTAssertLessThanOrEqual(budget.peakQueued, 100)
        XCTAssertGreaterThan(admitted.load(ordering: .relaxed), 0)
    }

    /// 20 connections each pipeline 100 commands (each under its own bound of 128) against a
    /// handler that answers nothing: the node holds at most `maxQueuedCommands` of the 2,000,
    /// a fresh client waits instead of being refused, and once replies flow every command of
    /// every connection, and the fresh client's, is answered in order.
    func testManyPipeliningConnectionsStayWithinTheNodeBoundAndAllAreServedOnceRepliesFlow() throws {
        let handler = RESPTestDeferredHandler()
        let bound = 150
        let server = try startRESPServer(handler) { $0.maxQueuedCommands = bound; $0.loopCount = 2 }
        var clients: [RESPClient] = []
        for c in 0..<20 {
            let client = try connectRESP(server)
            for i in 0..<100 { client.send([b("ECHO"), b("\(c):\(i)")]) }
            try client.flush()
            clients.append(client)
        }
        XCTAssertTrue(respWaitUntil { server.budget.queued == bound }, "queued \(server.budget.queued)")
        usleep(200_000) // time for any over-admission to show
        XCTAssertEqual(server.budget.queued, bound)
        XCTAssertEqual(handler.pending.withLock { $0.count }, bound, "the handler holds only the bound")
        XCTAssertGreaterThan(server.budget.pausedTotal.load(ordering: .relaxed), 0)

        let late = try connectRESP(server)
        late.send([b("ECHO"), b("late")])
        try late.flush()
        usleep(100_000)
        XCTAssertEqual(server.budget.queued, bound, "a fresh client waits too")

        let stop = Atomic<Bool>(false)
        let replier = Thread {
            let deadline = Date().addingTimeInterval(30)
            while !stop.load(ordering: .relaxed) && Date() < deadline {
                let batch = handler.take()
                if batch.isEmpty { usleep(500); continue }
                for (command, token) in batch { token.reply(.bulk(command[1])) }
            }
        }
        replier.start()
        defer { stop.store(true, ordering: .relaxed) }
        XCTAssertEqual(try late.readReply(), .bulk("late"))
        for (c, client) in clients.enumerated() {
            for i in 0..<100 { XCTAssertEqual(try client.readReply(), .bulk("\(c):\(i)")) }
        }
        XCTAssertTrue(respWaitUntil { server.budget.queued == 0 })
        XCTAssertLessThanOrEqual(server.budget.peakQueued, bound)
    }

    /// Commands of a connection that closed while they waited keep their room until the
    /// handler answers them: the work is still in the node.
    func testRoomOfAClosedConnectionIsFreedWhenItsRepliesCome() throws {
        let handler = RESPTestDeferredHandler()
        let server = try startRESPServer(handler) { $0.maxQueuedCommands = 10 }
        // A raw socket closed with a reset (SO_LINGER 0): the server closes at once, with the
        // commands unanswered (a plain FIN would wait for their replies).
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let fd = try Socket.connectTCP(to: address, from: nil, timeoutMs: 5000).fd
        let pipeline = (0..<5).map { "ECHO \($0)\r\n" }.joined()
        XCTAssertEqual(pipeline.utf8.count, Array(pipeline.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) })
        XCTAssertTrue(respWaitUntil { handler.pending.withLock { $0.count } == 5 })
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        XCTAssertEqual(setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)), 0)
        Glibc.close(fd)
        XCTAssertTrue(respWaitUntil { server.stats.connections == 0 })
        XCTAssertEqual(server.budget.queued, 5, "unanswered work still counts")
        for (command, token) in handler.take() { token.reply(.bulk(command[1])) }
        XCTAssertTrue(respWaitUntil { server.budget.queued == 0 }, "queued \(server.budget.queued)")
    }
}
