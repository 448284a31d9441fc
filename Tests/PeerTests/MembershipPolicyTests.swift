import Gossip
import Ring
import XCTest
@testable import Peer

/// The cluster policy core, from tables: each row is the facts one node sees on one tick
/// (members with their admin state and liveness, the ring, handoff reports) and the
/// actions it must return. The operator-log actions are checked in their own test.
final class MembershipPolicyTests: XCTestCase {
    /// A member as a row writes it: id, admin state, up (alive) or down (dead).
    struct M {
        let id: String
        let admin: AdminState
        let up: Bool
        init(_ id: String, _ admin: AdminState = .joined, up: Bool = true) {
            (self.id, self.admin, self.up) = (id, admin, up)
        }
    }

    static let partitions = 16

    static func ring(_ members: [String]) throws -> Ring {
        try Claim.initial(partitionCount: partitions, members: members, targetN: 3)
    }

    func facts(_ local: String, _ members: [M], ring: Ring?, reports: [String: HandoffReport] = [:],
               own: HandoffReport = HandoffReport(ringVersion: 0, pending: 0, total: 0), wallMs: Int64 = 1_000) -> MembershipFacts {
        var infos: [String: ClusterView.MemberInfo] = [:]
        for m in members {
            infos[m.id] = .init(id: m.id, isUp: m.up, status: m.up ? "alive" : "dead", admin: m.admin.description,
                                incarnation: 1, clientAddress: "", gossipAddress: "")
        }
        let admin = members.first { $0.id == local }?.admin ?? .joined
        return MembershipFacts(cluster: ClusterSnapshot(localID: local, ring: ring, namespaces: NamespaceTable(), members: infos),
                               admin: admin, partitionCount: MembershipPolicyTests.partitions, reports: reports, ownReport: own,
                               nowMs: 5_000, wallMs: wallMs)
    }

    /// The actions other than the log and the handoff report, as short words a row can list.
    func summary(_ actions: [MembershipAction]) -> [String] {
        actions.compactMap { a -> String? in
            switch a {
            case .adoptRing(let r): "ring v\(r.version) owners \(Set(r.owners).sorted().joined(separator: ",")) future \(Set(r.futureOwners).sorted().joined(separator: ","))"
            case .setAdmin(let s): "admin \(s)"
            case .removeMember(let id): "remove \(id)"
            case .shutDown(let why): "stop \(why)"
            case .publishLease(let l): "lease \(l)"
            case .publishHandoffReport, .log: nil
            }
        }
    }

    // MARK: Claimant

    func testTheClaimantIsTheLowestJoinedIdWhateverItsLiveness() {
        let rows: [(String, [M], String?)] = [
            ("all joined", [M("n1"), M("n2"), M("n3")], "n1"),
            ("byte order, not numeric", [M("n2"), M("n10"), M("n3")], "n10"),
            ("lowest still joining", [M("n1", .joining), M("n2"), M("n3")], "n2"),
            ("lowest leaving", [M("n1", .leaving), M("n2"), M("n3")], "n2"),
            ("lowest removed", [M("n1", .removed, up: false), M("n2"), M("n3")], "n2"),
            // A node merely down never changes ownership, nor who decides.
            ("lowest dead but joined", [M("n1", up: false), M("n2"), M("n3")], "n1"),
            ("nobody joined yet", [M("n1", .joining), M("n2", .joining)], nil),
        ]
        for (name, members, claimant) in rows {
            XCTAssertEqual(MembershipPolicy.claimant(facts("n2", members, ring: nil).cluster), claimant, name)
        }
    }

    // MARK: Ticks

