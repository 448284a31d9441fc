import XCTest
@testable import Peer

/// RESP3 encodings and their RESP2 forms, byte for byte (the shapes redis-server 7.0 sends),
/// and the reply parser reading them back.
final class RESP3WriterTests: XCTestCase {
    private func text(_ value: RESPValue, _ version: RESPProtocolVersion) -> String {
        String(decoding: RESPWriter.encode(value, protocol: version), as: UTF8.self)
    }

    func testEachRESP3TypeAndItsRESP2Form() {
        let cases: [(RESPValue, String, String)] = [
            (.null, "_\r\n", "$-1\r\n"),
            (.nullBulk, "_\r\n", "$-1\r\n"),
            (.nullArray, "_\r\n", "*-1\r\n"),
            (.double(1.5), ",1.5\r\n", "$3\r\n1.5\r\n"),
            (.double(3), ",3\r\n", "$1\r\n3\r\n"),
            (.double(0.1), ",0.10000000000000001\r\n", "$19\r\n0.10000000000000001\r\n"),
            (.double(-2.5e-7), ",-2.4999999999999999e-07\r\n", "$23\r\n-2.4999999999999999e-07\r\n"),
            (.double(.infinity), ",inf\r\n", "$3\r\ninf\r\n"),
            (.double(-.infinity), ",-inf\r\n", "$4\r\n-inf\r\n"),
            (.double(.nan), ",nan\r\n", "$3\r\nnan\r\n"),
            (.boolean(true), "#t\r\n", ":1\r\n"),
            (.boolean(false), "#f\r\n", ":0\r\n"),
            (.bigNumber(Array("-3492890328409238509324850943850943825024385".utf8)),
             "(-3492890328409238509324850943850943825024385\r\n", "$44\r\n-3492890328409238509324850943850943825024385\r\n"),
            (.verbatim(format: "txt", text: Array("# Server\r\na:1\r\n".utf8)), "=19\r\ntxt:# Server\r\na:1\r\n\r\n", "$15\r\n# Server\r\na:1\r\n\r\n"),
            (.verbatim(format: "toolong", text: Array("x".utf8)), "=5\r\ntxt:x\r\n", "$1\r\nx\r\n"),
            (.map([RESPPair(.bulk("save"), .bulk(""))]), "%1\r\n$4\r\nsave\r\n$0\r\n\r\n", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"),
            (.map([]), "%0\r\n", "*0\r\n"),
            (.set([.simple("readonly"), .simple("fast")]), "~2\r\n+readonly\r\n+fast\r\n", "*2\r\n+readonly\r\n+fast\r\n"),
            (.push([.bulk("message"), .integer(1)]), ">2\r\n$7\r\nmessage\r\n:1\r\n", "*2\r\n$7\r\nmessage\r\n:1\r\n"),
            (.array([.nullBulk, .bulk("v")]), "*2\r\n_\r\n$1\r\nv\r\n", "*2\r\n$-1\r\n$1\r\nv\r\n"),
            (.integer(-7), ":-7\r\n", ":-7\r\n"),
            (.error("ERR x"), "-ERR x\r\n", "-ERR x\r\n"),
        ]
        for (value, resp3, resp2) in cases {
            XCTAssertEqual(text(value, .resp3), resp3, "\(value)")
            XCTAssertEqual(text(value, .resp2), resp2, "\(value)")
        }
        // The RESP2-only entry point is the RESP2 form.
        XCTAssertEqual(String(decoding: RESPWriter.encode(.map(["a": .integer(1)])), as: UTF8.self), "*2\r\n$1\r\na\r\n:1\r\n")
    }

    func testHelloMapHasRedisSevenShape() {
        let hello = RESPValue.map([
            "server": .bulk("redis"), "version": .bulk("7.0.15"), "proto": .integer(3), "id": .integer(4),
            "mode": .bulk("standalone"), "role": .bulk("master"), "modules": .array([]),
        ])
        // Exactly what redis-server 7.0.15 sent to `HELLO 3` (captured from a real server).
        XCTAssertEqual(text(hello, .resp3), "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
                       + "$2\r\nid\r\n:4\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
        XCTAssertTrue(text(hello, .resp2).hasPrefix("*14\r\n$6\r\nserver\r\n"))
    }

    func testNestedRESP3RoundTripsThroughReplyParser() throws {
        let value = RESPValue.map([
            RESPPair(.bulk("get"), .map(["summary": .bulk("x"), "flags": .set([.simple("fast")])])),
            RESPPair(.simple("k"), .array([.null, .double(-1.25), .boolean(false), .bigNumber(Array("12".utf8)),
                                           .verbatim(format: "mkd", text: [0, 13, 10]), .push([.integer(9)])])),
        ])
        let bytes = RESPWriter.encode(value, protocol: .resp3)
        let parsed = try XCTUnwrap(try RESPReplyParser().parse(bytes))
        XCTAssertEqual(parsed.value, value)
        XCTAssertEqual(parsed.consumed, bytes.count)
        for cut in 0..<bytes.count {
            XCTAssertNil(try RESPReplyParser().parse(Array(bytes[..<cut])), "prefix \(cut)")
        }
    }

    func testReplyParserReadsBlobErrorsAndSpecialDoubles() throws {
        XCTAssertEqual(try RESPReplyParser().parse(Array("!21\r\nSYNTAX invalid syntax\r\n".utf8))?.value, .error("SYNTAX invalid syntax"))
        XCTAssertEqual(try RESPReplyParser().parse(Array(",inf\r\n".utf8))?.value, .double(.infinity))
        XCTAssertEqual(try RESPReplyParser().parse(Array(",-inf\r\n".utf8))?.value, .double(-.infinity))
        guard case .double(let d)? = try RESPReplyParser().parse(Array(",nan\r\n".utf8))?.value else { return XCTFail("nan") }
        XCTAssertTrue(d.isNaN)
        XCTAssertEqual(try RESPReplyParser().parse(Array(",1e3\r\n".utf8))?.value, .double(1000))
    }

    func testReplyParserRejectsMalformedRESP3() {
        let parser = RESPReplyParser(maxBulkBytes: 10, maxArrayLength: 4, maxDepth: 2)
        let cases: [(String, RESPProtocolError)] = [
            ("_x\r\n", .invalidValue),
            ("#x\r\n", .invalidValue),
            ("#tt\r\n", .invalidValue),
            (",abc\r\n", .invalidValue),
            (",0x1p3\r\n", .invalidValue),
            (",infinity\r\n", .invalidValue),
            (",\r\n", .invalidValue),
            ("(12a\r\n", .invalidValue),
            ("(-\r\n", .invalidValue),
            ("=3\r\nabc\r\n", .invalidValue),
            ("=4\r\ntxt-\r\n", .invalidValue),
            ("=11\r\n", .invalidBulkLength),
            ("%3\r\n", .invalidMultibulkLength),
            ("~5\r\n", .invalidMultibulkLength),
            ("%-1\r\n", .invalidMultibulkLength),
            ("~1\r\n~1\r\n~1\r\n:1\r\n", .nestingTooDeep),
            ("|1\r\n", .unknownType(UInt8(ascii: "|"))),
        ]
        for (input, expected) in cases {
            XCTAssertThrowsError(try parser.parse(Array(input.utf8)), input) {
                XCTAssertEqual($0 as? RESPProtocolError, expected, input)
            }
        }
    }
}
