import XCTest
@testable import Peer

final class RESPParserTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Feeds `chunks` one after another and collects every command returned.
    private func parseAll(_ chunks: [[UInt8]], limits: RESPLimits = RESPLimits()) throws -> [[[UInt8]]] {
        var parser = RESPParser(limits: limits)
        var out: [[[UInt8]]] = []
        for chunk in chunks {
            parser.append(chunk)
            while let command = try parser.next() { out.append(command) }
        }
        return out
    }

    private func expectError(_ input: String, _ expected: RESPProtocolError, limits: RESPLimits = RESPLimits(),
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parseAll([b(input)], limits: limits), file: file, line: line) { error in
            XCTAssertEqual(error as? RESPProtocolError, expected, file: file, line: line)
        }
    }

    private var pipelinedStream: ([UInt8], [[[UInt8]]]) {
        var stream: [UInt8] = []
        var expected: [[[UInt8]]] = []
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42, 13, 10]
        let commands: [[[UInt8]]] = [
            [b("SET"), b("key"), binary],
            [b("GET"), b("key")],
            [b("SET"), b(""), b("")],
            [b("PING")],
            [b("MSET")] + (0..<20).map { b("arg\($0)") },
        ]
        for command in commands {
            RESPWriter.appendCommand(command, to: &stream)
            expected.append(command)
        }
        stream += b("*0\r\n")                       // ignored, as Redis does
        stream += b("ECHO \"hi there\"\r\n")        // inline, quoted
        expected.append([b("ECHO"), b("hi there")])
        stream += b("\r\n")                         // blank inline line: ignored
        stream += b("*-1\r\n")                      // ignored
        RESPWriter.appendCommand([b("DEL"), b("a")], to: &stream)
        expected.append([b("DEL"), b("a")])
        return (stream, expected)
    }

    func testSplitAtEveryByteBoundaryGivesSameCommands() throws {
        let (stream, expected) = pipelinedStream
        XCTAssertEqual(try parseAll([stream]), expected)
        for cut in 0...stream.count {
            let got = try parseAll([Array(stream[..<cut]), Array(stream[cut...])])
            XCTAssertEqual(got, expected, "cut at \(cut)")
        }
    }

    func testOneByteAtATimeGivesSameCommands() throws {
        let (stream, expected) = pipelinedStream
        XCTAssertEqual(try parseAll(stream.map { [$0] }), expected)
    }

    func testCommandsComeOutOneAtATimeAndIncompleteReturnsNil() throws {
        var parser = RESPParser()
        parser.append(b("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r"))
        XCTAssertEqual(try parser.next(), [b("PING")])
        XCTAssertNil(try parser.next())
        XCTAssertFalse(parser.isIdle)
        parser.append(b("\nk\r\n"))
        XCTAssertEqual(try parser.next(), [b("GET"), b("k")])
        XCTAssertNil(try parser.next())
        XCTAssertTrue(parser.isIdle)
    }

    func testInlineCommands() throws {
        XCTAssertEqual(try parseAll([b("PING\r\n")]), [[b("PING")]])
        XCTAssertEqual(try parseAll([b("set  k\tv\n")]), [[b("set"), b("k"), b("v")]])
        XCTAssertEqual(try parseAll([b("SET k \"a\\x41\\n\\\"\"\r\n")]), [[b("SET"), b("k"), b("aA\n\"")]])
        XCTAssertEqual(try parseAll([b("SET k 'it\\'s'\r\n")]), [[b("SET"), b("k"), b("it's")]])
        XCTAssertEqual(try parseAll([b("SET k \"\"\r\n")]), [[b("SET"), b("k"), b("")]])
        XCTAssertEqual(try parseAll([b("\r\n\n   \r\nPING\r\n")]), [[b("PING")]])
    }

    func testInlineUnbalancedQuotesIsAnError() {
        expectError("SET k \"abc\r\n", .unbalancedQuotes)
        expectError("SET k 'abc\r\n", .unbalancedQuotes)
        expectError("SET k \"abc\"def\r\n", .unbalancedQuotes)
    }

    func testInlineLineLongerThanLimitIsRejectedBeforeItsEnd() {
        var limits = RESPLimits()
        limits.maxInlineBytes = 100
        expectError(String(repeating: "a", count: 101), .inlineTooLong, limits: limits)
        expectError(String(repeating: "a", count: 101) + "\r\n", .inlineTooLong, limits: limits)
        XCTAssertEqual(try parseAll([b(String(repeating: "a", count: 100) + "\n")], limits: limits).count, 1)
    }

    func testDefaultInlineLimitIs64KiB() {
        expectError(String(repeating: "a", count: (64 << 10) + 1), .inlineTooLong)
    }

    func testBulkLongerThanLimitIsRejectedFromItsHeader() {
        var limits = RESPLimits()
        limits.maxBulkBytes = 10
        // Only the header arrives: the error comes before any body byte is buffered.
        expectError("*1\r\n$11\r\n", .invalidBulkLength, limits: limits)
        XCTAssertEqual(try parseAll([b("*1\r\n$10\r\n0123456789\r\n")], limits: limits), [[b("0123456789")]])
    }

    func testArrayLongerThanLimitIsRejected() {
        var limits = RESPLimits()
        limits.maxArrayLength = 3
        expectError("*4\r\n", .invalidMultibulkLength, limits: limits)
        expectError("*1048577\r\n", .invalidMultibulkLength)
    }

    func testCommandLargerThanLimitIsRejected() {
        var limits = RESPLimits()
        limits.maxCommandBytes = 10
        expectError("*2\r\n$5\r\nabcde\r\n$6\r\n", .commandTooLarge, limits: limits)
    }

    func testNegativeAndOverflowingLengths() {
        expectError("*1\r\n$-1\r\n", .invalidBulkLength)     // nil is no request argument
        expectError("*1\r\n$-5\r\n", .invalidBulkLength)
        expectError("*1\r\n$99999999999999999999\r\n", .invalidBulkLength)
        expectError("*99999999999999999999\r\n", .invalidMultibulkLength)
        expectError("*-99999999999999999999\r\n", .invalidMultibulkLength)
        expectError("*1\r\n$\r\n", .invalidBulkLength)
        expectError("*x\r\n", .invalidMultibulkLength)
        expectError("*1\r\n$3x\r\nabc\r\n", .invalidBulkLength)
        expectError("*1\r\n$ 3\r\nabc\r\n", .invalidBulkLength)
    }

    func testNegativeArrayLengthIsIgnored() throws {
        XCTAssertEqual(try parseAll([b("*-1\r\n*0\r\nPING\r\n")]), [[b("PING")]])
    }

    func testFramingErrors() {
        expectError("*1\r\n:5\r\n", .expectedBulk(UInt8(ascii: ":")))
        expectError("*1\r\n$3\r\nabcXY", .missingCRLF)
        expectError("*1\n", .missingCRLF)
        expectError("*1\r\n$3\n", .missingCRLF)
        expectError("*1" + String(repeating: "1", count: 80), .headerTooLong)
        expectError("*1\r\n$" + String(repeating: "0", count: 80) + "\r\n", .headerTooLong)
    }

    func testParserStaysPoisonedAfterAnError() throws {
        var parser = RESPParser()
        parser.append(b("*1\r\n$-3\r\n"))
        XCTAssertThrowsError(try parser.next())
        parser.append(b("PING\r\n"))
        XCTAssertThrowsError(try parser.next()) { XCTAssertEqual($0 as? RESPProtocolError, .invalidBulkLength) }
    }

    func testLargeBulkArrivingInChunksIsAssembledOnce() throws {
        let value = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var stream: [UInt8] = []
        RESPWriter.appendCommand([b("SET"), b("k"), value], to: &stream)
        var chunks: [[UInt8]] = []
        var i = 0
        while i < stream.count { chunks.append(Array(stream[i..<min(stream.count, i + 1400)])); i += 1400 }
        XCTAssertEqual(try parseAll(chunks), [[b("SET"), b("k"), value]])
    }

    func testProtocolErrorReplyText() {
        XCTAssertEqual(RESPProtocolError.invalidBulkLength.replyText, "ERR protocol error")
        XCTAssertEqual(RESPProtocolError.invalidBulkLength.message, "invalid bulk length")
    }
}
