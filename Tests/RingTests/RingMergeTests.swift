import XCTest
@testable import Ring

final class RingMergeTests: XCTestCase {
    func testHigherVersionWins() throws {
        let members = (0..<5).map(nodeID)
        let old = try Claim.initial(partitionCount: 64, members: members)
        let new = Claim.next(current: old, members: members + [nodeID(5)])
        XCTAssertEqual(Ring.merge(old, new), new)
        XCTAssertEqual(Ring.merge(new, old), new)
        XCTAssertEqual(old.merged(with: new.settled()), new.settled())
    }

    /// Two claimants racing from the same ring (e.g. during a membership split) produce equal
    /// versions; every node must pick the same one whatever the order it hears them in.
    func testEqualVersionsResolveTheSameWayEverywhere() throws {
        let members = (0..<5).map(nodeID)
        let base = try Claim.initial(partitionCount: 64, members: members)
        let a = Claim.next(current: base, members: members + [nodeID(5)])
        let b = Claim.next(current: base, members: members + [nodeID(6), nodeID(7)])
        XCTAssertEqual(a.version, b.version)
        XCTAssertNotEqual(a, b)
        let winner = Ring.merge(a, b)
        XCTAssertEqual(winner, Ring.merge(b, a))
        XCTAssertTrue(winner == a || winner == b)
        // The rule is Gossip's default byte rule: longer encoding, then greater bytes.
        let ea = a.encode(), eb = b.encode()
        let expected = ea.count != eb.count ? (ea.count > eb.count ? a : b) : (ea.lexicographicallyPrecedes(eb) ? b : a)
        XCTAssertEqual(winner, expected)
        // Merging is idempotent and associative over three candidates.
        let c = Claim.next(current: base, members: members + [nodeID(8)])
        XCTAssertEqual(Ring.merge(Ring.merge(a, b), c), Ring.merge(a, Ring.merge(b, c)))
        XCTAssertEqual(Ring.merge(a, a), a)
    }
}
