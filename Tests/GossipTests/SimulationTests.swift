import XCTest
@testable import Gossip

/// Whole-cluster cases on the seeded simulator. Every failure message names the seed.
/// GOSSIP_SIM_SEEDS=A-B (or =N) replays every case over those seeds instead of its own.
final class SimulationTests: XCTestCase {
    private func seeds(_ defaults: [UInt64]) -> [UInt64] {
        guard let raw = ProcessInfo.processInfo.environment["GOSSIP_SIM_SEEDS"] else { return defaults }
        let parts = raw.split(separator: "-").compactMap { UInt64($0) }
        if parts.count == 2, parts[0] <= parts[1] { return Array(parts[0]...parts[1]) }
        return parts.count == 1 ? parts : defaults
    }

    private func formed(_ n: Int, seed: UInt64, network: NetworkProfile = NetworkProfile(), config: GossipConfig = GossipConfig()) -> GossipSimulator {
        let sim = GossipSimulator(seed: seed, config: config, network: network)
        sim.addNode()
        for _ in 1..<n { sim.addNode(seeds: [0]) }
        sim.run(untilNs: sim.nowNs + 60_000_000_000) { sim.converged() }
        XCTAssertTrue(sim.converged(), "cluster did not form, seed \(seed)")
        return sim
    }

    func testFiveNodeClusterFormsFromOneSeed() {
        for seed in seeds([1, 2, 3]) {
            let sim = GossipSimulator(seed: seed)
            sim.addNode()
            for _ in 1..<5 { sim.addNode(seeds: [0]) }
            sim.run(forMs: 10_000)
            for o in 0..<5 {
                XCTAssertEqual(sim.core(o).members.filter { $0.status == .alive }.count, 5, "node \(o), seed \(seed)")
                XCTAssertFalse(sim.core(o).isJoining, "node \(o) still joining, seed \(seed)")
            }
        }
    }

    func testJoinRetriesUntilTheSeedAnswers() {
        for seed in seeds([11]) {
            let sim = GossipSimulator(seed: seed)
            sim.addNode()
            sim.crash(0)
            sim.addNode(seeds: [0])
            sim.run(forMs: 5_000)
            XCTAssertTrue(sim.core(1).isJoining, "seed \(seed)")
            XCTAssertGreaterThan(sim.core(1).counters.pushPullsFailed, 1, "seed \(seed)")
            sim.restart(0, seeds: [])
            sim.run(forMs: 40_000)
            XCTAssertFalse(sim.core(1).isJoining, "seed \(seed)")
            XCTAssertTrue(sim.converged(), "seed \(seed)")
        }
    }

    func testCrashedNodeIsDeclaredDeadByEveryOtherNode() {
        for seed in seeds([5, 6, 7]) {
            let sim = formed(5, seed: seed)
            sim.crash(2)
            sim.run(forMs: 60_000)
            for o in [0, 1, 3, 4] {
                XCTAssertEqual(sim.status(of: 2, seenBy: o), .dead, "observer \(o), seed \(seed)")
            }
            XCTAssertTrue(sim.converged(), "seed \(seed)")
        }
    }

    func testSlowButAliveNodeIsNotDeclaredDead() {
        for seed in seeds([21]) {
            let sim = formed(5, seed: seed)
            var deaths = 0
            sim.onEvent = { _, _, e in if case .memberDown(let m) = e, m.id == "n2" { deaths += 1 } }
            // A third of its packets (acks included) arrive after the 500 ms probe timeout.
            sim.setSlow(2, probability: 0.3, extraDelayMs: 700)
            sim.run(forMs: 300_000)
            XCTAssertEqual(deaths, 0, "slow node declared dead, seed \(seed)")
            // The slowness was real: probes of it timed out and went indirect.
            XCTAssertGreaterThan((0..<5).reduce(UInt64(0)) { $0 + sim.core($1).counters.indirectProbes }, 20, "seed \(seed)")
            for o in [0, 1, 3, 4] { XCTAssertEqual(sim.status(of: 2, seenBy: o), .alive, "observer \(o), seed \(seed)") }
        }
    }

