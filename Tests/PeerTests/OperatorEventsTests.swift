import XCTest
@testable import Peer

final class OperatorEventsTests: XCTestCase {
    typealias M = OperatorEvents.MemberState

    func testMemberChangesAreReportedOnceEach() {
        var e = OperatorEvents()
        XCTAssertEqual(e.observe(members: ["n2": M(status: "alive", admin: "joined")]).map(\.msg), ["member seen"])
        XCTAssertTrue(e.observe(members: ["n2": M(status: "alive", admin: "joined")]).isEmpty)
        let suspect = e.observe(members: ["n2": M(status: "suspect", admin: "joined")])
        XCTAssertEqual(suspect.map(\.description), ["warn member state changed member=n2 from=alive to=suspect"])
        XCTAssertTrue(e.observe(members: ["n2": M(status: "suspect", admin: "joined")]).isEmpty)
        let back = e.observe(members: ["n2": M(status: "alive", admin: "leaving")])
        XCTAssertEqual(back.map(\.description), ["info member state changed member=n2 from=suspect to=alive",
                                                 "info member admin state changed member=n2 from=joined to=leaving"])
    }

    func testRingChangesNameVersionsAndOwnership() {
        var e = OperatorEvents()
        XCTAssertEqual(e.observe(ringVersion: 3, owned: 10, transferring: false).map(\.msg), ["ring loaded"])
        XCTAssertTrue(e.observe(ringVersion: 3, owned: 10, transferring: false).isEmpty)
        let changed = e.observe(ringVersion: 4, owned: 7, transferring: true)
        XCTAssertEqual(changed.map(\.description),
                       ["info ring changed ring_version=4 previous_version=3 partitions_owned=7 previously_owned=10 transferring=true"])
    }

    func testHandoffIsOneRoundAtInfoAndPerPartitionAtDebug() {
        var e = OperatorEvents()
        func transfer(_ p: UInt32) -> TransferStatus {
            var t = TransferStatus(id: TreeID(partition: p, namespace: Array("default".utf8)), from: p == 5 ? "n1" : "n2", to: "n4")
            t.state = .running
            t.startedMs = 1_000
            t.lastProgressMs = 1_000
            return t
        }
        var a = transfer(5), b = transfer(6)
        let started = e.observe(transfers: [a, b], nowMs: 1_100)
        XCTAssertEqual(started.filter { $0.level == .info }.map(\.description), ["info handoff started transfers=2 from=n1,n2"])
        XCTAssertEqual(started.filter { $0.level == .debug }.map(\.msg), ["partition handoff started", "partition handoff started"])
        XCTAssertTrue(e.observe(transfers: [a, b], nowMs: 1_200).isEmpty)
        a.lastError = "connection lost"
        XCTAssertEqual(e.observe(transfers: [a, b], nowMs: 1_300).map(\.description),
                       ["warn handoff error partition=5 namespace=default from=n1 error=connection lost"])
        XCTAssertTrue(e.observe(transfers: [a, b], nowMs: 1_400).isEmpty)
        b.lastProgressMs = 40_000
        XCTAssertEqual(e.observe(transfers: [a, b], nowMs: 40_000).map(\.msg), ["handoff stalled"])
        XCTAssertTrue(e.observe(transfers: [a, b], nowMs: 41_000).isEmpty)
        a.state = .done
        a.keys = 100
        a.bytes = 2_000
        let one = e.observe(transfers: [a, b], nowMs: 42_000)
        XCTAssertEqual(one.map(\.description), ["debug partition handoff finished partition=5 namespace=default from=n1 keys=100 bytes=2000 seconds=41.0"])
        b.state = .done
        b.keys = 1
        b.bytes = 10
        let last = e.observe(transfers: [a, b], nowMs: 43_600)
        XCTAssertEqual(last.filter { $0.level == .info }.map(\.description), ["info handoff finished transfers=2 keys=101 bytes=2010 seconds=42.5"])
        XCTAssertTrue(e.observe(transfers: [a, b], nowMs: 44_000).isEmpty)
    }

    func testHandoffThatFinishedBetweenTwoObservationsIsStillOneRound() {
        var e = OperatorEvents()
        var t = TransferStatus(id: TreeID(partition: 7, namespace: Array("default".utf8)), from: "n1", to: "n2")
        t.state = .done
        t.startedMs = 1_000
        t.keys = 0
        let events = e.observe(transfers: [t], nowMs: 1_150)
        XCTAssertEqual(events.filter { $0.level == .info }.map(\.description),
                       ["info handoff started transfers=1 from=n1", "info handoff finished transfers=1 keys=0 bytes=0 seconds=0.0"])
        XCTAssertEqual(events.filter { $0.level == .debug }.map(\.msg), ["partition handoff started", "partition handoff finished"])
        XCTAssertTrue(e.observe(transfers: [t], nowMs: 1_350).isEmpty, "seen once, logged once")
    }

    func testHintBacklogAppearsAndDrainsOnce() {
        var e = OperatorEvents()
        XCTAssertEqual(e.observe(hintTargets: ["n3": 4]).map(\.description), ["info hints pending for target target=n3 hints=4"])
        XCTAssertTrue(e.observe(hintTargets: ["n3": 9]).isEmpty)
        XCTAssertEqual(e.observe(hintTargets: [:]).map(\.description), ["info hints for target delivered target=n3"])
        XCTAssertTrue(e.observe(hintTargets: ["n3": 0]).isEmpty)
    }

    func testRepairStartsOnTrafficAndFinishesAfterQuiet() {
        var e = OperatorEvents()
        XCTAssertTrue(e.observe(repairKeysSent: 10, received: 0, nowMs: 0).isEmpty, "first sight sets the baseline")
        XCTAssertEqual(e.observe(repairKeysSent: 15, received: 2, nowMs: 1_000).map(\.msg), ["repair started"])
        XCTAssertTrue(e.observe(repairKeysSent: 20, received: 3, nowMs: 2_000).isEmpty)
        XCTAssertTrue(e.observe(repairKeysSent: 20, received: 3, nowMs: 6_000).isEmpty, "quiet for 4 s only")
        let finished = e.observe(repairKeysSent: 20, received: 3, nowMs: 7_000)
        XCTAssertEqual(finished.map(\.description), ["info repair finished keys_sent=10 keys_received=3 seconds=1.0"])
        XCTAssertTrue(e.observe(repairKeysSent: 20, received: 3, nowMs: 20_000).isEmpty)
    }
}
