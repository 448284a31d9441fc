import Foundation
import Gossip
import Ring
import Storage
import Synchronization
@testable import Peer

/// Virtual time for the deterministic simulation: work runs in (time, order of scheduling)
/// order on the test's thread, and the clock jumps from one event to the next.
final class SimClock: NodeScheduler, @unchecked Sendable {
    private struct Event {
        let at: Int64
        let seq: Int
        let work: @Sendable () -> Void
    }
    private let state = Mutex<(now: Int64, seq: Int, events: [Event])>((1_700_000_000_000, 0, []))

    var nowMs: Int64 { state.withLock { $0.now } }
    /// The virtual wall clock (Unix-epoch ms): the virtual time, which starts in 2023.
    var wallMs: Int64 { nowMs }

    func after(ms: Int, _ work: @escaping @Sendable () -> Void) { schedule(at: nowMs + Int64(max(0, ms)), work) }
    func async(_ work: @escaping @Sendable () -> Void) { schedule(at: nowMs, work) }

    func schedule(at: Int64, _ work: @escaping @Sendable () -> Void) {
        state.withLock { s in
            s.seq += 1
            let e = Event(at: max(at, s.now), seq: s.seq, work: work)
            // Events are kept sorted; insertion is a binary search.
            var lo = 0, hi = s.events.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let m = s.events[mid]
                if (m.at, m.seq) < (e.at, e.seq) { lo = mid + 1 } else { hi = mid }
            }
            s.events.insert(e, at: lo)
        }
    }

    /// Runs events until `condition` holds or `maxMs` of virtual time pass; true if it held.
    /// A costly condition can be checked only every `checkEveryMs` of virtual time.
    @discardableResult
    func run(forMs maxMs: Int64, checkEveryMs: Int64 = 0, until condition: () -> Bool = { false }) -> Bool {
        let end = nowMs + maxMs
        var steps = 0
        var nextCheck = nowMs
        while true {
            if nowMs >= nextCheck {
                if condition() { return true }
                nextCheck = nowMs + checkEveryMs
            }
            let next = state.withLock { s -> Event? in
                guard let e = s.events.first, e.at <= end else { return nil }
                s.events.removeFirst()
                s.now = e.at
                return e
            }
            guard let next else {
                state.withLock { $0.now = max($0.now, end) }
                return condition()
            }
            next.work()
            steps += 1
            if steps > 20_000_000 { return false }
        }
    }
}

/// A seeded network in virtual time: each message takes 1-10 ms each way (drawn per link,
/// so one link's delays do not depend on traffic elsewhere), may be lost, and fails at its
/// deadline when lost or cut; a down node refuses at once. Faults no failure detector has
/// seen yet: a silent node (everything to and from it vanishes, as with iptables DROP), a
/// one-way drop (from -> to vanishes, the other way works), a slow node (its links' delays
/// multiplied).
final class SimWire: @unchecked Sendable {
    let clock: SimClock
    let seed: UInt64
    private struct State {
        var engines: [String: NodeEngine] = [:]
        var down: Set<String> = []
        var cuts: Set<[String]> = []
        var links: [String: SeededRandom] = [:]
        var lossPercent = 0
        /// Requests delivered twice (the copy a little later), as a retransmission might.
        var duplicatePercent = 0
        var silent: Set<String> = []
        var drops: Set<[String]> = []
        var slowFactor: [String: Int] = [:]
        /// Paused nodes (SIGSTOP): what reaches them, and what they send, waits here in
        /// order until they resume, as bytes wait in a stopped process's sockets.
        var paused: Set<String> = []
        var held: [String: [@Sendable () -> Void]] = [:]
        /// The real transport's frame bound: a request over it is refused, an answer over it
        /// becomes a remote error (PeerRPCServerConnection). nil: unbounded.
        var maxFrameBytes: Int?

        func vanishes(_ from: String, _ to: String) -> Bool {
            silent.contains(from) || silent.contains(to) || drops.contains([from, to])
        }
    }
    private let state = Mutex(State())

    init(clock: SimClock, seed: UInt64) {
        self.clock = clock
        self.seed = seed
    }

