import XCTest
@testable import Peer

/// Redis's integer argument rules and GETRANGE's substring rules, from tables checked
/// against redis-server 7.0.
final class RedisIntegerTests: XCTestCase {
    func testIntegerArgumentsAsRedisParsesThem() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("7", 7), ("-7", -7), ("9223372036854775807", .max), ("-9223372036854775808", .min),
            ("9223372036854775808", nil), ("-9223372036854775809", nil), ("01", nil), ("-0", nil), ("+1", nil),
            (" 1", nil), ("1 ", nil), ("", nil), ("-", nil), ("1e3", nil), ("0x10", nil), ("123456789012345678901", nil),
        ]
        for (text, want) in cases { XCTAssertEqual(RedisInteger.parse(Array(text.utf8)), want, text) }
    }

    func testGetrangeAsRedis() {
        let v = Array("hello".utf8)
        let cases: [(Int64, Int64, String)] = [
            (1, 3, "ell"), (-3, -1, "llo"), (0, -100, "h"), (10, 20, ""), (-3, -5, ""), (3, 1, ""),
            (.min, -1, "hello"), (.max, 2, ""), (0, .max, "hello"), (-100, 100, "hello"), (4, 4, "o"),
        ]
        for (start, end, want) in cases {
            XCTAssertEqual(String(decoding: ClientCommands.substring(v, start, end), as: UTF8.self), want, "\(start) \(end)")
        }
        XCTAssertEqual(ClientCommands.substring([], 0, -1), [])
    }
}
