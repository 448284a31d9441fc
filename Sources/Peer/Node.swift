#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Gossip
import Ring
import Storage
import Synchronization

/// A running peer: the Storage engine, the gossip node, the peer RPC server and client, the
/// RESP client server and the HTTP endpoint, wired around one `NodeEngine`.
///
/// Life cycle: `init` opens the data directory (identity, store, ring) and binds nothing;
/// `start()` binds every port and joins; `shutdown()` stops accepting clients, lets
/// in-flight requests finish, announces the leave, and closes the store.
public final class Node: @unchecked Sendable {
    public let config: NodeConfig
    public let nodeID: String
    public let store: Store
    public let engine: NodeEngine
    public let cluster: ClusterView
    let replica: LocalReplica
    let rpcClient: PeerRPCClient
    var gossip: GossipNode?
    private var rpcServer: PeerRPCServer?
    private var resp: RESPServer?
    private var http: HTTPServer?
    private let peers = PeerBook()
    /// Checksums of the cluster-state values already adopted, so a tick decodes only news.
    private let adopted = Mutex<[String: UInt64]>([:])
    private let stopping = Atomic<Bool>(false)
    private let incarnation: UInt64
    let startTime = Date()
    private var ticker: Thread?
    private let lastReport = Mutex<HandoffReport?>(nil)
    private let reportVersion = Atomic<UInt64>(0)
    /// The counter lease last gossiped (Node+Leases.swift).
    let publishedLease = Atomic<UInt64>(0)
    /// Every metric family of this peer, served at `GET /metrics` (see MetricsRegistry.swift).
    public let metrics = MetricsRegistry()
    let commandMetrics: CommandMetrics
    /// The operator log (`--log-level`, `--log-format`); every line carries `node=`.
    public let log: Logger
    let operatorEvents = Mutex(OperatorEvents())
    /// Called after the node shut itself down (it left or was removed); the executable exits.
    public var onExit: (@Sendable () -> Void)?

