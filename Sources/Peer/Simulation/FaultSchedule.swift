import Foundation
import Gossip
import Ring
import Storage
import Synchronization

/// One seeded run of the deterministic cluster under faults (docs/FAULTS.md, "Simulated
/// faults"): a client per key writes and deletes it, one operation at a time, through a
/// random running peer, while episodes of faults come and go: message loss, duplication,
/// a silent peer, a one-way drop, a slow peer, a pause (SIGSTOP: its traffic waits), a crash
/// with its disk kept (unsynced bytes lost, or a torn tail of them kept) and a restart, a
/// partition, a full disk (ENOSPC), a failing disk (EIO on fsync, or on every write), wall-
/// clock skews within the clock-offset bound and wall-clock jumps of 1-10 s (and back). Reordering is in every run: each message's delay
/// is drawn on its own. Then everything heals, every peer runs a repair, and the nemesis
/// suite's invariants are checked: no acknowledged write lost, no phantom value, no value
/// of a superseded acknowledged write back (a resurrected delete), and every primary
/// holding the same copy of every key. Everything is a function of the seed.
final class FaultSchedule: @unchecked Sendable {
    enum Outcome { case pending, acked, failed }

    struct Op {
        var value: String?
        var node: String
        var startMs: Int64
        var endMs: Int64 = -1
        var outcome: Outcome = .pending
        var durationMs: Int64 { endMs - startMs }
    }

    struct Violation: CustomStringConvertible {
        var kind: String
        var key: String
        var detail: String
        /// For a known-stale value: its write was forwarded (it carries a write id).
        var forwarded = false
        var description: String { "\(kind) \(key): \(detail)" }
    }

    struct Report {
        var seed: UInt64
        var ops = 0
        var acked = 0
        var faults: [String] = []
        var violations: [Violation] = []
        /// Superseded acknowledged values back: a value whose write was acknowledged, then
        /// superseded by a later acknowledged write (a DEL: a resurrected delete), is a
        /// sibling again. Known and not fixed (docs/FAULTS.md, "A blind write at a
        /// stand-in" and "Late forwards: what is left"): a write without a context that fails
        /// over to a coordinator which has not seen an acknowledged version (or one of the two
        /// copies a failover made of one forwarded write) does not supersede it. Counted and
        /// shown, with the surviving sibling's write id, not failed; the late-forward case
        /// that is fixed has its own test (LateForwardSimulationTests).
        var knownStale: [Violation] = []
        /// File operations a disk fault failed (ENOSPC, EIO), stores that resumed after one,
        /// and crashes that kept a torn tail of unsynced bytes.
        var diskFaultsHit = 0
        var storeRecoveries = 0
        var tornCrashes = 0
        var passed: Bool { violations.isEmpty }
        /// Each key's operations, for a replay's diagnosis.
        var history: [String: [Op]] = [:]
    }

    static let peers = ["n0", "n1", "n2"]

    let seed: UInt64
    let c: DeterministicCluster
    let keys: [String]
    private var rng: SeededRandom
    private var ops: [[Op]]
    private let workloadMs: Int64
    private var report: Report
    /// Clock jumps in force, undone at the next heal.
    private var jumps: [String: Int64] = [:]

    init(seed: UInt64, keys: Int = 8, workloadMs: Int64 = 6_000) throws {
        self.seed = seed
        var limits = NodeEngine.Limits()
        limits.hintIntervalMs = 200
        limits.antiEntropyIntervalMs = 0  // convergence is checked after explicit repairs
        c = try DeterministicCluster.start(FaultSchedule.peers, seed: seed, limits: limits, virtualStoreRecovery: true)
        rng = SeededRandom(seed: seed ^ 0xFA_175C_4ED0)
        self.keys = (0..<keys).map { "k\($0)" }
        ops = Array(repeating: [], count: keys)
        self.workloadMs = workloadMs
        report = Report(seed: seed)
    }

    /// Runs the whole schedule and checks it.
    func run() -> Report {
        defer { c.shutdown() }
        c.clock.run(forMs: 500)
        let start = c.clock.nowMs
        feedClockOffsets()
        for k in keys.indices { next(k, until: start + workloadMs) }
        var t = start + Int64(rng.int(100...400))
        while t < start + workloadMs - 500 {
            let length = Int64(rng.int(300...2_000))
            let faults = (0..<rng.int(1...2)).map { _ in drawFault() }
            c.clock.schedule(at: t) { [self] in for f in faults { apply(f) } }
            c.clock.schedule(at: t + length) { [self] in healAll() }
            report.faults.append("\(t - start)ms+\(length): " + faults.map(\.description).joined(separator: ", "))
            t += length + Int64(rng.int(0...500))
        }
        c.clock.run(forMs: workloadMs + 3_500)
        healAll()
        c.clock.run(forMs: 3_000)
        for node in FaultSchedule.peers { _ = c.repairNow(node) }
        c.clock.run(forMs: 1_000)
        check()
        report.diskFaultsHit = c.files.values.reduce(0) { $0 + $1.faultsHit }
        report.storeRecoveries = c.storeRecoveries
        return report
    }

