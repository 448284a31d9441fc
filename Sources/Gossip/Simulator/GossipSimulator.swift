/// A seeded, single-threaded simulation of many `SwimCore`s on one simulated clock and
/// network: delay, jitter (reordering), loss, duplication, partitions between groups,
/// slow nodes, crashes and restarts. No real time passes; a run replays exactly from its
/// seed (print `seed` when a check fails).
///
/// Nodes are numbered from 0; node i has id "n<i>" and gossip address 10.x.y.z:7946.
public final class GossipSimulator {
    public let seed: UInt64
    public var config: GossipConfig
    public var network: NetworkProfile
    public private(set) var nowNs: UInt64 = 0
    /// Called for every event any core emits: (time, node index, event).
    public var onEvent: ((UInt64, Int, GossipEvent) -> Void)?
    /// UDP packets delivered and their bytes, over the whole run.
    public private(set) var packetsDelivered: UInt64 = 0
    public private(set) var packetsLost: UInt64 = 0
    /// Called for every directly acked probe: (node index, member probed, round trip ns).
    public var onRoundTrip: ((Int, String, UInt64) -> Void)?
    /// Wall-clock offsets given by `setClockOffset`, kept across restarts.
    private var clockOffsetsMs: [Int: Int64] = [:]
    /// Simulated wall clocks read this epoch (2023-11-14) plus the virtual time.
    public static let wallEpochNs: UInt64 = 1_700_000_000_000_000_000

    private struct Node {
        var core: SwimCore
        var up: Bool
        var generation: Int
        var group: Int
        var scheduledTickNs: UInt64
        var slowProbability: Double
        var slowExtraMs: Double
    }

    private enum Event {
        case tick(node: Int, generation: Int)
        case packet(to: Int, from: Endpoint, bytes: [UInt8])
        case pushPullRequest(to: Int, from: Int, fromGeneration: Int, bytes: [UInt8])
        case pushPullReply(to: Int, generation: Int, from: Endpoint, bytes: [UInt8])
        case pushPullFailed(to: Int, generation: Int, target: Endpoint)
    }

    private var nodes: [Node] = []
    private var byEndpoint: [Endpoint: Int] = [:]
    private var queue = EventHeap<Event>()
    private var rng: SwimRandom
    private var restarts = 0

    public init(seed: UInt64, config: GossipConfig = GossipConfig(), network: NetworkProfile = NetworkProfile()) {
        self.seed = seed
        self.config = config
        self.network = network
        rng = SwimRandom(seed: seed)
    }

    public var count: Int { nodes.count }

    public static func endpoint(_ i: Int) -> Endpoint {
        Endpoint(host: "10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)", port: 7946)
    }

    public static func id(_ i: Int) -> String { "n\(i)" }

    public func core(_ i: Int) -> SwimCore { nodes[i].core }
    public func isUp(_ i: Int) -> Bool { nodes[i].up }

    /// Adds and starts a node that joins through the given nodes (none: starts a cluster).
    @discardableResult
    public func addNode(seeds: [Int] = [], incarnation: UInt64 = 0) -> Int {
        let i = nodes.count
        let e = GossipSimulator.endpoint(i)
        byEndpoint[e] = i
        let me = Member(id: GossipSimulator.id(i), gossip: e, incarnation: incarnation)
        nodes.append(Node(core: SwimCore(config: config, me: me, seed: coreSeed(i)), up: true, generation: 0,
                          group: 0, scheduledTickNs: .max, slowProbability: 0, slowExtraMs: 0))
        if !clockOffsetsMs.isEmpty { applyClockOffset(i, ms: 0) }
        let actions = nodes[i].core.start(seeds: seeds.map(GossipSimulator.endpoint), now: nowNs)
        perform(actions, node: i)
        return i
    }

    /// Adds `n` nodes that already know each other (a formed cluster, for large runs).
    public func addFormedCluster(_ n: Int) {
        let first = nodes.count
        let all = (first..<first + n).map { Member(id: GossipSimulator.id($0), gossip: GossipSimulator.endpoint($0)) }
        for _ in 0..<n {
            let i = nodes.count
            byEndpoint[GossipSimulator.endpoint(i)] = i
            var core = SwimCore(config: config, me: all[i - first], seed: coreSeed(i))
            core.preload(all, now: nowNs)
            nodes.append(Node(core: core, up: true, generation: 0, group: 0, scheduledTickNs: .max, slowProbability: 0, slowExtraMs: 0))
            perform(nodes[i].core.start(seeds: [], now: nowNs), node: i)
        }
    }