    func add(_ e: NodeEngine) { state.withLock { $0.engines[e.nodeID] = e } }
    func setDown(_ id: String, _ down: Bool) { state.withLock { if down { $0.down.insert(id) } else { $0.down.remove(id) } } }
    func setLoss(percent: Int) { state.withLock { $0.lossPercent = percent } }
    func setDuplication(percent: Int) { state.withLock { $0.duplicatePercent = percent } }
    func cut(_ a: [String], _ b: [String]) {
        state.withLock { s in for x in a { for y in b { s.cuts.insert([x, y]); s.cuts.insert([y, x]) } } }
    }
    func heal() {
        state.withLock {
            $0.cuts.removeAll()
            $0.silent.removeAll()
            $0.drops.removeAll()
            $0.slowFactor.removeAll()
        }
    }
    func setSilent(_ id: String) { state.withLock { _ = $0.silent.insert(id) } }
    func drop(from: String, to: String) { state.withLock { _ = $0.drops.insert([from, to]) } }
    func setSlow(_ id: String, factor: Int) { state.withLock { $0.slowFactor[id] = factor } }
    func pause(_ id: String) { state.withLock { _ = $0.paused.insert(id) } }
    /// The paused node runs again: everything held for it is delivered (and everything it
    /// tried to send is sent) in the order it was held.
    func resume(_ id: String) {
        let work = state.withLock { s -> [@Sendable () -> Void] in
            s.paused.remove(id)
            return s.held.removeValue(forKey: id) ?? []
        }
        for w in work { clock.async(w) }
    }
    var pausedNodes: Set<String> { state.withLock { $0.paused } }
    func setMaxFrameBytes(_ n: Int?) { state.withLock { $0.maxFrameBytes = n } }

    /// Holds `work` for `id` if it is paused; false (run it now) otherwise.
    private func holdIfPaused(_ id: String, _ work: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { s in
            guard s.paused.contains(id) else { return false }
            s.held[id, default: []].append(work)
            return true
        }
    }

    private func draw(_ from: String, _ to: String) -> (delay: Int64, lost: Bool, duplicated: Bool) {
        state.withLock { s in
            let link = from + ">" + to
            var r = s.links[link] ?? SeededRandom(seed: seed ^ KeyHash.xxh64(Array(link.utf8), seed: 7))
            let factor = max(s.slowFactor[from] ?? 1, s.slowFactor[to] ?? 1)
            let delay = Int64(r.int(1...10) * factor)
            let lost = r.chance(s.lossPercent)
            let duplicated = s.duplicatePercent > 0 && r.chance(s.duplicatePercent)
            s.links[link] = r
            return (delay, lost, duplicated)
        }
    }

    func send(from: String, to: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        if holdIfPaused(from, { [self] in send(from: from, to: to, type: type, payload: payload, timeoutMs: timeoutMs, completion: completion) }) {
            return
        }
        let once = Once(completion)
        let deadline = clock.nowMs + Int64(timeoutMs)
        clock.schedule(at: deadline) { once.call(.failure(.timeout)) }
        let (reachable, engine) = state.withLock { s in
            (!s.down.contains(from) && !s.down.contains(to) && !s.cuts.contains([from, to]), s.engines[to])
        }
        guard reachable, let engine else {
            return clock.async { once.call(.failure(.unreachable("\(to) unreachable from \(from)"))) }
        }
        let maxFrame = state.withLock { $0.maxFrameBytes }
        if let maxFrame, payload.count > maxFrame {
            return clock.async { once.call(.failure(.frameTooLarge(bytes: payload.count))) }
        }
        let there = draw(from, to)
        guard !there.lost, !state.withLock({ $0.vanishes(from, to) }) else { return }
        @Sendable func deliver() {
            if holdIfPaused(to, deliver) { return }
            guard state.withLock({ !$0.down.contains(to) && !$0.cuts.contains([from, to]) && !$0.vanishes(from, to) }),
                  state.withLock({ $0.engines[to] }) === engine else { return }
            engine.handleRPC(type: type, payload: payload) { [self] answer in
                var result = answer
                if let maxFrame, case .success(let body) = answer, body.count > maxFrame {
                    result = .failure(.remote(code: 500, message: "response too large (\(body.count) bytes)"))
                }
                let back = draw(to, from)
                guard !back.lost else { return }
                clock.schedule(at: clock.nowMs + back.delay) { [self] in
                    if state.withLock({ !$0.down.contains(from) && !$0.cuts.contains([to, from]) && !$0.vanishes(to, from) }) { once.call(result) }
                }
            }
        }
        clock.schedule(at: clock.nowMs + there.delay) { deliver() }
        if there.duplicated { clock.schedule(at: clock.nowMs + there.delay * 3 + 1) { deliver() } }
    }
}

