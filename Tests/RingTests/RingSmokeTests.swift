import XCTest
@testable import Ring

final class RingSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
