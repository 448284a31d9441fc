import Foundation
import XCTest
@testable import Peer

/// Seeded fault schedules on the deterministic cluster (FaultSchedule, through the same
/// FaultSimulation entry `chorus bench sim` runs), checked against the nemesis suite's
/// invariants. swift test runs a short pass; the long run is `chorus bench sim --seeds 10000`
/// (release) or
///     CHORUS_SIM_SEEDS=10000 swift test --filter FaultSimulationTests
/// (figures in docs/FAULTS.md, "Simulated faults"). A failure prints its seed and the
/// command that replays that one schedule.
final class FaultSimulationTests: XCTestCase {
    func testSeededFaultSchedulesKeepTheInvariants() throws {
        let env = ProcessInfo.processInfo.environment
        let first = env["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 1
        let count = env["CHORUS_SIM_SEEDS"].flatMap { UInt64($0) } ?? 6
        var tally = FaultSimulationTally()
        let started = Date()
        for seed in first..<(first + count) {
            let report = try FaultSimulation.run(seed: seed)
            tally.add(report)
            if !report.passed, tally.failedSeeds.count <= 3 {
                print("sim: seed \(seed) FAILED; faults: \(report.faults.joined(separator: "; "))")
                for v in report.violations.prefix(6) { print("  \(v)") }
            }
            for v in report.knownStale.prefix(2) { print("sim: seed \(seed) KNOWN (docs/FAULTS.md): \(v)") }
            if count == 1 {
                print("sim: faults: \(report.faults.joined(separator: "; "))")
                for line in report.histories { print("  \(line)") }
            }
        }
        let secs = Date().timeIntervalSince(started)
        let failed = tally.failedSeeds, acked = tally.acknowledged
        print("sim: \(count) seeds from \(first): \(tally.passed) passed, \(failed.count) failed; \(tally.operations) operations, "
              + "\(acked) acknowledged, \(tally.knownStale) known superseded values back (docs/FAULTS.md) in \(tally.knownStaleSeeds) seeds, "
              + "\(tally.knownStaleForwarded) of them forwarded writes; \(String(format: "%.1f", secs)) s")
        if let s = failed.first {
            print("sim: first failing seed \(s); replay: CHORUS_SIM_SEED=\(s) CHORUS_SIM_SEEDS=1 swift test --filter FaultSimulationTests"
                  + " (or chorus bench sim --first \(s) --seeds 1)")
        }
        XCTAssertEqual(failed, [], "seeds that broke an invariant")
        XCTAssertGreaterThan(acked, Int(count) * 20, "the schedules did acknowledge work")
        print("sim: disk faults hit \(tally.diskFaultsHit) file operations, \(tally.storeRecoveries) store recoveries, \(tally.tornCrashes) torn crashes")
        if count >= 6 {
            // The disk faults are drawn and take effect (at 3 of 12 draws per fault, every
            // 6-seed pass has several): a schedule that never fails a write tests nothing.
            XCTAssertGreaterThan(tally.diskFaultsHit, 0, "no disk fault failed a file operation")
            XCTAssertGreaterThan(tally.storeRecoveries, 0, "no store resumed after a disk fault")
        }
    }
}
