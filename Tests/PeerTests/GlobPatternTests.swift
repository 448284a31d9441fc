import XCTest
@testable import Peer

/// GlobPattern against Redis's stringmatchlen. Every row of the table was checked against a
/// real redis-server 7.0.15 (KEYS pattern over one key) when it was written.
final class GlobPatternTests: XCTestCase {
    static let redisTable: [([UInt8], [UInt8], Bool)] = [
        (Array("*".utf8), Array("anything".utf8), true),
        (Array("a*".utf8), Array("abc".utf8), true),
        (Array("a*".utf8), Array("bac".utf8), false),
        (Array("*c".utf8), Array("abc".utf8), true),
        (Array("*c".utf8), Array("abd".utf8), false),
        (Array("a*c".utf8), Array("ac".utf8), true),
        (Array("a*c".utf8), Array("abbbc".utf8), true),
        (Array("a*c".utf8), Array("abcd".utf8), false),
        (Array("h?llo".utf8), Array("hello".utf8), true),
        (Array("h?llo".utf8), Array("hllo".utf8), false),
        (Array("h?llo".utf8), Array("heello".utf8), false),
        (Array("h[ae]llo".utf8), Array("hello".utf8), true),
        (Array("h[ae]llo".utf8), Array("hallo".utf8), true),
        (Array("h[ae]llo".utf8), Array("hillo".utf8), false),
        (Array("h[^e]llo".utf8), Array("hallo".utf8), true),
        (Array("h[^e]llo".utf8), Array("hello".utf8), false),
        (Array("h[a-b]llo".utf8), Array("hbllo".utf8), true),
        (Array("h[a-b]llo".utf8), Array("hcllo".utf8), false),
        (Array("h[b-a]llo".utf8), Array("hallo".utf8), true),
        ([104, 92, 42, 108, 108, 111], Array("h*llo".utf8), true),
        ([104, 92, 42, 108, 108, 111], Array("hello".utf8), false),
        ([91, 92, 93, 93], Array("]".utf8), true),
        ([91, 92, 93, 93], Array("a".utf8), false),
        (Array("[ab".utf8), Array("a".utf8), true),
        (Array("[ab".utf8), Array("b".utf8), true),
        (Array("[ab".utf8), Array("c".utf8), false),
        (Array("[a-]".utf8), Array("-".utf8), false),
        (Array("[a-]".utf8), Array("^".utf8), true),
        (Array("[a-]".utf8), Array("a".utf8), true),
        (Array("[a-]".utf8), Array("b".utf8), false),
        (Array("[]".utf8), Array("a".utf8), false),
        (Array("[]".utf8), Array("]".utf8), false),
        ([97, 92], [97, 92], true),
        ([97, 92], Array("a".utf8), false),
        (Array("a**".utf8), Array("a".utf8), true),
        (Array("a*".utf8), Array("a".utf8), true),
        (Array("*?".utf8), Array("a".utf8), true),
        (Array("*?".utf8), Array("ab".utf8), true),
        (Array("[[]".utf8), Array("[".utf8), true),
        (Array("[^]".utf8), Array("a".utf8), true),
        (Array("[^]".utf8), Array("]".utf8), true),
        ([97, 0, 42], [97, 0, 98], true),
        ([97, 0, 42], [97, 1, 98], false),
        ([92, 63], Array("?".utf8), true),
        ([92, 63], Array("a".utf8), false),
        (Array("[a-c-e]".utf8), Array("d".utf8), false),
        (Array("[a-c-e]".utf8), Array("-".utf8), true),
        (Array("[a-c-e]".utf8), Array("e".utf8), true),
        (Array("user:*:name".utf8), Array("user:42:name".utf8), true),
        (Array("user:*:name".utf8), Array("user:42:age".utf8), false),
        (Array("[0-9][0-9]".utf8), Array("42".utf8), true),
        (Array("[0-9][0-9]".utf8), Array("4x".utf8), false),
        (Array("?*".utf8), Array("x".utf8), true),
        (Array("??".utf8), Array("x".utf8), false),
        (Array("[^a-z]*".utf8), Array("Abc".utf8), true),
        (Array("[^a-z]*".utf8), Array("abc".utf8), false),
        (Array("*[".utf8), Array("a[".utf8), false),
        (Array("*[".utf8), Array("a".utf8), false),
    ]

    func testEveryRowMatchesAsRedisDoes() {
        for (pattern, key, want) in GlobPatternTests.redisTable {
            XCTAssertEqual(GlobPattern(pattern).matches(key), want,
                           "pattern \(String(decoding: pattern, as: UTF8.self)) key \(String(decoding: key, as: UTF8.self))")
        }
    }

    func testPathologicalStarsFailFastOnLongInput() {
        // CVE-2022-36021 shape: exponential without the skip-longer-matches rule.
        let pattern = GlobPattern(Array(String(repeating: "*a", count: 30).utf8) + Array("b".utf8))
        XCTAssertFalse(pattern.matches(Array(repeating: UInt8(ascii: "a"), count: 5_000)))
        XCTAssertTrue(pattern.matches(Array(repeating: UInt8(ascii: "a"), count: 5_000) + [UInt8(ascii: "b")]))
    }

    func testStarsNestedDeeperThanTheBoundDoNotMatch() {
        // 1001 nested stars: refused like Redis 7.2+ does (bounded recursion), not a crash.
        let deep = Array(String(repeating: "*a", count: GlobPattern.maxNesting + 2).utf8)
        XCTAssertFalse(GlobPattern(deep).matches(Array(repeating: UInt8(ascii: "a"), count: GlobPattern.maxNesting + 2)))
        let shallow = Array(String(repeating: "*a", count: 50).utf8)
        XCTAssertTrue(GlobPattern(shallow).matches(Array(repeating: UInt8(ascii: "a"), count: 50)))
    }

    func testOnlyStarsMatchEveryNonEmptyKey() {
        XCTAssertTrue(GlobPattern("*").matchesEverything)
        XCTAssertTrue(GlobPattern("***").matchesEverything)
        XCTAssertFalse(GlobPattern("*a").matchesEverything)
        XCTAssertTrue(GlobPattern("**").matches([0, 255, 10]))
        XCTAssertFalse(GlobPattern("*").matches([]), "Redis: '*' does not match the empty string")
    }

    func testRandomPatternsNeverTrap() {
        var rng = SeededRandom(seed: 0x5CA7)
        let alphabet: [UInt8] = Array("*?[]^-\\ab".utf8) + [0]
        var matched = 0
        for _ in 0..<20_000 {
            let p = (0..<rng.int(0..<12)).map { _ in alphabet[rng.below(alphabet.count)] }
            let s = (0..<rng.int(0..<12)).map { _ in alphabet[rng.below(alphabet.count)] }
            if GlobPattern(p).matches(s) { matched += 1 }
        }
        XCTAssertGreaterThan(matched, 0)
    }
}
