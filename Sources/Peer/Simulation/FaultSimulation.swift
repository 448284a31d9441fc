// The public face of the deterministic fault simulation (docs/FAULTS.md, "Simulated
// faults"), for `chorus bench sim`: everything else in Simulation/ is internal to the Peer
// module and reached by the Peer tests through `@testable import`. Simulation only: no
// running node calls any of it. One seed runs on the calling thread; seeds share nothing.

/// The seeded whole-cluster fault simulation: one `FaultSchedule` per seed, run and checked.
public enum FaultSimulation {
    /// Runs the schedule of `seed` in virtual time and checks it. Throws only when the
    /// simulated cluster cannot be set up; a broken invariant is a violation in the report.
    public static func run(seed: UInt64) throws -> FaultSimulationReport {
        FaultSimulationReport(try FaultSchedule(seed: seed).run())
    }
}

/// One seed's outcome: what ran, which checkers it broke, which known-stale values it showed.
public struct FaultSimulationReport: Sendable {
    public let seed: UInt64
    /// Client operations started (SET or DEL, one at a time per key).
    public let operations: Int
    public let acknowledged: Int
    /// The fault episodes in order, "START ms+LENGTH: fault, fault" (START from the workload's start).
    public let faults: [String]
    /// Broken invariants, "KIND KEY: detail" (diverged, phantom, lost-ack, read-failed).
    public let violations: [String]
    /// Superseded acknowledged values back (docs/FAULTS.md, "A blind write at a stand-in"):
    /// counted and shown, not failed.
    public let knownStale: [String]
    /// How many of `knownStale` were forwarded writes (their sibling carries a write id).
    public let knownStaleForwarded: Int
    /// The operations of every key in `violations` or `knownStale`, one line each, for a replay.
    public let histories: [String]

    /// File operations a disk fault failed, stores that resumed after one by themselves,
    /// crashes that kept a torn tail of unsynced bytes.
    public let diskFaultsHit: Int
    public let storeRecoveries: Int
    public let tornCrashes: Int

    public var passed: Bool { violations.isEmpty }

    init(_ r: FaultSchedule.Report) {
        seed = r.seed
        operations = r.ops
        acknowledged = r.acked
        faults = r.faults
        violations = r.violations.map(\.description)
        knownStale = r.knownStale.map(\.description)
        knownStaleForwarded = r.knownStale.filter(\.forwarded).count
        diskFaultsHit = r.diskFaultsHit
        storeRecoveries = r.storeRecoveries
        tornCrashes = r.tornCrashes
        var keys: [String] = []
        for v in r.violations + r.knownStale where !keys.contains(v.key) { keys.append(v.key) }
        histories = keys.flatMap { key in
            (r.history[key] ?? []).enumerated().map { i, op in
                "\(key) op \(i): \(op.value ?? "DEL") via \(op.node) at \(op.startMs) for \(op.durationMs) ms: \(op.outcome)"
            }
        }
    }
}

/// Totals over many seeds, as `chorus bench sim` and FaultSimulationTests report them.
public struct FaultSimulationTally: Sendable {
    public private(set) var schedules = 0
    public private(set) var passed = 0
    /// Every seed that broke a checker, in the order run.
    public private(set) var failedSeeds: [UInt64] = []
    public private(set) var operations = 0
    public private(set) var acknowledged = 0
    /// Known superseded values back, over all seeds, and in how many seeds they appeared.
    public private(set) var knownStale = 0
    public private(set) var knownStaleSeeds = 0
    public private(set) var knownStaleForwarded = 0
    public private(set) var diskFaultsHit = 0
    public private(set) var storeRecoveries = 0
    public private(set) var tornCrashes = 0

    public init() {}

    public mutating func add(_ report: FaultSimulationReport) {
        schedules += 1
        operations += report.operations
        acknowledged += report.acknowledged
        knownStale += report.knownStale.count
        knownStaleSeeds += report.knownStale.isEmpty ? 0 : 1
        knownStaleForwarded += report.knownStaleForwarded
        diskFaultsHit += report.diskFaultsHit
        storeRecoveries += report.storeRecoveries
        tornCrashes += report.tornCrashes
        if report.passed { passed += 1 } else { failedSeeds.append(report.seed) }
    }
}

/// A failure to set the simulated cluster up (never a finding about the system under test).
public enum SimulationError: Error, CustomStringConvertible {
    case badNodeID(String)

    public var description: String {
        switch self {
        case .badNodeID(let id): "simulated node id \(id) is not a valid node id (1...255 UTF-8 bytes)"
        }
    }
}
