import Foundation
import XCTest
@testable import Peer

/// Seeded fault schedules on the deterministic cluster (FaultSchedule), checked against the
/// nemesis suite's invariants. swift test runs a short pass; the long run is
///     CHORUS_SIM_SEEDS=10000 swift test --filter FaultSimulationTests
/// (figures in docs/FAULTS.md, "Simulated faults"). A failure prints its seed and the
/// command that replays that one schedule.
final class FaultSimulationTests: XCTestCase {
    func testSeededFaultSchedulesKeepTheInvariants() throws {
        let env = ProcessInfo.processInfo.environment
        let first = env["CHORUS_SIM_SEED"].flatMap { UInt64($0) } ?? 1
        let count = env["CHORUS_SIM_SEEDS"].flatMap { UInt64($0) } ?? 6
        var passed = 0, failed: [UInt64] = [], ops = 0, acked = 0, known = 0, knownSeeds = 0, forwardedKnown = 0
        let started = Date()
        for seed in first..<(first + count) {
            let report = try FaultSchedule(seed: seed).run()
            ops += report.ops
            acked += report.acked
            known += report.knownStale.count
            knownSeeds += report.knownStale.isEmpty ? 0 : 1
            forwardedKnown += report.knownStale.filter { $0.detail.hasSuffix("never forwarded") == false }.count
            if report.passed {
                passed += 1
            } else {
                failed.append(seed)
                if failed.count <= 3 {
                    print("sim: seed \(seed) FAILED; faults: \(report.faults.joined(separator: "; "))")
                    for v in report.violations.prefix(6) { print("  \(v)") }
                }
            }
            for v in report.knownStale.prefix(2) { print("sim: seed \(seed) KNOWN (docs/FAULTS.md): \(v)") }
            if count == 1 {
                print("sim: faults: \(report.faults.joined(separator: "; "))")
                for v in report.violations + report.knownStale {
                    for (i, op) in (report.history[v.key] ?? []).enumerated() {
                        print("  \(v.key) op \(i): \(op.value ?? "DEL") via \(op.node) at \(op.startMs) for \(op.durationMs) ms: \(op.outcome)")
                    }
                }
            }
        }
        let secs = Date().timeIntervalSince(started)
        print("sim: \(count) seeds from \(first): \(passed) passed, \(failed.count) failed; \(ops) operations, \(acked) acknowledged, "
              + "\(known) known superseded values back (docs/FAULTS.md) in \(knownSeeds) seeds, \(forwardedKnown) of them forwarded writes; "
              + "\(String(format: "%.1f", secs)) s")
        if let s = failed.first {
            print("sim: first failing seed \(s); replay: CHORUS_SIM_SEED=\(s) CHORUS_SIM_SEEDS=1 swift test --filter FaultSimulationTests")
        }
        XCTAssertEqual(failed, [], "seeds that broke an invariant")
        XCTAssertGreaterThan(acked, Int(count) * 20, "the schedules did acknowledge work")
    }
}
