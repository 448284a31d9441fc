import XCTest
import Net

/// Addresses: numeric IPv4 and IPv6, names, the `host:port` text forms, and what is refused.
final class SocketAddressTests: XCTestCase {
    func testNumericIPv4AndIPv6ParseWithoutTheResolver() throws {
        let v4 = try SocketAddress(parsing: "127.0.0.1:6380")
        XCTAssertEqual(v4.description, "127.0.0.1:6380")
        XCTAssertEqual(v4.family, .ipv4)
        XCTAssertEqual(v4.port, 6380)
        let v6 = try SocketAddress(parsing: "[::1]:7946")
        XCTAssertEqual(v6.description, "[::1]:7946")
        XCTAssertEqual(v6.family, .ipv6)
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(try SocketAddress(host: "::1", port: 1).description, "[::1]:1")
    }

    func testLocalhostResolvesInTheFamilyAsked() throws {
        let v4 = try SocketAddress(host: "localhost", port: 7946, family: .ipv4)
        XCTAssertEqual(v4.description, "127.0.0.1:7946")
        let any = try SocketAddress(parsing: "localhost:7946")
        XCTAssertEqual(any.port, 7946)
        XCTAssertTrue(["127.0.0.1", "::1"].contains(any.host), any.host)
    }

    func testMalformedTextIsAnInvalidAddress() {
        for text in ["127.0.0.1", "127.0.0.1:99999", "127.0.0.1:", ":7946", "[]:1", "127.0.0.1:port"] {
            XCTAssertThrowsError(try SocketAddress(parsing: text), text) { error in
                XCTAssertEqual(error as? SocketError, .invalidAddress(text), text)
            }
        }
    }

    func testUnknownNameAndWrongFamilyAreUnresolved() {
        XCTAssertThrowsError(try SocketAddress(parsing: "not a host!:1")) { error in
            guard case .unresolved(let host, _)? = error as? SocketError else { return XCTFail("\(error)") }
            XCTAssertEqual(host, "not a host!")
        }
        XCTAssertThrowsError(try SocketAddress(host: "::1", port: 1, family: .ipv4)) { error in
            guard case .unresolved? = error as? SocketError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SocketAddress(host: "127.0.0.1", port: 1, family: .ipv6)) { error in
            guard case .unresolved? = error as? SocketError else { return XCTFail("\(error)") }
        }
    }

    func testErrorsDescribeThemselves() {
        XCTAssertEqual(SocketError.system(operation: "connect 127.0.0.1:1", errno: ECONNREFUSED).description,
                       "connect 127.0.0.1:1: Connection refused")
        XCTAssertEqual(SocketError.system(operation: "recv", errno: EBADF).systemErrno, EBADF)
        XCTAssertNil(SocketError.timedOut.systemErrno)
        XCTAssertEqual(SocketError.invalidAddress("x").description, "invalid address x")
    }
}