    public init(config: NodeConfig) throws {
        self.config = config
        let fs = PosixFileSystem.shared
        try fs.createDirectory(config.dataDirectory)
        nodeID = try Node.identity(config: config)
        log = Logger(level: config.logLevel, format: config.logFormat, context: [("node", nodeID)])
        var options = StorageOptions()
        options.sync = config.sync
        options.memtableSizeBytes = config.memtableBytes
        options.fileSystem = MeteredFileSystem(base: fs, registry: metrics)
        store = try Store.open(path: config.dataDirectory + "/store", options: options)
        for note in store.stats().recoveryNotes { log.warn(note) }
        guard let id = NodeID(nodeID) else { throw ClientError("ERR invalid node id \(nodeID)") }
        // Dots are named by an incarnation of the id, fresh whenever the store is (DotActor.swift).
        replica = try LocalReplica(store: store, nodeID: try DotActor.resolve(store: store, nodeID: id), maxHints: config.maxHints,
                                   maxHintBytesPerTarget: config.maxHintBytesPerTarget,
                                   maxClockAheadMs: UInt64(config.limits.maxClockOffsetMs))
        cluster = ClusterView(localID: nodeID)
        if let ring = Node.decodeStored("ring", try replica.meta("ring"), log: log, { try Ring(decoding: $0) }) { cluster.adopt(ring: ring) }
        if let table = Node.decodeStored("namespaces", try replica.meta("namespaces"), log: log, { try NamespaceTable(decoding: $0) }) { cluster.adopt(namespaces: table) }
        // A restart rejoins with a higher incarnation, so old suspicions cannot stick.
        var previous: UInt64 = 0
        if let bytes = try replica.meta("incarnation"), bytes.count == 8 {
            previous = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        incarnation = previous + 1
        try replica.setMeta("incarnation", withUnsafeBytes(of: incarnation.bigEndian) { Array($0) })

        var rpcConfig = PeerRPCConfig(nodeID: nodeID, host: config.host, secret: config.clusterSecret)
        rpcConfig.defaultTimeoutMs = config.limits.defaultTimeoutMs
        rpcClient = PeerRPCClient(config: rpcConfig)
        let peers = self.peers
        let transport = RPCPeerTransport(client: rpcClient) { id in peers.map.withLock { $0[id] } }
        engine = NodeEngine(nodeID: nodeID, replica: replica, cluster: cluster, transport: transport,
                            scheduler: DispatchNodeScheduler(), limits: config.limits,
                            rpcObserver: PeerRPCMetrics(registry: metrics))
        commandMetrics = CommandMetrics(registry: metrics)
        let log = self.log
        // Their lines start "chorus: " (stderr's prefix); the logger has its own fields.
        func msg(_ line: String) -> String { line.hasPrefix("chorus: ") ? String(line.dropFirst(8)) : line }
        engine.diskHealth.route { line in log.log(line.contains("writes refused") ? .error : .info, msg(line)) }
        engine.clockGuard.route { line in log.log(line.contains("exceeds") ? .warn : .info, msg(line)) }
        engine.namespacePublisher = { [weak self] table in self?.publish(namespaces: table) }
        registerCollectedMetrics()
    }

    /// Reads the node id kept in the data directory, or records the first one.
    static func identity(config: NodeConfig) throws -> String {
        let path = config.dataDirectory + "/node-id"
        let fs = PosixFileSystem.shared
        if fs.fileExists(path) {
            let stored = String(decoding: try fs.readFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let wanted = config.nodeID, wanted != stored {
                throw ClientError("data directory \(config.dataDirectory) belongs to node \(stored), not \(wanted)")
            }
            return stored
        }
        let id = config.nodeID ?? "\(config.host):\(config.gossipPort)"
        guard NodeID(id) != nil else { throw ClientError("invalid node id '\(id)'") }
        try fs.writeAtomically(Array((id + "\n").utf8), to: path, directory: config.dataDirectory)
        return id
    }

    /// Binds every port, joins the cluster and starts the background work.
    public func start() throws {
        let engine = self.engine
        // Handlers may fsync: run them off the connection's reader thread, so one connection
        // carries many replica writes at once and they share group commits.
        let scheduler = engine.scheduler
        let server = try PeerRPCServer(config: rpcClient.config, port: config.peerPort) { request, respond in
            switch request.type {
            case .ping, .replicaRead:
                // Reads do not fsync: answer on the reader thread, sparing a thread hop.
                engine.handleRPC(type: request.type, payload: request.payload, respond: respond)
            default:
                engine.serveQueued(type: request.type, payload: request.payload, respond: respond)
            }
        }
        rpcServer = server

        let ring = cluster.snapshot().ring
        let isMember = ring?.nodes.contains(nodeID) ?? false
        let admin: AdminState = (config.seeds.isEmpty && ring == nil) || isMember ? .joined : .joining
        let me = Member(id: nodeID, gossip: Endpoint(host: config.host, port: config.gossipPort),
                        peer: Endpoint(host: config.host, port: config.peerPort),
                        client: Endpoint(host: config.host, port: config.clientPort),
                        http: Endpoint(host: config.host, port: config.httpPort),
                        incarnation: incarnation, status: .alive, admin: admin)
        var gossipConfig = config.gossip
        gossipConfig.secret = config.clusterSecret
        let g = try GossipNode(config: gossipConfig, me: me) { [weak self] event in self?.onGossip(event) }
        let latency = engine.latency
        g.onRoundTrip = { member, ms in latency.observe(member, .gossip, rttMs: ms) }
        gossip = g

        var respConfig = RESPServerConfiguration(host: config.host, port: config.clientPort)
        respConfig.loopCount = 2
        applyClientLimits(&respConfig)
        var clientSettings = ClientSettings()
        (clientSettings.host, clientSettings.port, clientSettings.sync) = (config.host, config.clientPort, config.sync)
        (clientSettings.maxClients, clientSettings.maxBulkBytes) = (respConfig.maxConnections, respConfig.limits.maxBulkBytes)
        clientSettings.idleTimeoutSeconds = respConfig.idleTimeoutMs / 1000
        let commands = ClientCommands(engine: engine, requirePass: config.requirePass,
                                      publishNamespaces: { [weak self] table in self?.publish(namespaces: table) },
                                      info: { [weak self] in self?.infoSections() ?? [] },
                                      admin: { [weak self] command in
                                          self?.admin(command) ?? .failure(ClientError("ERR node is shutting down"))
                                      }, settings: clientSettings)
        commands.metrics = commandMetrics
        let resp = RESPServer(configuration: respConfig, handler: commands)
        try resp.start()
        self.resp = resp

        let http = try HTTPServer(host: config.host, port: config.httpPort, routes: [
            "/metrics": { [weak self] in ("text/plain; version=0.0.4; charset=utf-8", self?.metrics.render() ?? "") },
            "/status": { [weak self] in ("application/json", self?.statusJSON() ?? "{}") },
            "/": { ("text/html; charset=utf-8", Dashboard.html) },
        ])
        http.start()
        self.http = http

        refreshMembers()
        g.start(seeds: config.seeds.compactMap { Endpoint(parsing: $0) })
        engine.start()
        let ticker = Thread { [weak self] in
            while let self, !self.stopping.load(ordering: .relaxed) {
                self.tick()
                usleep(200_000)
            }
        }
        ticker.start()
        self.ticker = ticker
        if config.clusterSecret == nil {
            log.warn("no cluster secret: gossip packets and peer connections are not authenticated")
        }
        log.info("peer started", ["client": "\(config.host):\(config.clientPort)", "gossip": "\(config.host):\(config.gossipPort)",
                                  "peer": "\(config.host):\(config.peerPort)", "http": "\(config.host):\(config.httpPort)",
                                  "data": config.dataDirectory, "sync": config.sync.description, "incarnation": incarnation,
                                  "seeds": config.seeds.joined(separator: ",")])
    }

    /// Stops accepting clients, lets in-flight requests answer, leaves the gossip cluster,
    /// and closes the store (its log is synced).
    public func shutdown() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        log.info("peer stopping")
        resp?.shutdown()
        http?.stop()
        engine.stop()
        gossip?.leave()
        rpcServer?.stop()
        rpcClient.shutdown()
        do { try store.close() } catch { log.error("store did not close cleanly", ["error": "\(error)"]) }
        log.info("peer stopped")
    }

    var clientConnections: Int { resp?.stats.connections ?? 0 }

    /// The client port actually bound (tests start nodes on port 0); nil before start.
    public var clientPort: UInt16? { resp?.port }

    /// The gossip port actually bound (tests start nodes on port 0).
    public var gossipEndpoint: Endpoint? { gossip?.endpoint }

    // MARK: Cluster state

    private func onGossip(_ event: GossipEvent) {
        switch event {
        case .stateChanged(let value):
            adopt(value)
        default:
            refreshMembers()
            logMemberChanges()
        }
    }

    private func adopt(_ value: ClusterStateValue) {
        let isNew = adopted.withLock { seen in
            guard seen[value.key] != value.checksum else { return false }
            seen[value.key] = value.checksum
            return true
        }
        guard isNew else { return }
        switch value.key {
        case "ring":
            if let ring = try? Ring(decoding: value.payload), cluster.adopt(ring: ring) {
                persistMeta("ring", ring.encode())
            }
        case "namespaces":
            if let table = try? NamespaceTable(decoding: value.payload), cluster.adopt(namespaces: table) {
                persistMeta("namespaces", table.encode())
            }
        default:
            _ = adoptLease(value)
        }
    }

    /// Copies gossip's member list into the cluster view and the peer address book.
    private func refreshMembers() {
        guard let g = gossip else { return }
        var addresses: [String: Endpoint] = [:]
        for m in g.members {
            addresses[m.id] = m.peer
            cluster.update(member: ClusterView.MemberInfo(
                id: m.id, isUp: m.status == .alive || m.status == .suspect, status: m.status.description,
                admin: m.admin.description, incarnation: m.incarnation, clientAddress: m.client.description,
                gossipAddress: m.gossip.description))
        }
        peers.map.withLock { $0 = addresses }
    }

    /// Periodic work: membership, adopting gossip state, the claimant's ring, joining → joined.
    private func tick() {
        guard let g = gossip else { return }
        refreshMembers()
        engine.checkHealth(offsets: g.clockOffsets, nowNs: UInt64(max(0, EventLoop.nowMs())) * 1_000_000)
        for value in g.stateValues { adopt(value) }
        if let next = cluster.proposedRing(partitionCount: config.partitions) ?? cluster.settledRing(reports: handoffReports(g)),
           fitsGossip(key: "ring", payload: next.encode()) {
            cluster.adopt(ring: next)
            persistMeta("ring", next.encode())
            g.publishState(key: "ring", version: next.version, payload: next.encode())
        }
        let ring = cluster.snapshot().ring
        if g.me.admin == .joining, ring?.nodes.contains(nodeID) == true {
            g.setAdminState(.joined)
        }
        publishHandoffReport(g)
        publishLease(g)
        logTickEvents()
        // A node told to leave goes once the ring no longer holds it; a removed one at once.
        let gone = g.me.admin == .removed || (g.me.admin == .leaving && ring.map { !$0.nodes.contains(nodeID) } ?? false)
        if gone, !stopping.load(ordering: .relaxed) {
            log.info(g.me.admin == .removed ? "removed from the cluster; stopping" : "left the cluster; stopping")
            let exit = onExit
            DispatchQueue.global().async { [weak self] in
                self?.shutdown()
                exit?()
            }
        }
    }

    /// Every receiver's latest handoff report, from gossip.
    private func handoffReports(_ g: GossipNode) -> [String: HandoffReport] {
        var out: [String: HandoffReport] = [:]
        for v in g.stateValues where v.key.hasPrefix(Node.handoffKeyPrefix) {
            if let r = try? HandoffReport(decoding: v.payload) { out[String(v.key.dropFirst(Node.handoffKeyPrefix.count))] = r }
        }
        out[nodeID] = engine.handoffReport
        return out
    }

    static let handoffKeyPrefix = "handoff:"

    /// Gossips this node's handoff report when it changed.
    private func publishHandoffReport(_ g: GossipNode) {
        let report = engine.handoffReport
        let changed = lastReport.withLock { last in
            guard last != report else { return false }
            last = report
            return true
        }
        guard changed else { return }
        let version = max(UInt64(max(0, WallClock.nowMs())), reportVersion.add(1, ordering: .relaxed).newValue)
        reportVersion.store(version, ordering: .relaxed)
        g.publishState(key: Node.handoffKeyPrefix + nodeID, version: version, payload: report.encode())
    }

    /// Operator commands that act on membership (LEAVE, REMOVE).
    func admin(_ command: AdminCommand) -> Result<String, ClientError> {
        guard let g = gossip else { return .failure(ClientError("ERR node not started")) }
        switch command {
        case .leave:
            guard g.me.admin == .joined || g.me.admin == .joining else {
                return .failure(ClientError("ERR node is \(g.me.admin), cannot leave"))
            }
            g.setAdminState(.leaving)
            log.info("leave requested: handing partitions off, then stopping")
            return .success("OK leaving: partitions will be handed off, then the node stops")
        case .remove(let id):
            guard id != nodeID else { return .failure(ClientError("ERR cannot remove this node; use LEAVE on it")) }
            guard let m = g.member(id) else { return .failure(ClientError("ERR unknown node '\(id)'")) }
            guard m.admin != .removed else { return .success("OK \(id) already removed") }
            g.removeMember(id)
            log.info("member removal requested", ["member": id])
            return .success("OK removing \(id): its partitions will be rebuilt from the surviving replicas")
        }
    }

    func publish(namespaces table: NamespaceTable) {
        guard fitsGossip(key: "namespaces", payload: table.encode()) else { return }
        cluster.adopt(namespaces: table)
        persistMeta("namespaces", table.encode())
        gossip?.publishState(key: "namespaces", version: table.version, payload: table.encode())
    }
}

/// Node id -> peer RPC endpoint, from gossip.
final class PeerBook: Sendable {
    let map = Mutex<[String: Endpoint]>([:])
}
