import XCTest
@testable import Gossip

/// An operator removes a member while it is cut off (the nemesis suite's
/// membership-partition scenario): the removal must hold when the cut heals, even if the
/// removed member refuted a rumour about itself meanwhile and so announces itself alive
/// with a higher incarnation than the removal's.
final class RemovalDuringPartitionTests: XCTestCase {
    private func formed(_ n: Int, seed: UInt64) -> GossipSimulator {
        let sim = GossipSimulator(seed: seed, config: GossipConfig())
        sim.addNode()
        for _ in 1..<n { sim.addNode(seeds: [0]) }
        sim.run(untilNs: sim.nowNs + 60_000_000_000) { sim.converged() }
        XCTAssertTrue(sim.converged(), "cluster did not form, seed \(seed)")
        return sim
    }

    func testRemovalDuringAPartitionHoldsAfterTheHealAndStopsTheRemovedNode() {
        for seed: UInt64 in [3, 4, 5] {
            let sim = formed(5, seed: seed)
            var removedSelf = false
            sim.onEvent = { _, o, e in if case .memberRemoved(let m) = e, o == 4, m.id == "n4" { removedSelf = true } }
            sim.partition([[0, 1, 2, 3], [4]])
            sim.run(forMs: 15_000)
            XCTAssertEqual(sim.core(0).member("n4")?.status, .dead, "seed \(seed)")
            let before = sim.core(4).member("n4")?.incarnation ?? 0
            sim.command(0) { core, now in core.removeMember("n4", now: now) }
            // While cut off, n4 hears a stale "dead" rumour about itself and refutes it: its
            // incarnation is now above the one the removal was made at.
            sim.command(4) { core, now in
                var actions: [GossipAction] = []
                guard var rumour = core.member("n4") else { return [] }
                rumour.status = .dead
                core.applyUpdate(rumour, from: "n1", now: now, actions: &actions)
                return actions
            }
            XCTAssertGreaterThan(sim.core(4).member("n4")?.incarnation ?? 0, before, "seed \(seed): n4 did not refute")
            sim.run(forMs: 2_000)
            sim.heal()
            sim.run(forMs: 15_000)
            for o in 0..<4 {
                XCTAssertEqual(sim.core(o).member("n4")?.admin, .removed, "node \(o) took the removed n4 back, seed \(seed)")
                XCTAssertEqual(sim.core(o).member("n4")?.status, .left, "node \(o), seed \(seed)")
            }
            XCTAssertTrue(removedSelf, "n4 never learned it was removed, seed \(seed)")
        }
    }
}