    func testOneTickFromTable() throws {
        let r3 = try MembershipPolicyTests.ring(["n1", "n2", "n3"])
        let r4 = try MembershipPolicyTests.ring(["n1", "n2", "n3", "n4"])
        let rows: [(String, MembershipFacts, [String])] = [
            ("a lone first node makes the first ring", facts("n1", [M("n1")], ring: nil), ["ring v1 owners n1 future n1"]),
            ("no change, no proposal", facts("n1", [M("n1"), M("n2"), M("n3")], ring: r3), []),
            ("join: the claimant marks the joiner's partitions",
             facts("n1", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: r3), ["ring v2 owners n1,n2,n3 future n1,n2,n3,n4"]),
            ("join: a non-claimant proposes nothing", facts("n2", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: r3), []),
            ("join: the joiner waits until the ring holds it", facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: r3), []),
            ("join: the joiner held by the ring is joined", facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: r4), ["admin joined"]),
            ("leave: the claimant moves the leaver's partitions away",
             facts("n1", [M("n1"), M("n2"), M("n3"), M("n4", .leaving)], ring: r4), ["ring v2 owners n1,n2,n3,n4 future n1,n2,n3"]),
            ("leave: the leaver stays while the ring holds it", facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .leaving)], ring: r4), []),
            ("leave: the leaver stops once the ring does not hold it",
             facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .leaving)], ring: r3), ["stop left"]),
            ("remove: the claimant rebuilds the removed node's partitions",
             facts("n1", [M("n1"), M("n2"), M("n3"), M("n4", .removed, up: false)], ring: r4), ["ring v2 owners n1,n2,n3,n4 future n1,n2,n3"]),
            ("remove: a removed live node stops at once", facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .removed)], ring: r4), ["stop removed"]),
            ("claimant dead: nobody else proposes a join",
             facts("n2", [M("n1", up: false), M("n2"), M("n3"), M("n4", .joining)], ring: r3), []),
            ("claimant removed: the next lowest takes over, for the join and the removal",
             facts("n2", [M("n1", .removed, up: false), M("n2"), M("n3"), M("n4", .joining)], ring: r3),
             ["ring v2 owners n1,n2,n3 future n2,n3,n4"]),
        ]
        for (name, f, expected) in rows {
            var policy = MembershipPolicy()
            XCTAssertEqual(summary(policy.onTick(f)), expected, name)
        }
    }

    func testSettlingWaitsForEveryReceiverToReportThisVersionDone() throws {
        // n4 leaves: its partitions move to the others, the claimant n1 among the receivers.
        let members = [M("n1"), M("n2"), M("n3"), M("n4", .leaving)]
        var claimant = MembershipPolicy()
        guard case .adoptRing(let moving)? = claimant.onTick(facts("n1", members, ring: try MembershipPolicyTests.ring(["n1", "n2", "n3", "n4"]))).first else {
            return XCTFail("no proposal")
        }
        let receivers = HandoffPlan.receivers(ring: moving, namespaces: NamespaceTable().namespaces)
        XCTAssertTrue(moving.isTransferring)
        XCTAssertTrue(receivers.contains("n1") && receivers.contains("n2"), "receivers \(receivers)")
        let v = moving.version
        let done = HandoffReport(ringVersion: v, pending: 0, total: 4)
        let all = ["n2": done, "n3": done, "n4": done]
        let settled = "ring v\(v + 1) owners n1,n2,n3 future n1,n2,n3"
        let rows: [(String, [String: HandoffReport], HandoffReport, [String])] = [
            ("every receiver done", all, done, [settled]),
            ("a receiver still pulling", all.merging(["n2": HandoffReport(ringVersion: v, pending: 2, total: 4)]) { $1 }, done, []),
            ("a receiver's report is for the ring before", all.merging(["n2": HandoffReport(ringVersion: v - 1, pending: 0, total: 4)]) { $1 }, done, []),
            ("a receiver not heard from", all.filter { $0.key != "n2" }, done, []),
            // The claimant's own report is the fresh one from its engine, not what gossip holds for it.
            ("the claimant itself still pulling", all.merging(["n1": done]) { $1 }, HandoffReport(ringVersion: v, pending: 1, total: 4), []),
        ]
        for (name, reports, own, expected) in rows {
            var policy = MembershipPolicy()
            XCTAssertEqual(summary(policy.onTick(facts("n1", members, ring: moving, reports: reports, own: own))), expected, name)
        }
    }

    func testAJoinDuringAPartitionWaitsForTheClaimantThenLandsOnBothSides() throws {
        let r3 = try MembershipPolicyTests.ring(["n1", "n2", "n3"])
        // {n1} | {n2, n3, n4}: n4 joins by a seed on the far side from the claimant.
        var far = MembershipPolicy()
        XCTAssertEqual(summary(far.onTick(facts("n2", [M("n1", up: false), M("n2"), M("n3"), M("n4", .joining)], ring: r3))), [],
                       "a node cut off from the claimant takes no decision")
        var joiner = MembershipPolicy()
        XCTAssertEqual(summary(joiner.onTick(facts("n4", [M("n1", up: false), M("n2"), M("n3"), M("n4", .joining)], ring: r3))), [])
        var claimant = MembershipPolicy()
        XCTAssertEqual(summary(claimant.onTick(facts("n1", [M("n1"), M("n2", up: false), M("n3", up: false)], ring: r3))), [],
                       "the claimant has not heard of the joiner")
        // Healed: the claimant hears of n4 and proposes; the joiner adopts that ring and is joined.
        let after = claimant.onTick(facts("n1", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: r3))
        guard case .adoptRing(let next)? = after.first else { return XCTFail("no proposal after the heal") }
        XCTAssertEqual(summary(joiner.onTick(facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .joining)], ring: next))), ["admin joined"])
        XCTAssertEqual(summary(far.onTick(facts("n2", [M("n1"), M("n2"), M("n3"), M("n4")], ring: next))), [])
    }

    func testALeaverIsToldToStopOnce() throws {
        let f = facts("n4", [M("n1"), M("n2"), M("n3"), M("n4", .leaving)], ring: try MembershipPolicyTests.ring(["n1", "n2", "n3"]))
        var policy = MembershipPolicy()
        let first = policy.onTick(f)
        XCTAssertEqual(summary(first), ["stop left"])
        XCTAssertTrue(first.contains(.log(.init(level: .info, msg: "left the cluster; stopping", fields: []))))
        XCTAssertEqual(summary(policy.onTick(f)), [], "the stop is asked for once")
    }

    func testHandoffReportsAndLeasesArePublishedWhenTheyChangeWithGrowingVersions() throws {
        let members = [M("n1"), M("n2")]
        let ring = try MembershipPolicyTests.ring(["n1", "n2"])
        var policy = MembershipPolicy()
        func reports(_ a: [MembershipAction]) -> [UInt64] {
            a.compactMap { if case .publishHandoffReport(_, let v) = $0 { v } else { nil } }
        }
        let a = HandoffReport(ringVersion: 1, pending: 0, total: 0), b = HandoffReport(ringVersion: 2, pending: 3, total: 3)
        XCTAssertEqual(reports(policy.onTick(facts("n2", members, ring: ring, own: a, wallMs: 1_000))), [1_000])
        XCTAssertEqual(reports(policy.onTick(facts("n2", members, ring: ring, own: a, wallMs: 2_000))), [], "unchanged: not gossiped again")
        // The wall clock stepped back: the version still grows, or gossip would keep the old report.
        XCTAssertEqual(reports(policy.onTick(facts("n2", members, ring: ring, own: b, wallMs: 500))), [1_001])
        XCTAssertEqual(reports(policy.onTick(facts("n2", members, ring: ring, own: a, wallMs: 9_000))), [9_000])

        var f = facts("n2", members, ring: ring, own: a)
        var leases = MembershipPolicy()
        for (lease, expected) in [(UInt64(0), [String]()), (100, ["lease 100"]), (100, []), (200, ["lease 200"])] {
            f.leasedUpTo = lease
            XCTAssertEqual(summary(leases.onTick(f)), expected, "lease \(lease)")
        }
    }

    func testTheSameFactsGiveTheSameActions() throws {
        let f = facts("n1", [M("n1"), M("n2"), M("n3", .leaving), M("n4", .joining)], ring: try MembershipPolicyTests.ring(["n1", "n2", "n3"]))
        var a = MembershipPolicy(), b = MembershipPolicy()
        XCTAssertEqual(a.onTick(f), b.onTick(f))
        XCTAssertEqual(a.onTick(f), b.onTick(f))
    }

    func testTheOperatorLogSaysWhatChangedOnce() throws {
        var policy = MembershipPolicy()
        let f = facts("n1", [M("n1"), M("n2")], ring: try MembershipPolicyTests.ring(["n1", "n2"]))
        func logs(_ a: [MembershipAction]) -> [String] { a.compactMap { if case .log(let e) = $0 { e.msg } else { nil } } }
        XCTAssertEqual(logs(policy.onTick(f)), ["member seen", "member seen", "ring loaded"])
        XCTAssertEqual(logs(policy.onTick(f)), [])
        let suspect = facts("n1", [M("n1"), M("n2", up: false)], ring: try MembershipPolicyTests.ring(["n1", "n2"]))
        XCTAssertEqual(logs(policy.onMembersChanged(suspect.cluster)), ["member state changed"])
        XCTAssertEqual(logs(policy.onTick(suspect)), [], "the gossip event logged it already")
    }

    // MARK: LEAVE and REMOVE

    func testAdminCommandsFromTable() {
        let members: [String: AdminState] = ["n1": .joined, "n2": .joined, "n3": .removed]
        let rows: [(String, AdminCommand, AdminState, String, [String])] = [
            ("leave when joined", .leave, .joined, "OK leaving", ["admin leaving"]),
            ("leave while still joining", .leave, .joining, "OK leaving", ["admin leaving"]),
            ("leave twice", .leave, .leaving, "ERR node is leaving, cannot leave", []),
            ("leave after removal", .leave, .removed, "ERR node is removed, cannot leave", []),
            ("remove another", .remove("n2"), .joined, "OK removing n2", ["remove n2"]),
            ("remove oneself", .remove("n1"), .joined, "ERR cannot remove this node; use LEAVE on it", []),
            ("remove a stranger", .remove("n9"), .joined, "ERR unknown node 'n9'", []),
            ("remove twice", .remove("n3"), .joined, "OK n3 already removed", []),
        ]
        for (name, command, admin, reply, expected) in rows {
            let (result, actions) = MembershipPolicy.admin(command, localID: "n1", admin: admin, members: members)
            let line: String
            switch result {
            case .success(let s): line = s
            case .failure(let e): line = e.line
            }
            XCTAssertTrue(line.hasPrefix(reply), "\(name): \(line)")
            XCTAssertEqual(summary(actions), expected, name)
        }
    }
}