    func testPartitionSidesSeeEachOtherDeadAndHealWithoutOperator() {
        for seed in seeds([31]) {
            let sim = formed(5, seed: seed)
            sim.partition([[0, 1], [2, 3, 4]])
            sim.run(forMs: 90_000)
            for a in [0, 1] {
                for b in [2, 3, 4] {
                    XCTAssertEqual(sim.status(of: b, seenBy: a), .dead, "\(a) sees \(b), seed \(seed)")
                    XCTAssertEqual(sim.status(of: a, seenBy: b), .dead, "\(b) sees \(a), seed \(seed)")
                }
            }
            XCTAssertEqual(sim.status(of: 1, seenBy: 0), .alive, "seed \(seed)")
            XCTAssertEqual(sim.status(of: 4, seenBy: 2), .alive, "seed \(seed)")
            sim.heal()
            sim.run(forMs: 120_000)
            XCTAssertTrue(sim.converged(), "not all alive after healing, seed \(seed)")
        }
    }

    func testRestartedNodeComesBackAliveWithHigherIncarnation() {
        for seed in seeds([41]) {
            let sim = formed(5, seed: seed)
            let before = sim.core(3).me.incarnation
            sim.crash(3)
            sim.run(forMs: 60_000)
            XCTAssertEqual(sim.status(of: 3, seenBy: 0), .dead, "seed \(seed)")
            sim.restart(3, seeds: [0])
            sim.run(forMs: 30_000)
            XCTAssertTrue(sim.converged(), "seed \(seed)")
            for o in [0, 1, 2, 4] {
                let m = sim.core(o).member("n3")
                XCTAssertEqual(m?.status, .alive, "observer \(o), seed \(seed)")
                XCTAssertGreaterThan(m?.incarnation ?? 0, before, "observer \(o), seed \(seed)")
            }
        }
    }

    func testTenPercentLossDeclaresNoAliveNodeDeadOverTenMinutes() {
        for seed in seeds([51, 52, 53, 66]) {
            let sim = formed(5, seed: seed, network: NetworkProfile(minDelayMs: 1, maxDelayMs: 10, lossRate: 0.10, duplicateRate: 0.01))
            var deaths: [String] = []
            sim.onEvent = { t, o, e in if case .memberDown(let m) = e { deaths.append("n\(o) saw \(m.id) dead at \(t / 1_000_000) ms") } }
            sim.run(forMs: 600_000)
            XCTAssertEqual(deaths, [], "seed \(seed)")
            // A suspicion may be in flight at the end; a death may not.
            for o in 0..<5 { XCTAssertTrue(sim.core(o).members.allSatisfy(\.isLive), "node \(o), seed \(seed)") }
        }
    }

    func testGracefulLeaveIsSeenAsLeftNotDead() {
        for seed in seeds([61]) {
            let sim = formed(5, seed: seed)
            var downs = 0
            sim.onEvent = { _, _, e in if case .memberDown = e { downs += 1 } }
            sim.leave(4)
            sim.run(forMs: 10_000)
            for o in 0..<4 { XCTAssertEqual(sim.status(of: 4, seenBy: o), .left, "observer \(o), seed \(seed)") }
            XCTAssertEqual(downs, 0, "seed \(seed)")
        }
    }

