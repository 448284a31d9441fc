// Parsing of `R n|one|quorum|all`, `W ...`, `STRICT`, `TIMEOUT ms` from a command's tail.
import XCTest
@testable import Peer

final class RequestOptionsTests: XCTestCase {
    func words(_ text: String) -> ArraySlice<[UInt8]> { ArraySlice(text.split(separator: " ").map { Array($0.utf8) }) }
    func strings(_ args: ArraySlice<[UInt8]>) -> String { args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") }

    func testParseTable() throws {
        let table: [(text: String, options: RequestOptions)] = [
            ("", RequestOptions()),
            ("R 2", RequestOptions(r: .count(2))),
            ("w all", RequestOptions(w: .all)),
            ("STRICT", RequestOptions(strict: true)),
            ("strict r one W QUORUM timeout 250", RequestOptions(r: .one, w: .quorum, strict: true, timeoutMs: 250)),
            ("TIMEOUT 600000", RequestOptions(timeoutMs: 600_000)),
            ("TIMEOUT 1 W 1", RequestOptions(w: .count(1), timeoutMs: 1)),
        ]
        for row in table { XCTAssertEqual(try RequestOptions.parse(words(row.text)), row.options, row.text) }
    }

    func testParseErrorTexts() {
        let table: [(text: String, message: String)] = [
            ("R", "ERR syntax R needs a value: one, quorum, all or a number"),
            ("STRICT W", "ERR syntax W needs a value: one, quorum, all or a number"),
            ("TIMEOUT", "ERR syntax TIMEOUT needs a value in milliseconds"),
            ("R two", "ERR syntax R takes one, quorum, all or a number, not 'two'"),
            ("W -1", "ERR syntax W takes one, quorum, all or a number, not '-1'"),
            ("TIMEOUT 0", "ERR syntax TIMEOUT takes milliseconds between 1 and 600000, not '0'"),
            ("TIMEOUT 600001", "ERR syntax TIMEOUT takes milliseconds between 1 and 600000, not '600001'"),
            ("TIMEOUT 1s", "ERR syntax TIMEOUT takes milliseconds between 1 and 600000, not '1s'"),
            ("R 1 r 2", "ERR syntax R given twice"),
            ("STRICT strict", "ERR syntax STRICT given twice"),
            ("TIMEOUT 5 TIMEOUT 6", "ERR syntax TIMEOUT given twice"),
            ("NX", "ERR syntax unexpected argument 'NX'; options are R, W, STRICT and TIMEOUT"),
            ("W 1 EX 10", "ERR syntax unexpected argument 'EX'; options are R, W, STRICT and TIMEOUT"),
        ]
        for row in table {
            XCTAssertThrowsError(try RequestOptions.parse(words(row.text)), row.text) { error in
                XCTAssertEqual((error as? QuorumOptionError)?.message, row.message, row.text)
            }
        }
    }

    func testErrorEchoIsCutAndPrintable() {
        let long = [UInt8](repeating: 0x41, count: 100)
        let message = QuorumOptionError.unknownOption(word: [0x0D, 0x0A] + long).message
        XCTAssertFalse(message.contains("\r") || message.contains("\n"), "an error line never carries CR/LF")
        XCTAssertEqual(message, "ERR syntax unexpected argument '??" + String(repeating: "A", count: 30) + "...'; options are R, W, STRICT and TIMEOUT")
    }

    func testSplitFixedArityReturnsPositionalsAndOptions() throws {
        let (args, options) = try RequestOptions.split(words("SET-ARGS key value W 1 STRICT").dropFirst(), positional: 2)
        XCTAssertEqual(strings(args), "key value")
        XCTAssertEqual(options, RequestOptions(w: .count(1), strict: true))
        let (plain, none) = try RequestOptions.split(words("key value"), positional: 2)
        XCTAssertEqual(strings(plain), "key value")
        XCTAssertEqual(none, RequestOptions())
        let (short, _) = try RequestOptions.split(words("key"), positional: 2)
        XCTAssertEqual(strings(short), "key", "too few arguments are left for the command's arity check")
    }

    func testSplitFixedArityRejectsAnExtraWord() {
        XCTAssertThrowsError(try RequestOptions.split(words("key value extra"), positional: 2)) { error in
            XCTAssertEqual(error as? QuorumOptionError, .unknownOption(word: Array("extra".utf8)))
        }
    }

    func testSplitVariadicTable() {
        let table: [(text: String, minimum: Int, positional: String, options: RequestOptions)] = [
            ("a b c", 1, "a b c", RequestOptions()),
            ("a b W 2", 1, "a b", RequestOptions(w: .count(2))),
            ("a W 2 STRICT TIMEOUT 9", 1, "a", RequestOptions(w: .count(2), strict: true, timeoutMs: 9)),
            ("a W", 1, "a W", RequestOptions()),
            ("a W x", 1, "a W x", RequestOptions()),
            ("W 2", 1, "W 2", RequestOptions()),
            ("W 2", 2, "W 2", RequestOptions()),
            ("STRICT", 1, "STRICT", RequestOptions()),
            ("a STRICT", 1, "a", RequestOptions(strict: true)),
            ("W 2 W 3", 1, "W 2", RequestOptions(w: .count(3))),
            ("k1 v1 k2 v2 R one", 2, "k1 v1 k2 v2", RequestOptions(r: .one)),
            ("", 0, "", RequestOptions()),
        ]
        for row in table {
            let (args, options) = RequestOptions.splitVariadic(words(row.text), minimumPositional: row.minimum)
            XCTAssertEqual(strings(args), row.positional, row.text)
            XCTAssertEqual(options, row.options, row.text)
        }
    }

    func testSplitVariadicLooksAtMostSevenWordsBack() {
        var many = words(Array(repeating: "key", count: 10_000).joined(separator: " ") + " R 1 W 2 TIMEOUT 5 STRICT")
        let (args, options) = RequestOptions.splitVariadic(many, minimumPositional: 1)
        XCTAssertEqual(args.count, 10_000)
        XCTAssertEqual(options, RequestOptions(r: .count(1), w: .count(2), strict: true, timeoutMs: 5))
        many = words("a R 1 W 2 TIMEOUT 5 STRICT STRICT")
        let (keys, last) = RequestOptions.splitVariadic(many, minimumPositional: 1)
        XCTAssertEqual(last, RequestOptions(strict: true), "only the last STRICT parses as a suffix; the rest are keys")
        XCTAssertEqual(strings(keys), "a R 1 W 2 TIMEOUT 5 STRICT")
    }

    func testResolveFillsNamespaceDefaults() throws {
        let resolved = try RequestOptions(w: .all).resolve(n: 3, defaultR: .quorum, defaultW: .quorum, defaultTimeoutMs: 1000)
        XCTAssertEqual(resolved, RequestOptions.Resolved(spec: try QuorumSpec(n: 3, r: .quorum, w: .all), strict: false, timeoutMs: 1000))
        XCTAssertEqual(resolved.spec.r, 2)
        XCTAssertEqual(resolved.spec.w, 3)
        let strict = try RequestOptions(r: .one, strict: true, timeoutMs: 20).resolve(n: 5, defaultR: .quorum, defaultW: .quorum, defaultTimeoutMs: 1000)
        XCTAssertEqual(strict.spec.r, 1)
        XCTAssertEqual(strict.spec.w, 3)
        XCTAssertTrue(strict.strict)
        XCTAssertEqual(strict.timeoutMs, 20)
    }

    func testResolveRejectsCountAboveN() {
        XCTAssertThrowsError(try RequestOptions(r: .count(4)).resolve(n: 3, defaultR: .quorum, defaultW: .quorum, defaultTimeoutMs: 1000)) { error in
            XCTAssertEqual((error as? QuorumOptionError)?.message, "ERR syntax R must be between 1 and N=3")
        }
    }
}