/// Per-node wall-clock skews of the simulation (ms), readable from any node's clock closure.
final class WallSkews: Sendable {
    private let table = Mutex<[String: Int64]>([:])
    subscript(id: String) -> Int64 {
        get { table.withLock { $0[id] ?? 0 } }
        set { table.withLock { $0[id] = newValue } }
    }
}

/// Calls a completion at most once (answer or deadline, whichever comes first).
final class Once: @unchecked Sendable {
    private let lock = Mutex(false)
    private let body: @Sendable (Result<[UInt8], RPCError>) -> Void
    init(_ body: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) { self.body = body }
    func call(_ r: Result<[UInt8], RPCError>) {
        guard lock.withLock({ done in defer { done = true }; return !done }) else { return }
        body(r)
    }
}

final class SimWireTransport: PeerTransport, @unchecked Sendable {
    let wire: SimWire
    let from: String
    init(wire: SimWire, from: String) {
        self.wire = wire
        self.from = from
    }
    func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
              completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        wire.send(from: from, to: node, type: type, payload: payload, timeoutMs: timeoutMs, completion: completion)
    }
}

/// Node engines with in-memory stores on the simulated wire and clock, one thread. The
/// failure detector is perfect (the test says who is down), or SWIM on the gossip
/// simulator. Every node runs the real cluster policy (`MembershipPolicy`, the core
/// `Node` runs) every 100 ms of virtual time; a stand-in for gossip carries what it
/// publishes (rings, handoff reports, admin states) to every view at once.
final class DeterministicCluster: @unchecked Sendable {
    let clock = SimClock()
    let wire: SimWire
    var engines: [String: NodeEngine] = [:]
    var views: [String: ClusterView] = [:]
    var files: [String: MemoryFileSystem] = [:]
    /// Each node's gossiped admin state ("joined" when absent); tests may set it, as an
    /// operator's LEAVE or a new node's start would, and the policies change it.
    var admin: [String: String] = [:]
    var down: Set<String> = []
    /// Each running node's policy core (a restart starts a fresh one, as a process would).
    private var policies: [String: MembershipPolicy] = [:]
    /// The gossiped handoff reports, by node, with their versions.
    private var reports: [String: (version: UInt64, report: HandoffReport)] = [:]
    /// Each node's wall clock is the virtual time plus its skew (ms; 0 when absent).
    let skews = WallSkews()
    /// Nodes whose policy stopped them (they left, or were removed): gone from `engines`.
    private(set) var exited: [String: MembershipAction.ShutdownReason] = [:]
    /// The operator log of every node, oldest first (the last `maxLogLines`).
    private(set) var logLines: [(node: String, event: OperatorEvents.Event)] = []
    static let maxLogLines = 20_000
    let limits: NodeEngine.Limits
    let partitions: Int
    /// Real SWIM failure detection (the gossip issue's simulator, stepped in lockstep with
    /// the clock) instead of the test saying who is down. Node i of it is "n<i>".
    private(set) var gossip: GossipSimulator?
    private var gossipStartMs: Int64 = 0

    init(seed: UInt64, partitions: Int, limits: NodeEngine.Limits) {
        wire = SimWire(clock: clock, seed: seed)
        self.partitions = partitions
        self.limits = limits
    }

    var ids: [String] { Ring.sortedIDs(engines.keys) }
    var ring: Ring? { views.values.first?.snapshot().ring }

    static func start(_ ids: [String], seed: UInt64, partitions: Int = 32, limits: NodeEngine.Limits,
                      namespaces: NamespaceTable? = nil) throws -> DeterministicCluster {
        let c = DeterministicCluster(seed: seed, partitions: partitions, limits: limits)
        let ring = try Claim.initial(partitionCount: partitions, members: ids, targetN: 3)
        for id in ids {
            try c.addNode(id, namespaces: namespaces)
            c.views[id]?.adopt(ring: ring)
        }
        c.publishMembers()
        c.gossipEvery(ms: 100)
        return c
    }