    func testClusterStateNewestVersionReachesEveryNode() {
        for seed in seeds([71]) {
            let sim = formed(5, seed: seed)
            sim.command(1) { core, now in core.publishState(key: "ring", version: 3, payload: [1, 2, 3], now: now) }
            sim.command(2) { core, now in core.publishState(key: "ring", version: 2, payload: [9], now: now) }
            let big = [UInt8](repeating: 7, count: 20_000)
            sim.command(3) { core, now in core.publishState(key: "namespaces", version: 1, payload: big, now: now) }
            // Gossip reaches most nodes at once; the push-pull interval (30 s) repairs any miss.
            sim.run(forMs: 35_000)
            for o in 0..<5 {
                XCTAssertEqual(sim.core(o).stateValue("ring"), ClusterStateValue(key: "ring", version: 3, payload: [1, 2, 3]), "node \(o), seed \(seed)")
                XCTAssertTrue(sim.core(o).stateValue("namespaces")?.payload == big, "node \(o) lacks the big value, seed \(seed)")
            }
        }
    }

    func testAdminStateChangeReachesEveryNode() {
        for seed in seeds([81]) {
            let sim = formed(5, seed: seed)
            sim.command(2) { core, now in core.setAdminState(.joined, now: now) }
            sim.run(forMs: 5_000)
            for o in 0..<5 { XCTAssertEqual(sim.core(o).member("n2")?.admin, .joined, "node \(o), seed \(seed)") }
        }
    }

    func testOperatorRemovalStopsTheRemovedNode() {
        for seed in seeds([91]) {
            let sim = formed(5, seed: seed)
            var removedSelf = false
            sim.onEvent = { _, o, e in if case .memberRemoved(let m) = e, o == 4, m.id == "n4" { removedSelf = true } }
            sim.command(0) { core, now in core.removeMember("n4", now: now) }
            sim.run(forMs: 10_000)
            XCTAssertTrue(removedSelf, "seed \(seed)")
            for o in 0..<4 {
                XCTAssertEqual(sim.core(o).member("n4")?.admin, .removed, "node \(o), seed \(seed)")
                XCTAssertEqual(sim.core(o).member("n4")?.status, .left, "node \(o), seed \(seed)")
            }
        }
    }

    func testClusterWithWrongSecretNodeNeverAdmitsIt() {
        for seed in seeds([101]) {
            var good = GossipConfig()
            good.secret = Array("right".utf8)
            let sim = formed(3, seed: seed, config: good)
            var bad = good
            bad.secret = Array("wrong".utf8)
            sim.config = bad
            sim.addNode(seeds: [0])
            sim.run(forMs: 20_000)
            for o in 0..<3 { XCTAssertNil(sim.core(o).member("n3"), "node \(o) admitted a wrong-secret node, seed \(seed)") }
            XCTAssertTrue(sim.core(3).isJoining, "seed \(seed)")
            XCTAssertGreaterThan(sim.core(0).counters.dropped(.badMAC), 0, "seed \(seed)")
        }
    }

    func testHeavyDuplicationAndReorderingCauseNoFalseDeaths() {
        for seed in seeds([111]) {
            // Delays from 1 to 300 ms reorder freely; 30% of packets arrive twice.
            let sim = formed(5, seed: seed, network: NetworkProfile(minDelayMs: 1, maxDelayMs: 300, lossRate: 0, duplicateRate: 0.3))
            var deaths = 0
            sim.onEvent = { _, _, e in if case .memberDown = e { deaths += 1 } }
            sim.run(forMs: 120_000)
            XCTAssertEqual(deaths, 0, "seed \(seed)")
            sim.crash(1)
            sim.run(forMs: 60_000)
            for o in [0, 2, 3, 4] { XCTAssertEqual(sim.status(of: 1, seenBy: o), .dead, "observer \(o), seed \(seed)") }
        }
    }

    func testFiftyNodesFormFromOneSeedAndAllDetectACrash() {
        for seed in seeds([121]) {
            let sim = GossipSimulator(seed: seed)
            sim.addNode()
            for _ in 1..<50 { sim.addNode(seeds: [0]) }
            sim.run(forMs: 30_000)
            XCTAssertTrue(sim.converged(), "seed \(seed)")
            sim.crash(17)
            sim.run(forMs: 60_000)
            XCTAssertTrue(sim.converged(), "crash of n17 not seen by all, seed \(seed)")
        }
    }
}