    // MARK: - Workload

    /// Running peers a client can reach.
    private var entryPoints: [String] {
        FaultSchedule.peers.filter { !c.down.contains($0) && !c.wire.pausedNodes.contains($0) && c.engines[$0] != nil }
    }

    private func next(_ k: Int, until end: Int64) {
        guard c.clock.nowMs < end else { return }
        let entries = entryPoints
        guard !entries.isEmpty else { return c.clock.after(ms: 50) { [self] in next(k, until: end) } }
        let node = entries[rng.below(entries.count)]
        let isDelete = ops[k].last?.value != nil && rng.chance(35)
        let value: String? = isDelete ? nil : "\(keys[k])#\(ops[k].count)"
        let i = ops[k].count
        ops[k].append(Op(value: value, node: node, startMs: c.clock.nowMs))
        var options = RequestOptions()
        options.timeoutMs = 2_000
        let write = ClientWrite(namespace: "default", key: Array(keys[k].utf8), value: value.map { Array($0.utf8) }, context: nil,
                                options: options)
        c.engines[node]?.write(write) { [self] error in finish(k, i, error == nil ? .acked : .failed, until: end) }
        // A client gives up on a peer that never answers (it crashed mid-request).
        c.clock.after(ms: 3_000) { [self] in finish(k, i, .failed, until: end) }
    }

    private func finish(_ k: Int, _ i: Int, _ outcome: Outcome, until end: Int64) {
        guard ops[k][i].outcome == .pending else { return }
        ops[k][i].outcome = outcome
        ops[k][i].endMs = c.clock.nowMs
        c.clock.after(ms: rng.int(1...30)) { [self] in next(k, until: end) }
    }

    // MARK: - Faults

    enum Fault: CustomStringConvertible {
        case loss(Int), duplication(Int), silent(String), oneWay(String, String), slow(String), pause(String), crash(String)
        case partition(String), skew(String, Int64), clockJump(String, Int64)
        case diskFull(String), diskError(String)

        var description: String {
            switch self {
            case .loss(let p): "loss \(p)%"
            case .duplication(let p): "duplication \(p)%"
            case .silent(let n): "silent \(n)"
            case .oneWay(let a, let b): "drop \(a)->\(b)"
            case .slow(let n): "slow \(n) x10"
            case .pause(let n): "pause \(n)"
            case .crash(let n): "crash \(n)"
            case .partition(let n): "partition \(n) | rest"
            case .skew(let n, let ms): "skew \(n) \(ms)ms"
            case .clockJump(let n, let ms): "clock jump \(n) \(ms > 0 ? "+" : "")\(ms)ms and back"
            case .diskFull(let n): "disk full \(n)"
            case .diskError(let n): "EIO \(n)"
            }
        }
    }

    private func drawFault() -> Fault {
        let peers = FaultSchedule.peers
        let a = peers[rng.below(peers.count)]
        let b = peers.filter { $0 != a }[rng.below(peers.count - 1)]
        switch rng.below(12) {
        case 0: return .loss(rng.int(5...30))
        case 1: return .duplication(rng.int(5...30))
        case 2: return .silent(a)
        case 3: return .oneWay(a, b)
        case 4: return .slow(a)
        case 5: return .pause(a)
        case 6: return .crash(a)
        case 7: return .partition(a)
        case 8: return .diskFull(a)
        case 9: return .diskError(a)
        case 10: return .clockJump(a, Int64(rng.int(1_000...10_000)) * (rng.chance(50) ? 1 : -1))
        default: return .skew(a, Int64(rng.int(-300...300)))
        }
    }

    private func apply(_ f: Fault) {
        switch f {
        case .loss(let p): c.wire.setLoss(percent: p)
        case .duplication(let p): c.wire.setDuplication(percent: p)
        case .silent(let n): c.wire.setSilent(n)
        case .oneWay(let a, let b): c.wire.drop(from: a, to: b)
        case .slow(let n): c.wire.setSlow(n, factor: 10)
        case .pause(let n): c.wire.pause(n)
        case .crash(let n):
            let torn = rng.chance(50)
            if torn { report.tornCrashes += 1 }
            c.kill(n) { [self] _, unsynced in torn && rng.chance(50) ? rng.int(0...unsynced) : 0 }
        case .partition(let n): c.partition([n], FaultSchedule.peers.filter { $0 != n })
        case .skew(let n, let ms): c.skews[n] = ms
        case .clockJump(let n, let ms):
            jumps[n, default: 0] += ms
            c.skews[n] += ms
        case .diskFull(let n):
            // Room for a few writes at most: the next flush or WAL append runs into ENOSPC.
            guard let fs = c.files[n] else { return }
            fs.setCapacity(fs.usedBytes + rng.int(0...16_384))
        case .diskError(let n):
            let ops: Set<MemoryFileSystem.FileOperation> = rng.chance(50) ? [.sync] : [.append, .sync, .create, .rename]
            c.files[n]?.inject(MemoryFileSystem.Fault(errno: EIO, operations: ops))
        }
    }