    func addNode(_ id: String, namespaces: NamespaceTable? = nil) throws {
        let fs = files[id] ?? MemoryFileSystem()
        files[id] = fs
        var options = StorageOptions()
        options.fileSystem = fs
        let store = try Store.open(path: "/\(id)", options: options)
        let clock = self.clock
        let skews = self.skews
        let wall: @Sendable () -> Int64 = { clock.wallMs + skews[id] }
        let replica = try LocalReplica(store: store, nodeID: NodeID(id)!, clock: wall)
        let view = views[id] ?? ClusterView(localID: id)
        if views[id] == nil, let other = views.values.first {
            if let ring = other.snapshot().ring { view.adopt(ring: ring) }
            view.adopt(namespaces: other.snapshot().namespaces)
        }
        if let namespaces { view.adopt(namespaces: namespaces) }
        let engine = NodeEngine(nodeID: id, replica: replica, cluster: view, transport: SimWireTransport(wire: wire, from: id),
                                scheduler: clock, limits: limits, background: clock, clock: { clock.nowMs },
                                monotonicUs: { clock.nowMs * 1000 }, wallClock: wall)
        wire.add(engine)
        engines[id] = engine
        views[id] = view
        policies[id] = MembershipPolicy()
        publishMembers()
        engine.start()
    }

    /// A crash: the node stops answering, its store loses every unsynced byte, and it comes
    /// back on the same files with a fresh engine.
    func crashAndRestart(_ id: String, downForMs: Int64 = 500) throws {
        guard let e = engines[id], let fs = files[id] else { return }
        e.stop()
        setDown(id, true)
        try? e.replica.store.close()
        fs.crash()
        clock.run(forMs: downForMs)
        try addNode(id)
        setDown(id, false)
    }

    /// A crash in two steps, so virtual time (and other work) goes on between them: the node
    /// stops at once and its store loses every unsynced byte...
    func kill(_ id: String) {
        guard let e = engines[id], let fs = files[id] else { return }
        e.stop()
        setDown(id, true)
        try? e.replica.store.close()
        fs.crash()
    }

    /// ... and it comes back on the same files with a fresh engine.
    func restart(_ id: String) throws {
        guard down.contains(id) else { return }
        try addNode(id)
        setDown(id, false)
    }

    func shutdown() {
        for e in engines.values {
            e.stop()
            try? e.replica.store.close()
        }
    }

    /// Starts `count` nodes "n0"... whose liveness comes from SWIM on the gossip simulator.
    static func startWithGossip(count: Int, seed: UInt64, partitions: Int = 64, limits: NodeEngine.Limits) throws -> DeterministicCluster {
        let c = DeterministicCluster(seed: seed, partitions: partitions, limits: limits)
        var config = GossipConfig()
        config.probeIntervalMs = 200
        config.probeTimeoutMs = 100
        let g = GossipSimulator(seed: seed, config: config)
        g.addFormedCluster(count)
        c.gossip = g
        c.gossipStartMs = c.clock.nowMs
        let ids = (0..<count).map(GossipSimulator.id)
        let ring = try Claim.initial(partitionCount: partitions, members: ids, targetN: 3)
        for id in ids {
            try c.addNode(id)
            c.views[id]?.adopt(ring: ring)
        }
        c.publishMembers()
        c.stepGossip()
        c.gossipEvery(ms: 100)
        return c
    }

    private func stepGossip() {
        clock.after(ms: 10) { [weak self] in
            guard let self, let g = self.gossip else { return }
            g.run(untilNs: UInt64(self.clock.nowMs - self.gossipStartMs) * 1_000_000)
            self.publishMembers()
            self.stepGossip()
        }
    }

    /// A crash the failure detector has to notice: the node's gossip stops too.
    func crash(_ id: String) {
        down.insert(id)
        wire.setDown(id, true)
        if let i = gossipIndex(id) { gossip?.crash(i) }
    }

