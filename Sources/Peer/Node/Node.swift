#if canImport(Glibc)
import Glibc
#endif
import Net
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
    /// The event loops every client and peer connection lives on (`--loops`).
    let loops: LoopGroup
    var gossip: GossipNode?
    private var rpcServer: PeerRPCServer?
    private var resp: RESPServer?
    private var http: HTTPServer?
    private let peers = PeerBook()
    /// Checksums of the cluster-state values already adopted, so a tick decodes only news.
    private let adopted = Mutex<[String: UInt64]>([:])
    let stopping = Atomic<Bool>(false)
    private let incarnation: UInt64
    let startTime = Date()
    private var ticker: Thread?
    /// The cluster policy (claimant, settling, join, leave, remove; Node+Policy.swift).
    let policy = Mutex(MembershipPolicy())
    /// Every metric family of this peer, served at `GET /metrics` (see MetricsRegistry.swift).
    public let metrics = MetricsRegistry()
    let commandMetrics: CommandMetrics
    /// The operator log (`--log-level`, `--log-format`); every line carries `node=`.
    public let log: Logger
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
        options.backgroundObserver = StorageJobMetrics(registry: metrics)
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
        loops = try LoopGroup(count: config.loops ?? LoopGroup.defaultCount, name: "loop")
        // One connection to each peer per loop, so no request hops between loops to leave.
        rpcConfig.connectionsPerPeer = max(rpcConfig.connectionsPerPeer, loops.loops.count)
        rpcClient = try PeerRPCClient(config: rpcConfig, loops: loops)
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
        // The request path runs on the loop that read the frame (its fsyncs are deferred to
        // the store's syncer); everything else (trees, handoff, scans, hints) may block and
        // goes to the node queues.
        let scheduler = engine.scheduler
        let server = try PeerRPCServer(config: rpcClient.config, port: config.peerPort, loops: loops) { request, respond in
            if NodeEngine.runsOnLoop(request.type) {
                engine.handleRPC(type: request.type, payload: request.payload, respond: respond)
            } else {
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
        respConfig.loops = loops
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
        try loops.start()

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
        loops.stop()
        do { try store.close() } catch { log.error("store did not close cleanly", ["error": "\(error)"]) }
        log.info("peer stopped")
    }

    var clientConnections: Int { resp?.stats.connections ?? 0 }
    /// Client commands waiting in this node (the `--max-queued-commands` budget).
    var clientBudget: ClientRequestBudget? { resp?.budget }

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

    /// Periodic work: membership, clock health, adopting gossip state, then the cluster
    /// policy (MembershipPolicy, performed in Node+Policy.swift).
    private func tick() {
        guard let g = gossip else { return }
        refreshMembers()
        engine.checkHealth(offsets: g.clockOffsets, nowNs: UInt64(max(0, EventLoop.nowMs())) * 1_000_000)
        for value in g.stateValues { adopt(value) }
        runPolicy(g)
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
