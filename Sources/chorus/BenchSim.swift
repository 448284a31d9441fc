// `chorus bench sim`: the deterministic whole-cluster fault simulation (docs/FAULTS.md,
// "Simulated faults") over many seeds, one schedule per seed, from the release binary.
// Everything about a schedule is a function of its seed, so a failing seed replays alone
// with `--first SEED --seeds 1`, which also prints its faults and the failing keys' histories.
import Foundation
import Peer

enum SimBench {
    static let help = """
    usage: chorus bench sim [--seeds 100] [--first 1] [--progress]

    Runs --seeds fault schedules (seeds --first, --first+1, ...) on the deterministic
    simulated 3-peer cluster: 8 keys written and deleted through random peers for 6 s of
    virtual time under seeded loss, duplication, silent and slow peers, one-way drops,
    pauses, crashes with lost or torn unsynced writes, partitions, full and failing disks
    (ENOSPC, EIO), clock skews and clock jumps; then a heal, a
    repair on every peer and the checks (converged, no phantom, no lost acknowledged write).
    Prints every seed that broke a checker with the command that replays it, then the
    schedules run, passed and failed, operations and acknowledged writes, the known
    superseded values back (docs/FAULTS.md; counted, not failed), and the time taken.
    Exit status 1 if any seed failed. --progress prints a line every 100 seeds.
    With --seeds 1 it also prints the schedule's faults and its failing keys' histories.
    """

    static func run(_ args: [String]) -> Int32 {
        let first: UInt64, count: UInt64, progress: Bool
        do {
            let flags = try Flags(args, valued: ["seeds", "first"], boolean: ["help", "progress"])
            if flags.has("help") {
                print(help)
                return 0
            }
            guard flags.positional.isEmpty else { throw Flags.UsageError(description: "unexpected argument \(flags.positional[0])") }
            count = UInt64(try flags.int("seeds", default: 100, range: 1...10_000_000))
            first = UInt64(try flags.int("first", default: 1, range: 0...Int.max))
            progress = flags.has("progress")
        } catch {
            printError("\(error)")
            return 2
        }

        print("sim: \(count) schedule\(count == 1 ? "" : "s"), seeds \(first)...\(first + count - 1)")
        var tally = FaultSimulationTally()
        let clock = ContinuousClock()
        let started = clock.now
        for seed in first..<(first + count) {
            let report: FaultSimulationReport
            do {
                report = try FaultSimulation.run(seed: seed)
            } catch {
                printError("seed \(seed): the simulated cluster could not be set up: \(error)")
                return 1
            }
            tally.add(report)
            if !report.passed {
                let more = report.violations.count > 1 ? " (+\(report.violations.count - 1) more)" : ""
                print("sim: seed \(seed) FAILED: \(report.violations[0])\(more); replay: chorus bench sim --first \(seed) --seeds 1")
            }
            if count == 1 { printDetail(report) }
            if progress, tally.schedules % 100 == 0, UInt64(tally.schedules) < count {
                let secs = seconds(clock.now - started)
                print("sim: \(tally.schedules) of \(count) seeds, \(tally.failedSeeds.count) failed, "
                      + "\(fixed(secs, 1)) s, \(fixed(Double(tally.schedules) / max(secs, 1e-9), 2)) seeds/s")
                fflush(stdout)
            }
        }
        let secs = seconds(clock.now - started)
        print("sim: schedules \(tally.schedules), passed \(tally.passed), failed \(tally.failedSeeds.count)")
        print("sim: operations \(tally.operations), acknowledged \(tally.acknowledged)")
        print("sim: disk faults hit \(tally.diskFaultsHit) file operations, stores resumed by themselves \(tally.storeRecoveries), "
              + "crashes with a torn tail \(tally.tornCrashes)")
        print("sim: known stale \(tally.knownStale) superseded values back (docs/FAULTS.md, counted, not failed) "
              + "in \(tally.knownStaleSeeds) schedules, \(tally.knownStaleForwarded) of them forwarded writes")
        print("sim: elapsed \(fixed(secs, 1)) s, \(fixed(Double(tally.schedules) / max(secs, 1e-9), 2)) seeds/s")
        if !tally.failedSeeds.isEmpty {
            print("sim: failed seeds: " + tally.failedSeeds.map(String.init).joined(separator: " "))
        }
        return tally.failedSeeds.isEmpty ? 0 : 1
    }

    /// One schedule in full: what a replay is for.
    private static func printDetail(_ report: FaultSimulationReport) {
        print("sim: seed \(report.seed): \(report.operations) operations, \(report.acknowledged) acknowledged, "
              + "\(report.diskFaultsHit) disk faults hit, \(report.storeRecoveries) store recoveries")
        print("sim: faults: " + report.faults.joined(separator: "; "))
        for v in report.violations { print("sim: violation: \(v)") }
        for v in report.knownStale { print("sim: known stale (docs/FAULTS.md): \(v)") }
        for line in report.histories { print("  \(line)") }
    }

    private static func seconds(_ d: Duration) -> Double {
        let (s, attoseconds) = d.components
        return Double(s) + Double(attoseconds) / 1e18
    }

    private static func fixed(_ x: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", x)
    }
}