    /// The crashed node returns (same engine and store) and rejoins gossip.
    func recover(_ id: String) {
        down.remove(id)
        wire.setDown(id, false)
        if let g = gossip, let i = gossipIndex(id) {
            let others = (0..<g.count).filter { $0 != i && g.isUp($0) }
            g.restart(i, seeds: others, incarnation: UInt64(clock.nowMs))
        }
    }

    /// Cuts the network (peer RPC and gossip) between two groups.
    func partition(_ a: [String], _ b: [String]) {
        wire.cut(a, b)
        gossip?.partition([a.compactMap(gossipIndex), b.compactMap(gossipIndex)])
    }

    func heal() {
        wire.heal()
        gossip?.heal()
    }

    private func gossipIndex(_ id: String) -> Int? {
        guard id.hasPrefix("n"), let i = Int(id.dropFirst()), let g = gossip, i < g.count else { return nil }
        return i
    }

    func publishMembers() {
        if let g = gossip {
            // Each view learns liveness from its own node's SWIM core.
            for id in ids {
                guard let i = gossipIndex(id), g.isUp(i) else { continue }
                for m in g.core(i).members {
                    let gone = exited[m.id] != nil
                    views[id]?.update(member: .init(id: m.id, isUp: !gone && (m.status == .alive || m.status == .suspect),
                                                    status: gone ? "left" : m.status.description, admin: admin[m.id] ?? "joined",
                                                    incarnation: m.incarnation, clientAddress: "", gossipAddress: ""))
                }
            }
            return
        }
        for id in Ring.sortedIDs(views.keys) {
            for m in ids {
                let isDown = down.contains(m)
                views[id]?.update(member: .init(id: m, isUp: !isDown, status: isDown ? "dead" : "alive", admin: admin[m] ?? "joined",
                                                incarnation: 1, clientAddress: "", gossipAddress: ""))
            }
            for m in exited.keys {
                views[id]?.update(member: .init(id: m, isUp: false, status: "left", admin: admin[m] ?? "joined",
                                                incarnation: 1, clientAddress: "", gossipAddress: ""))
            }
        }
    }

    func setDown(_ id: String, _ isDown: Bool) {
        if isDown { down.insert(id) } else { down.remove(id) }
        wire.setDown(id, isDown)
        publishMembers()
    }

    /// The policy round, every `ms` of virtual time.
    private func gossipEvery(ms: Int) {
        clock.after(ms: ms) { [weak self] in
            guard let self else { return }
            self.claimRound()
            self.gossipEvery(ms: ms)
        }
    }

    /// Every running node's policy tick, in id order, each performing its actions before
    /// the next node ticks (gossip here is instant and lossless).
    func claimRound() {
        publishMembers()
        for id in ids where !down.contains(id) {
            guard let engine = engines[id], let view = views[id], var policy = policies[id] else { continue }
            let facts = MembershipFacts(
                cluster: view.snapshot(), admin: adminState(id), partitionCount: partitions,
                reports: reports.filter { $0.key != id }.mapValues(\.report), ownReport: engine.handoffReport,
                leasedUpTo: engine.replica.leasedUpTo, transfers: engine.transfers, hintTargets: engine.replica.hints.targets,
                repairKeysSent: engine.repairState.keysSent.load(ordering: .relaxed),
                repairKeysReceived: engine.repairState.keysReceived.load(ordering: .relaxed),
                nowMs: clock.nowMs, wallMs: clock.wallMs)
            let actions = policy.onTick(facts)
            policies[id] = policy
            perform(actions, at: id)
        }
    }

    /// An operator's LEAVE or REMOVE on `node`, through the policy's checks.
    @discardableResult
    func adminCommand(_ command: AdminCommand, at node: String) -> Result<String, ClientError> {
        var members: [String: AdminState] = [:]
        for m in ids + exited.keys { members[m] = adminState(m) }
        let (reply, actions) = MembershipPolicy.admin(command, localID: node, admin: adminState(node), members: members)
        perform(actions, at: node)
        return reply
    }

    func adminState(_ id: String) -> AdminState {
        switch admin[id] {
        case "joining": .joining
        case "leaving": .leaving
        case "removed": .removed
        default: .joined
        }
    }

