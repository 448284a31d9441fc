import XCTest
@testable import Gossip

final class GossipSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
