import Foundation
import Gossip
import Ring
import Storage
import Synchronization

// The deterministic simulation's cluster (docs/FAULTS.md, "Simulated faults"). Simulation
// only: it lives in the Peer module so that `chorus bench sim` (FaultSimulation) and the
// Peer tests can both drive engine internals; nothing in a running node calls it. Not
// thread-safe: one thread drives a cluster, its clock and its wire.

/// Per-node wall-clock skews of the simulation (ms), readable from any node's clock closure.
final class WallSkews: Sendable {
    private let table = Mutex<[String: Int64]>([:])
    subscript(id: String) -> Int64 {
        get { table.withLock { $0[id] ?? 0 } }
        set { table.withLock { $0[id] = newValue } }
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
    private var virtualStoreRecovery = false
    /// Write errors the virtual-time probe cleared (a store that resumed by itself).
    private(set) var storeRecoveries = 0
    private var gossipStartMs: Int64 = 0

    init(seed: UInt64, partitions: Int, limits: NodeEngine.Limits) {
        wire = SimWire(clock: clock, seed: seed)
        self.partitions = partitions
        self.limits = limits
    }

    var ids: [String] { Ring.sortedIDs(engines.keys) }
    var ring: Ring? { views.values.first?.snapshot().ring }

    /// `virtualStoreRecovery`: each store's write-error probe (Store+Recovery.swift) runs
    /// every 200 ms of virtual time on the cluster's thread instead of on its own thread in
    /// real time, so a disk fault and its recovery are part of the seeded schedule.
    static func start(_ ids: [String], seed: UInt64, partitions: Int = 32, limits: NodeEngine.Limits,
                      namespaces: NamespaceTable? = nil, virtualStoreRecovery: Bool = false) throws -> DeterministicCluster {
        let c = DeterministicCluster(seed: seed, partitions: partitions, limits: limits)
        c.virtualStoreRecovery = virtualStoreRecovery
        let ring = try Claim.initial(partitionCount: partitions, members: ids, targetN: 3)
        for id in ids {
            try c.addNode(id, namespaces: namespaces)
            c.views[id]?.adopt(ring: ring)
        }
        c.publishMembers()
        c.gossipEvery(ms: 100)
        if virtualStoreRecovery { c.probeStoresEvery(ms: 200) }
        return c
    }

    /// The stores' recovery probe in virtual time (see `start`).
    private func probeStoresEvery(ms: Int) {
        clock.after(ms: ms) { [weak self] in
            guard let self else { return }
            for id in self.ids where !self.down.contains(id) {
                if let store = self.engines[id]?.replica.store, store.writeError != nil, store.attemptRecoveryNow() {
                    self.storeRecoveries += 1
                }
            }
            self.probeStoresEvery(ms: ms)
        }
    }

    func addNode(_ id: String, namespaces: NamespaceTable? = nil) throws {
        let fs = files[id] ?? MemoryFileSystem()
        files[id] = fs
        var options = StorageOptions()
        options.fileSystem = fs
        if virtualStoreRecovery { options.errorRecoveryIntervalMs = 0 }
        let store = try Store.open(path: "/\(id)", options: options)
        let clock = self.clock
        let skews = self.skews
        let wall: @Sendable () -> Int64 = { clock.wallMs + skews[id] }
        guard let nodeID = NodeID(id) else { throw SimulationError.badNodeID(id) }
        let replica = try LocalReplica(store: store, nodeID: nodeID, clock: wall)
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
    /// stops at once and its store loses every unsynced byte (or, with `keepingUnsynced`, all
    /// but a torn tail of them: MemoryFileSystem.crash(keepingUnsynced:))...
    func kill(_ id: String, keepingUnsynced: (String, Int) -> Int = { _, _ in 0 }) {
        guard let e = engines[id], let fs = files[id] else { return }
        e.stop()
        setDown(id, true)
        try? e.replica.store.close()
        fs.crash(keepingUnsynced: keepingUnsynced)
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
                reports: reports.filter { $0.key != id }.mapValues(\.report), ownReport: engine.handoff.report,
                leasedUpTo: engine.replica.leasedUpTo, transfers: engine.handoff.transfers, hintTargets: engine.replica.hints.targets,
                repairKeysSent: engine.antiEntropy.repairState.keysSent.load(ordering: .relaxed),
                repairKeysReceived: engine.antiEntropy.repairState.keysReceived.load(ordering: .relaxed),
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
        engines[node]?.antiEntropy.repairNow(partition: partition) { s in box.withLock { $0 = s } }
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

/// The live sibling values of a record as strings, sorted (none for an absent record or a
/// tombstone).
func liveValues(_ record: KeyRecord?) -> [String] {
    guard let record, case .siblings(let s) = record else { return [] }
    return s.read().values.map { String(decoding: $0, as: UTF8.self) }.sorted()
}