    /// What the node's shell does with each action; gossip is the stand-in above. Leases
    /// are not carried: tests that need them learned say so (ForgedContextTests.feedLeases).
    private func perform(_ actions: [MembershipAction], at id: String) {
        for action in actions {
            switch action {
            case .adoptRing(let ring):
                for v in views.values { v.adopt(ring: ring) }
            case .publishHandoffReport(let report, let version):
                if version >= reports[id]?.version ?? 0 { reports[id] = (version, report) }
            case .publishLease:
                break
            case .setAdmin(let state):
                admin[id] = state.description
            case .removeMember(let other):
                admin[other] = AdminState.removed.description
            case .log(let event):
                logLines.append((id, event))
                if logLines.count > DeterministicCluster.maxLogLines { logLines.removeFirst(logLines.count / 2) }
            case .shutDown(let reason):
                exit(id, reason)
            }
        }
    }

    /// The node stopped itself: its process is gone (engine stopped, store closed, no
    /// longer on the wire); the others see it as left.
    private func exit(_ id: String, _ reason: MembershipAction.ShutdownReason) {
        guard let e = engines.removeValue(forKey: id) else { return }
        e.stop()
        try? e.replica.store.close()
        policies[id] = nil
        exited[id] = reason
        wire.setDown(id, true)
        if let i = gossipIndex(id) { gossip?.crash(i) }
        publishMembers()
    }

    func settled(on members: Set<String>) -> Bool {
        guard let r = ring else { return false }
        return !r.isTransferring && Set(r.nodes) == members
    }

    /// Starts a write; `done` gets nil when it was acknowledged.
    func write(_ node: String, _ key: String, _ value: String?, namespace: String = "default",
               done: @escaping @Sendable (ClientError?) -> Void) {
        engines[node]?.write(ClientWrite(namespace: namespace, key: Array(key.utf8), value: value.map { Array($0.utf8) },
                                         context: nil, options: RequestOptions()), completion: done)
    }

    /// A write, run to its end in virtual time.
    func writeNow(_ node: String, _ key: String, _ value: String?, namespace: String = "default",
                  options: RequestOptions = RequestOptions(), context: [UInt8]? = nil) -> ClientError? {
        let box = Mutex<ClientError??>(nil)
        engines[node]?.write(ClientWrite(namespace: namespace, key: Array(key.utf8), value: value.map { Array($0.utf8) },
                                         context: context, options: options)) { e in box.withLock { $0 = .some(e) } }
        clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
        return box.withLock { $0 } ?? ClientError("write did not complete")
    }

    /// A read, run to its end in virtual time.
    func readNow(_ node: String, _ key: String, namespace: String = "default", options: RequestOptions = RequestOptions()) -> Result<KeyRecord?, ClientError> {
        let box = Mutex<Result<KeyRecord?, ClientError>?>(nil)
        engines[node]?.read(namespace: namespace, key: Array(key.utf8), options: options) { r in box.withLock { $0 = r } }
        clock.run(forMs: 60_000) { box.withLock { $0 != nil } }
        return box.withLock { $0 } ?? .failure(ClientError("read did not complete"))
    }

    func repairNow(_ node: String, partition: Int? = nil) -> RepairSummary {
        let box = Mutex<RepairSummary?>(nil)
        engines[node]?.repairNow(partition: partition) { s in box.withLock { $0 = s } }
        clock.run(forMs: 600_000) { box.withLock { $0 != nil } }
        return box.withLock { $0 } ?? RepairSummary(failures: ["repair did not finish"])
    }

    func local(_ node: String, _ key: String, namespace: String = "default") -> KeyRecord? {
        guard let ring, let e = engines[node] else { return nil }
        let p = ring.partition(namespace: Array(namespace.utf8), key: Array(key.utf8))
        return try? e.replica.read(KeyAddress(namespace: Array(namespace.utf8), partition: UInt32(p), key: Array(key.utf8)))
    }

    func primaries(_ key: String, n: Int = 3, namespace: String = "default") -> Set<String> {
        guard let ring else { return [] }
        return Set(PreferenceList(ring: ring, namespace: Array(namespace.utf8), key: Array(key.utf8), n: n).primaries)
    }
}

func liveValues(_ record: KeyRecord?) -> [String] {
    guard let record, case .siblings(let s) = record else { return [] }
    return s.read().values.map { String(decoding: $0, as: UTF8.self) }.sorted()
}
