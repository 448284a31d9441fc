import XCTest
@testable import Peer

final class PeerSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
