import Gossip
import Foundation

/// `chorus bench gossip`: SWIM dissemination, detection, load and false positives on the
/// seeded simulator (no sockets, no real time), for a list of cluster sizes.
enum GossipBench {
    static let help = """
    usage: chorus bench gossip [--nodes 10,100,1000] [--seed S] [--loss 0.05] [--loss-minutes M]
                               [--gossip-nodes K] [--delay-ms MIN-MAX] [--trials T]

    Runs on the simulator with GossipConfig defaults (memberlist's LAN profile). Per size n:
      join      time until every node knows a new member (ms and protocol periods), T trials
      crash     time until every other node marks a crashed member dead, T trials
      load      UDP packets and bytes sent per node per second in steady state
      falsepos  false deaths under --loss packet loss (default 5%) over --loss-minutes (default 5)
    """

    static func run(_ args: [String]) -> Int32 {
        if args.contains("--help") || args.contains("-h") {
            print(help)
            return 0
        }
        do {
            let flags = try Flags(args, valued: ["nodes", "seed", "loss", "loss-minutes", "gossip-nodes", "delay-ms", "trials"])
            guard flags.positional.isEmpty else { throw Flags.UsageError(description: "unexpected argument \(flags.positional[0])") }
            let sizes = try (flags.string("nodes") ?? "10,100,1000").split(separator: ",").map { raw -> Int in
                guard let n = Int(raw), (2...20_000).contains(n) else {
                    throw Flags.UsageError(description: "bad value for --nodes: \(raw) (expected sizes in 2...20000)")
                }
                return n
            }
            let seed = UInt64(try flags.int("seed", default: 1, range: 0...Int.max))
            let lossText = flags.string("loss") ?? "0.05"
            guard let loss = Double(lossText), (0..<1).contains(loss) else {
                throw Flags.UsageError(description: "bad value for --loss: \(lossText) (expected a fraction in 0..<1)")
            }
            let lossMinutes = try flags.int("loss-minutes", default: 5, range: 0...600)
            let trials = try flags.int("trials", default: 3, range: 1...50)
            var config = GossipConfig()
            config.gossipNodes = try flags.int("gossip-nodes", default: config.gossipNodes, range: 0...64)
            var network = NetworkProfile(minDelayMs: 1, maxDelayMs: 5)
            if let d = flags.string("delay-ms") {
                let parts = d.split(separator: "-").compactMap { Double($0) }
                guard parts.count == 2, parts[0] >= 0, parts[1] >= parts[0] else {
                    throw Flags.UsageError(description: "bad value for --delay-ms: \(d) (expected MIN-MAX)")
                }
                network = NetworkProfile(minDelayMs: parts[0], maxDelayMs: parts[1])
            }
            print("gossip bench: seed \(seed), probe \(config.probeIntervalMs) ms, timeout \(config.probeTimeoutMs) ms, k \(config.indirectChecks), gossip \(config.gossipNodes) every \(config.gossipIntervalMs) ms, delay \(network.minDelayMs)-\(network.maxDelayMs) ms")
            for n in sizes {
                runSize(n, seed: seed, config: config, network: network, trials: trials)
                runFalsePositives(n, seed: seed, config: config, network: network, loss: loss, lossMinutes: lossMinutes)
            }
            return 0
        } catch let e as Flags.UsageError {
            printError(e.description)
            return 2
        } catch {
            printError("\(error)")
            return 2
        }
    }

    private static func ms(_ ns: UInt64) -> String { String(format: "%.0f", Double(ns) / 1e6) }