    private func coreSeed(_ i: Int) -> UInt64 {
        var r = SwimRandom(seed: seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(restarts) << 40)
        return r.next()
    }

    /// Stops a node at once (no leave message); its in-flight traffic is lost.
    public func crash(_ i: Int) {
        nodes[i].up = false
        nodes[i].generation += 1
        nodes[i].scheduledTickNs = .max
    }

    /// Restarts a crashed node with a fresh core (state lost) joining through `seeds`.
    public func restart(_ i: Int, seeds: [Int], incarnation: UInt64 = 0) {
        restarts += 1
        let me = Member(id: GossipSimulator.id(i), gossip: GossipSimulator.endpoint(i), incarnation: incarnation)
        nodes[i].core = SwimCore(config: config, me: me, seed: coreSeed(i))
        if let ms = clockOffsetsMs[i] { applyClockOffset(i, ms: ms) }
        nodes[i].up = true
        nodes[i].generation += 1
        nodes[i].scheduledTickNs = .max
        perform(nodes[i].core.start(seeds: seeds.map(GossipSimulator.endpoint), now: nowNs), node: i)
    }

    /// A graceful leave, then the node stops.
    public func leave(_ i: Int) {
        let actions = nodes[i].core.leave(now: nowNs)
        perform(actions, node: i)
        crash(i)
    }

    /// Cuts the network into groups: nodes in different groups cannot exchange anything.
    /// Nodes not listed stay in group 0.
    public func partition(_ groups: [[Int]]) {
        for i in nodes.indices { nodes[i].group = 0 }
        for (g, members) in groups.enumerated() {
            for i in members { nodes[i].group = g + 1 }
        }
    }

    public func heal() { for i in nodes.indices { nodes[i].group = 0 } }

    /// Delays, with the given probability, each packet the node sends by an extra amount.
    public func setSlow(_ i: Int, probability: Double, extraDelayMs: Double) {
        nodes[i].slowProbability = probability
        nodes[i].slowExtraMs = extraDelayMs
    }

    /// Sets node `i`'s wall clock `ms` ahead of true time (negative: behind). Once set on
    /// any node, every node's wall clock is the simulated epoch plus the virtual time.
    public func setClockOffset(_ i: Int, ms: Int64) {
        clockOffsetsMs[i] = ms
        for j in nodes.indices { applyClockOffset(j, ms: clockOffsetsMs[j] ?? 0) }
    }

    private func applyClockOffset(_ i: Int, ms: Int64) {
        let wall = UInt64(Int64(GossipSimulator.wallEpochNs) + Int64(nowNs) + ms * 1_000_000)
        nodes[i].core.setWallClock(ns: wall, at: nowNs)
    }

    /// Runs a node-layer command on a live node's core and performs its actions.
    public func command(_ i: Int, _ body: (inout SwimCore, UInt64) -> [GossipAction]) {
        guard nodes[i].up else { return }
        let actions = body(&nodes[i].core, nowNs)
        perform(actions, node: i)
    }

    /// Runs the simulation for `ms` of simulated time.
    public func run(forMs ms: Double) { run(untilNs: nowNs + UInt64(ms * 1_000_000)) }

    /// Runs until `untilNs`, or until `stop` returns true (checked after every event).
    public func run(untilNs: UInt64, stop: (() -> Bool)? = nil) {
        while let t = queue.peekTimeNs, t <= untilNs {
            guard let (time, event) = queue.pop() else { break }
            nowNs = max(nowNs, time)
            dispatch(event)
            if let stop, stop() { return }
        }
        nowNs = max(nowNs, untilNs)
    }

