import XCTest
import Foundation
import Synchronization
@testable import Peer

/// The RESP server's sockets under load (the socket layer itself: Tests/NetTests).
final class ServerSocketTests: XCTestCase {
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
