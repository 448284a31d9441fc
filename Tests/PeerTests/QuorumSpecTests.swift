// Quorum math from tables, as etcd-io/raft tests its quorum package.
import XCTest
@testable import Peer

final class QuorumSpecTests: XCTestCase {
    func testMajorityTable() {
        let table: [(n: Int, majority: Int)] = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4), (64, 33)]
        for row in table { XCTAssertEqual(QuorumSpec.majority(of: row.n), row.majority, "n=\(row.n)") }
    }

    func testTwoMajoritiesAlwaysOverlap() {
        for n in 1...QuorumSpec.maxN { XCTAssertGreaterThan(2 * QuorumSpec.majority(of: n), n, "n=\(n)") }
    }

    func testResolveTable() {
        let table: [(level: QuorumLevel, n: Int, count: Int?)] = [
            (.one, 1, 1), (.quorum, 1, 1), (.all, 1, 1), (.count(1), 1, 1), (.count(2), 1, nil), (.count(0), 1, nil),
            (.one, 3, 1), (.quorum, 3, 2), (.all, 3, 3), (.count(3), 3, 3), (.count(4), 3, nil),
            (.one, 5, 1), (.quorum, 5, 3), (.all, 5, 5), (.count(2), 5, 2), (.count(6), 5, nil),
            (.quorum, 4, 3), (.all, 0, nil), (.one, 65, nil),
        ]
        for row in table {
            XCTAssertEqual(try? QuorumSpec.resolve(row.level, option: .r, n: row.n), row.count, "\(row.level) of N=\(row.n)")
        }
    }

    func testOutOfRangeErrorTextNamesOptionAndN() {
        XCTAssertThrowsError(try QuorumSpec(n: 3, r: .quorum, w: .count(4))) { error in
            XCTAssertEqual((error as? QuorumOptionError)?.message, "ERR syntax W must be between 1 and N=3")
        }
        XCTAssertThrowsError(try QuorumSpec(n: 3, r: .count(0), w: .quorum)) { error in
            XCTAssertEqual((error as? QuorumOptionError)?.message, "ERR syntax R must be between 1 and N=3")
        }
        XCTAssertThrowsError(try QuorumSpec(n: 0, r: .one, w: .one)) { error in
            XCTAssertEqual((error as? QuorumOptionError)?.message, "ERR syntax N must be between 1 and 64, not 0")
        }
    }

    func testReadsSeeWritesOnlyWhenQuorumsOverlap() throws {
        XCTAssertTrue(try QuorumSpec(n: 3, r: .quorum, w: .quorum).readsSeeWrites)
        XCTAssertTrue(try QuorumSpec(n: 3, r: .one, w: .all).readsSeeWrites)
        XCTAssertFalse(try QuorumSpec(n: 3, r: .one, w: .one).readsSeeWrites)
        XCTAssertFalse(try QuorumSpec(n: 4, r: .count(2), w: .count(2)).readsSeeWrites)
        XCTAssertTrue(try QuorumSpec(n: 4, r: .quorum, w: .quorum).readsSeeWrites)
    }

    func testLevelWordsParseInAnyCase() {
        let table: [(word: String, level: QuorumLevel?)] = [
            ("one", .one), ("ONE", .one), ("Quorum", .quorum), ("all", .all), ("3", .count(3)), ("0", .count(0)),
            ("007", .count(7)), ("999999", .count(999_999)), ("1000000", nil), ("-1", nil), ("+2", nil), ("", nil),
            ("two", nil), ("1.5", nil), ("allx", nil), ("onE ", nil),
        ]
        for row in table { XCTAssertEqual(QuorumLevel(row.word), row.level, "'\(row.word)'") }
    }
}