    private static func runSize(_ n: Int, seed: UInt64, config: GossipConfig, network: NetworkProfile, trials: Int) {
        let periodNs = config.probeIntervalMs * 1_000_000
        let sim = GossipSimulator(seed: seed &+ UInt64(n), config: config, network: network)
        sim.addFormedCluster(n)
        sim.run(forMs: 5_000)

        // Join: a new member, known by every old one (several trials, one after another).
        var joinTimes: [UInt64] = []
        var joinMisses = 0
        for t in 0..<trials {
            let joinerId = GossipSimulator.id(sim.count)
            let observers = sim.count
            var knows = Set<Int>()
            sim.onEvent = { _, o, e in
                if case .memberUp(let m) = e, m.id == joinerId { knows.insert(o) }
            }
            let start = sim.nowNs
            sim.addNode(seeds: [t % n])
            sim.run(untilNs: start + 300_000_000_000) { knows.count >= observers }
            if knows.count < observers { joinMisses += 1 }
            joinTimes.append(sim.nowNs - start)
            sim.run(forMs: 5_000)
        }
        sim.run(forMs: 30_000)

        // Crash: every other live member marks it dead (several trials, spread out).
        var crashTimes: [UInt64] = []
        var suspectTimes: [UInt64] = []
        var crashMisses = 0
        var down = 0
        for t in 0..<trials {
            let victim = (n / 2 + t * 7919) % n
            let victimId = GossipSimulator.id(victim)
            let observers = sim.count - down - 1
            var sawDead = Set<Int>()
            var sawSuspect = false
            sim.onEvent = { _, o, e in
                switch e {
                case .memberDown(let m) where m.id == victimId: sawDead.insert(o)
                case .memberSuspect(let m) where m.id == victimId: sawSuspect = true
                default: break
                }
            }
            let start = sim.nowNs
            var firstSuspectNs: UInt64 = 0
            sim.crash(victim)
            down += 1
            sim.run(untilNs: start + 600_000_000_000) {
                if firstSuspectNs == 0, sawSuspect { firstSuspectNs = sim.nowNs - start }
                return sawDead.count >= observers
            }
            if sawDead.count < observers { crashMisses += 1 }
            crashTimes.append(sim.nowNs - start)
            suspectTimes.append(firstSuspectNs)
            sim.run(forMs: 20_000)
        }
        let minSuspicionNs = UInt64(Double(config.suspicionMult) * max(1, log10(Double(n))) * Double(periodNs))

        // Steady-state load over 300 s (after things settle; covers push-pull rounds).
        sim.onEvent = nil
        sim.run(forMs: 40_000)
        func totals() -> (packets: UInt64, bytes: UInt64, tcp: UInt64) {
            var p: UInt64 = 0, b: UInt64 = 0, t: UInt64 = 0
            for i in 0..<sim.count where sim.isUp(i) {
                p += sim.core(i).counters.packetsSent
                b += sim.core(i).counters.bytesSent
                t += sim.core(i).counters.pushPullBytesSent
            }
            return (p, b, t)
        }
        let before = totals()
        let windowSec = 300.0
        sim.run(forMs: windowSec * 1000)
        let after = totals()
        let upNodes = Double(sim.count - down)
        let pps = Double(after.packets - before.packets) / upNodes / windowSec
        let bps = Double(after.bytes - before.bytes) / upNodes / windowSec
        let tcpBps = Double(after.tcp - before.tcp) / upNodes / windowSec

        func summary(_ xs: [UInt64]) -> String {
            let sorted = xs.sorted()
            let median = sorted[sorted.count / 2], worst = sorted[sorted.count - 1]
            return String(format: "median %@ ms (%.1f periods), max %@ ms (%.1f periods)",
                          ms(median), Double(median) / Double(periodNs), ms(worst), Double(worst) / Double(periodNs))
        }
        print(String(format: "n=%-5d join: every node knows a new member in %@ over %d trials%@", n, summary(joinTimes), trials,
                     joinMisses > 0 ? " (\(joinMisses) NOT ALL)" : ""))
        print(String(format: "        crash: first suspect %@; all mark dead in %@ (suspicion min %.0f s)%@",
                     summary(suspectTimes), summary(crashTimes), Double(minSuspicionNs) / 1e9, crashMisses > 0 ? " (\(crashMisses) NOT ALL)" : ""))
        print(String(format: "        load: %.2f packets and %.0f bytes sent per node per second (UDP), plus %.0f bytes/s push-pull (TCP)", pps, bps, tcpBps))

    }

    /// False deaths under loss, on a fresh cluster (the first simulation is freed by now:
    /// at 5,000 nodes each one holds about 9 GB).
    private static func runFalsePositives(_ n: Int, seed: UInt64, config: GossipConfig, network: NetworkProfile, loss: Double, lossMinutes: Int) {
        guard lossMinutes > 0 else { return }
        var lossy = network
        lossy.lossRate = loss
        let sim2 = GossipSimulator(seed: seed &+ UInt64(n) &+ 7, config: config, network: lossy)
        sim2.addFormedCluster(n)
        var falseDeaths = 0
        var suspicions = 0
        sim2.onEvent = { _, _, e in
            switch e {
            case .memberDown: falseDeaths += 1
            case .memberSuspect: suspicions += 1
            default: break
            }
        }
        sim2.run(forMs: Double(lossMinutes) * 60_000)
        var refuted: UInt64 = 0
        for i in 0..<sim2.count { refuted += sim2.core(i).counters.falseSuspicionsRefuted }
        print(String(format: "        falsepos: %d false deaths at %.0f%% loss over %d min (%d suspect events, %llu refutations)",
                     falseDeaths, loss * 100, lossMinutes, suspicions, refuted))
    }
}