    private func dispatch(_ event: Event) {
        switch event {
        case let .tick(i, generation):
            guard nodes[i].up, nodes[i].generation == generation, nodes[i].scheduledTickNs == nowNs else { return }
            nodes[i].scheduledTickNs = .max
            perform(nodes[i].core.onTick(now: nowNs), node: i)
        case let .packet(to, from, bytes):
            guard nodes[to].up else { packetsLost += 1; return }
            if let sender = byEndpoint[from], nodes[sender].group != nodes[to].group { packetsLost += 1; return }
            packetsDelivered += 1
            perform(nodes[to].core.onPacket(from: from, bytes: bytes, now: nowNs), node: to)
        case let .pushPullRequest(to, from, fromGeneration, bytes):
            let fromEndpoint = GossipSimulator.endpoint(from)
            let target = GossipSimulator.endpoint(to)
            guard nodes[to].up, nodes[to].group == nodes[from].group else {
                // A crashed process refuses at once; a cut link just times out in the core.
                if !nodes[to].up { queue.push(nowNs + delayNs(), .pushPullFailed(to: from, generation: fromGeneration, target: target)) }
                return
            }
            let (reply, actions) = nodes[to].core.onPushPullRequest(from: fromEndpoint, bytes: bytes, now: nowNs)
            perform(actions, node: to)
            if let reply {
                queue.push(nowNs + delayNs(), .pushPullReply(to: from, generation: fromGeneration, from: target, bytes: reply))
            } else {
                queue.push(nowNs + delayNs(), .pushPullFailed(to: from, generation: fromGeneration, target: target))
            }
        case let .pushPullReply(to, generation, from, bytes):
            guard nodes[to].up, nodes[to].generation == generation else { return }
            if let sender = byEndpoint[from], nodes[sender].group != nodes[to].group { return }
            perform(nodes[to].core.onPushPullReply(from: from, bytes: bytes, now: nowNs), node: to)
        case let .pushPullFailed(to, generation, target):
            guard nodes[to].up, nodes[to].generation == generation else { return }
            perform(nodes[to].core.onPushPullFailed(to: target, now: nowNs), node: to)
        }
    }

    private func delayNs() -> UInt64 {
        let ms = network.minDelayMs + rng.unit() * max(0, network.maxDelayMs - network.minDelayMs)
        return UInt64(ms * 1_000_000)
    }

    private func perform(_ actions: [GossipAction], node i: Int) {
        for action in actions {
            switch action {
            case let .send(to, bytes):
                guard let target = byEndpoint[to] else { packetsLost += 1; continue }
                if rng.unit() < network.lossRate { packetsLost += 1; continue }
                var delay = delayNs()
                if nodes[i].slowProbability > 0, rng.unit() < nodes[i].slowProbability {
                    delay += UInt64(nodes[i].slowExtraMs * 1_000_000)
                }
                let from = GossipSimulator.endpoint(i)
                queue.push(nowNs + delay, .packet(to: target, from: from, bytes: bytes))
                if rng.unit() < network.duplicateRate {
                    queue.push(nowNs + delay + delayNs(), .packet(to: target, from: from, bytes: bytes))
                }
            case let .pushPull(to, bytes):
                guard let target = byEndpoint[to] else {
                    queue.push(nowNs + delayNs(), .pushPullFailed(to: i, generation: nodes[i].generation, target: to))
                    continue
                }
                queue.push(nowNs + delayNs(), .pushPullRequest(to: target, from: i, fromGeneration: nodes[i].generation, bytes: bytes))
            case let .emit(event):
                onEvent?(nowNs, i, event)
            case let .roundTrip(member, rttNs):
                onRoundTrip?(i, member, rttNs)
            }
        }
        scheduleTick(i)
    }

    private func scheduleTick(_ i: Int) {
        guard nodes[i].up else { return }
        let next = max(nodes[i].core.nextDeadlineNs, nowNs)
        guard next != .max, next < nodes[i].scheduledTickNs else { return }
        nodes[i].scheduledTickNs = next
        queue.push(next, .tick(node: i, generation: nodes[i].generation))
    }

    // MARK: Checks

    /// The status node `observer` holds for node `subject` (nil if unknown).
    public func status(of subject: Int, seenBy observer: Int) -> MemberStatus? {
        nodes[observer].core.member(GossipSimulator.id(subject))?.status
    }

    /// True when every up node sees every up node alive and every down node not alive.
    public func converged() -> Bool {
        for o in nodes.indices where nodes[o].up {
            for s in nodes.indices where s != o {
                let st = status(of: s, seenBy: o)
                if nodes[s].up ? st != .alive : st == .alive || st == nil { return false }
            }
        }
        return true
    }
}
