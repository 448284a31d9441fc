import XCTest
@testable import Peer

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME replies for a present key, against Redis 7's
/// ttlGenericCommand: seconds are rounded to nearest, a passed expiry reads 0, none is -1.
final class TTLReplyTests: XCTestCase {
    func testSecondsRoundToNearestAsRedisDoes() {
        let now: UInt64 = 1_700_000_000_000
        XCTAssertEqual(ClientCommands.ttlReply("TTL", expiresAtMs: now + 1_499, nowMs: now), 1)
        XCTAssertEqual(ClientCommands.ttlReply("TTL", expiresAtMs: now + 1_500, nowMs: now), 2)
        XCTAssertEqual(ClientCommands.ttlReply("PTTL", expiresAtMs: now + 1_500, nowMs: now), 1_500)
        XCTAssertEqual(ClientCommands.ttlReply("EXPIRETIME", expiresAtMs: 1_700_000_000_499, nowMs: now), 1_700_000_000)
        XCTAssertEqual(ClientCommands.ttlReply("EXPIRETIME", expiresAtMs: 1_700_000_000_500, nowMs: now), 1_700_000_001)
        XCTAssertEqual(ClientCommands.ttlReply("PEXPIRETIME", expiresAtMs: 1_700_000_000_500, nowMs: now), 1_700_000_000_500)
    }

    func testNoExpiryAndPassedExpiry() {
        let now: UInt64 = 1_700_000_000_000
        for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            XCTAssertEqual(ClientCommands.ttlReply(name, expiresAtMs: 0, nowMs: now), -1, name)
        }
        XCTAssertEqual(ClientCommands.ttlReply("TTL", expiresAtMs: now - 10, nowMs: now), 0)
        XCTAssertEqual(ClientCommands.ttlReply("PTTL", expiresAtMs: now - 10, nowMs: now), 0)
    }
}