    /// Ends every fault but the clock skews (they stay within the bound, as NTP keeps them):
    /// a clock that jumped jumps back, a full or failing disk works again.
    private func healAll() {
        c.heal()
        for (n, ms) in jumps { c.skews[n] -= ms }
        jumps = [:]
        for fs in c.files.values {
            fs.setCapacity(nil)
            fs.inject(nil)
        }
        c.wire.setLoss(percent: 0)
        c.wire.setDuplication(percent: 0)
        for n in c.wire.pausedNodes { c.wire.resume(n) }
        for n in FaultSchedule.peers where c.down.contains(n) { try? c.restart(n) }
    }

    /// Gossip's clock measurements, exact to 1 ms, every 100 ms: ClockGuard and the forward
    /// deadline's conversion see the skews as a real cluster would.
    private func feedClockOffsets() {
        let now = UInt64(max(0, c.clock.nowMs)) * 1_000_000
        for id in FaultSchedule.peers {
            guard let e = c.engines[id] else { continue }
            var offsets: [String: ClockOffset] = [:]
            for other in FaultSchedule.peers where other != id {
                offsets[other] = ClockOffset(offsetUs: (c.skews[other] - c.skews[id]) * 1_000, errorUs: 1_000, rttUs: 2_000,
                                             samples: 8, lastSampleNs: now)
            }
            e.clockGuard.record(offsets: offsets)
            e.clockGuard.update(ClockSkew.assess(selfID: id, offsets: offsets, live: Set(FaultSchedule.peers)))
        }
        c.clock.after(ms: 100) { [self] in feedClockOffsets() }
    }

    // MARK: - Checks

    private func check() {
        report.ops = ops.map(\.count).reduce(0, +)
        report.acked = ops.map { $0.filter { $0.outcome == .acked }.count }.reduce(0, +)
        for (k, key) in keys.enumerated() {
            let history = ops[k]
            report.history[key] = history
            let copies = c.primaries(key).sorted().map { c.local($0, key) }
            if Set(copies).count > 1 {
                report.violations.append(Violation(kind: "diverged", key: key, detail: "primaries hold \(copies.map(liveValues))"))
            }
            guard case .success(let record) = c.readNow("n0", key, options: RequestOptions(r: .all)) else {
                report.violations.append(Violation(kind: "read-failed", key: key, detail: "GET R all failed after the heal"))
                continue
            }
            let final = liveValues(record)
            let written = Set(history.compactMap(\.value))
            for v in final where !written.contains(v) {
                report.violations.append(Violation(kind: "phantom", key: key, detail: "\(v) was never written; holds \(final)"))
            }
            guard let last = history.lastIndex(where: { $0.outcome == .acked }) else { continue }
            // Acknowledged: `last`. Maybe applied (an error or no answer): any other
            // operation; a late copy of one may be a sibling of anything.
            let maybe = Set(history.enumerated().filter { $0.element.outcome != .acked }.compactMap(\.element.value))
            if let v = history[last].value, last == history.count - 1, !final.contains(v) {
                report.violations.append(Violation(kind: "lost-ack", key: key, detail: "last write \(v) acknowledged; holds \(final)"))
            }
            for (j, op) in history.enumerated() where j < last && op.outcome == .acked {
                guard let v = op.value, final.contains(v), !maybe.contains(v) else { continue }
                let what = history[last].value == nil ? "resurrected" : "superseded-back"
                let detail = "\(v) acknowledged in \(op.durationMs) ms via \(op.node), superseded by op \(last) "
                    + "(\(history[last].value ?? "DEL") via \(history[last].node), \(history[last].durationMs) ms); holds \(final)"
                var writeID: UInt64 = 0
                if case .siblings(let state)? = record {
                    writeID = state.siblings.first { $0.value.bytes == Array(v.utf8) }?.writeID ?? 0
                }
                report.knownStale.append(Violation(kind: what, key: key, detail: detail + (writeID == 0 ? "; never forwarded" : "; forwarded, id \(writeID)"),
                                                   forwarded: writeID != 0))
            }
        }
    }
}
