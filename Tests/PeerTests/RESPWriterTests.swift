import XCTest
@testable import Peer

final class RESPWriterTests: XCTestCase {
    private func text(_ value: RESPValue) -> String { String(decoding: RESPWriter.encode(value), as: UTF8.self) }

    func testEncodingsOfEachType() {
        XCTAssertEqual(text(.ok), "+OK\r\n")
        XCTAssertEqual(text(.error("ERR bad")), "-ERR bad\r\n")
        XCTAssertEqual(text(.integer(0)), ":0\r\n")
        XCTAssertEqual(text(.integer(-42)), ":-42\r\n")
        XCTAssertEqual(text(.bulk("hi")), "$2\r\nhi\r\n")
        XCTAssertEqual(text(.bulk([])), "$0\r\n\r\n")
        XCTAssertEqual(text(.nullBulk), "$-1\r\n")
        XCTAssertEqual(text(.nullArray), "*-1\r\n")
        XCTAssertEqual(text(.array([])), "*0\r\n")
    }

    func testIntegerExtremesFormatWithoutOverflow() {
        XCTAssertEqual(text(.integer(Int64.max)), ":9223372036854775807\r\n")
        XCTAssertEqual(text(.integer(Int64.min)), ":-9223372036854775808\r\n")
        for n: Int64 in [1, 9, 10, 99, 100, 12345, -1, -10, 1_000_000_007] {
            XCTAssertEqual(text(.integer(n)), ":\(n)\r\n")
        }
    }

    func testLineBreaksInStatusAndErrorBecomeSpaces() {
        XCTAssertEqual(text(.simple("a\r\nb")), "+a  b\r\n")
        XCTAssertEqual(text(.error("ERR x\ny")), "-ERR x y\r\n")
    }

    func testNestedArraysRoundTripThroughReplyParser() throws {
        let value = RESPValue.array([
            .bulk([0, 13, 10, 255]),
            .array([.integer(-7), .nullBulk, .array([.simple("OK"), .error("ERR e"), .nullArray])]),
            .array([]),
            .bulk(""),
        ])
        let bytes = RESPWriter.encode(value)
        XCTAssertEqual(text(value), "*4\r\n$4\r\n\0\r\n\u{FF}\r\n".replacingOccurrences(of: "\u{FF}", with: "\u{FFFD}")
                        + "*3\r\n:-7\r\n$-1\r\n*3\r\n+OK\r\n-ERR e\r\n*-1\r\n*0\r\n$0\r\n\r\n")
        let parsed = try XCTUnwrap(try RESPReplyParser().parse(bytes))
        XCTAssertEqual(parsed.value, value)
        XCTAssertEqual(parsed.consumed, bytes.count)
    }

    func testReplyParserReturnsNilForEveryStrictPrefix() throws {
        let value = RESPValue.array([.bulk("abc"), .integer(5), .array([.nullBulk, .simple("x")])])
        let bytes = RESPWriter.encode(value)
        for cut in 0..<bytes.count {
            XCTAssertNil(try RESPReplyParser().parse(Array(bytes[..<cut])), "prefix \(cut)")
        }
    }

    func testReplyParserNullBulkAndNullArray() throws {
        XCTAssertEqual(try RESPReplyParser().parse(Array("$-1\r\n".utf8))?.value, .nullBulk)
        XCTAssertEqual(try RESPReplyParser().parse(Array("*-1\r\n".utf8))?.value, .nullArray)
    }

    func testReplyParserRejectsBadInput() {
        let parser = RESPReplyParser(maxBulkBytes: 10, maxArrayLength: 4, maxDepth: 2)
        let cases: [(String, RESPProtocolError)] = [
            ("$11\r\n", .invalidBulkLength),
            ("$-2\r\n", .invalidBulkLength),
            ("*5\r\n", .invalidMultibulkLength),
            ("*1\r\n*1\r\n*1\r\n:1\r\n", .nestingTooDeep),
            (":12a\r\n", .invalidInteger),
            (":99999999999999999999\r\n", .invalidInteger),
            ("?x\r\n", .unknownType(UInt8(ascii: "?"))),
            ("+OK\n", .missingCRLF),
            ("$1\r\nab\r\n", .missingCRLF),
        ]
        for (input, expected) in cases {
            XCTAssertThrowsError(try parser.parse(Array(input.utf8)), input) {
                XCTAssertEqual($0 as? RESPProtocolError, expected, input)
            }
        }
    }

    func testCommandNameMatchingIgnoresCase() {
        XCTAssertTrue(RESPCommandName.matches(Array("pInG".utf8), "PING"))
        XCTAssertFalse(RESPCommandName.matches(Array("PINGS".utf8), "PING"))
        XCTAssertFalse(RESPCommandName.matches(Array("P{NG".utf8), "PING"))
    }
}
