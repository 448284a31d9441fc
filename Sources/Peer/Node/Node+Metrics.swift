#if canImport(Glibc)
import Glibc
#endif
import Net
import Foundation
import Gossip
import Storage
import Synchronization

/// The node's collected metric families: figures that already live in the store, the
/// engine, the hint store and gossip, read at each scrape (see MetricsRegistry.swift).
/// The hot-path families (commands, fsync, peer RPCs) are registered where they are fed.
extension Node {
    func registerCollectedMetrics() {
        let m = metrics
        // The registry belongs to the node: its closures must not keep the node alive.
        let ref = WeakNode(self)
        // One snapshot per scrape: the store's statistics take its lock, and many families read them.
        let cache = Mutex<ScrapeSnapshot?>(nil)
        m.onScrape(begin: { cache.withLock { $0 = ref.node.map(ScrapeSnapshot.init) } },
                   end: { cache.withLock { $0 = nil } })
        func counter(_ name: String, _ help: String, _ read: @escaping @Sendable (ScrapeSnapshot) -> UInt64) {
            m.collected(name, help: help, type: .counter) { out in if let s = cache.withLock({ $0 }) { out.add(read(s)) } }
        }
        func gauge(_ name: String, _ help: String, _ read: @escaping @Sendable (ScrapeSnapshot) -> Double) {
            m.collected(name, help: help, type: .gauge) { out in if let s = cache.withLock({ $0 }) { out.add(read(s)) } }
        }
        func labelled(_ name: String, _ help: String, _ type: MetricKind, _ labels: [String],
                      _ read: @escaping @Sendable (ScrapeSnapshot, inout MetricSamples) -> Void) {
            m.collected(name, help: help, type: type, labels: labels) { out in if let s = cache.withLock({ $0 }) { read(s, &out) } }
        }

        // Server and membership.
        labelled("chorus_build_info", "Always 1; the labels name this peer and its version.", .gauge, ["version", "node"]) { n, out in
            out.add(1, labels: [Node.version, n.node.nodeID])
        }
        gauge("chorus_uptime_seconds", "Seconds since this peer started.") { Date().timeIntervalSince($0.node.startTime) }
        gauge("chorus_client_connections", "Open client (RESP) connections.") { Double($0.node.clientConnections) }
        gauge("chorus_client_commands_queued", "Client commands parsed and not yet answered, all connections (bound: --max-queued-commands).") {
            Double($0.node.clientBudget?.queued ?? 0)
        }
        labelled("chorus_members", "Members this peer knows, by gossip status.", .gauge, ["status"]) { n, out in
            var counts: [String: Int] = ["alive": 0, "suspect": 0, "dead": 0]
            for member in n.cluster.members.values { counts[member.status, default: 0] += 1 }
            for (status, count) in counts { out.add(count, labels: [status]) }
        }
        labelled("chorus_member_up", "1 when gossip sees the member alive or suspect, else 0.", .gauge, ["member"]) { n, out in
            for member in n.cluster.members.values { out.add(member.isUp ? 1 : 0, labels: [member.id]) }
        }
        gauge("chorus_ring_version", "Version of the ring this peer holds.") { Double($0.cluster.ring?.version ?? 0) }
        gauge("chorus_ring_partitions", "Partitions in the ring.") { Double($0.cluster.ring?.partitionCount ?? 0) }
        labelled("chorus_partitions_owned", "Partitions each member owns in this peer's ring.", .gauge, ["member"]) { n, out in
            // One pass over the partitions (this ran `partitions(ownedBy:)` per node: most of a
            // scrape's cost); every node in `ring.nodes`, a receiving-only one at 0.
            guard let ring = n.cluster.ring else { return }
            var counts: [String: Int] = [:]
            for owner in ring.owners { counts[owner, default: 0] += 1 }
            for case let next? in ring.nextOwners where counts[next] == nil { counts[next] = 0 }
            for (id, count) in counts { out.add(count, labels: [id]) }
        }
        gauge("chorus_ring_transferring", "1 while partitions are moving to new owners.") { $0.cluster.ring?.isTransferring == true ? 1 : 0 }
        labelled("chorus_namespace_info", "Always 1 per namespace; the labels give its replication settings.", .gauge,
                 ["namespace", "n", "r", "w", "conflict"]) { n, out in
            for ns in n.cluster.namespaces.namespaces {
                out.add(1, labels: [ns.name, String(ns.n), String(describing: ns.r), String(describing: ns.w), String(describing: ns.conflict)])
            }
        }

        // Coordinated requests and replicas.
        counter("chorus_coordinated_reads_total", "Reads this peer coordinated.") { $0.node.engine.counters.reads.load(ordering: .relaxed) }
        counter("chorus_coordinated_writes_total", "Writes this peer coordinated.") { $0.node.engine.counters.writes.load(ordering: .relaxed) }
        counter("chorus_forwarded_writes_total", "Writes forwarded to a primary replica to coordinate.") {
            $0.node.engine.counters.forwardedWrites.load(ordering: .relaxed)
        }
        counter("chorus_failed_requests_total", "Coordinated requests that failed (unavailable, timeout, refused).") {
            $0.node.engine.counters.failedRequests.load(ordering: .relaxed)
        }
        labelled("chorus_replica_requests_served_total", "Replica reads and writes this peer served for coordinators.", .counter, ["type"]) { n, out in
            out.add(n.node.engine.counters.replicaReadsServed.load(ordering: .relaxed), labels: ["read"])
            out.add(n.node.engine.counters.replicaWritesServed.load(ordering: .relaxed), labels: ["write"])
        }
        counter("chorus_read_repairs_total", "Stale replicas repaired by reads.") { $0.node.engine.counters.readRepairs.load(ordering: .relaxed) }

        // Hinted handoff.
        labelled("chorus_hints_pending", "Hints stored here and not yet delivered, by target node.", .gauge, ["target"]) { n, out in
            for (target, count) in n.hintTargets { out.add(count, labels: [target]) }
        }
        labelled("chorus_hints_total", "Hints stored here, delivered to their target, or refused (store full).", .counter, ["event"]) { n, out in
            let h = n.hintCounters
            out.add(h.stored, labels: ["stored"])
            out.add(h.delivered, labels: ["delivered"])
            out.add(h.refused, labels: ["refused"])
        }

        // Per-peer latency estimates (issue 11), clock offsets and disk errors (issue 15).
        labelled("chorus_peer_rtt_srtt_seconds", "Smoothed round-trip estimate to each peer, by kind of request.", .gauge, ["peer", "kind"]) { n, out in
            for (peer, kind, e, _) in n.latency() { out.add(e.srttMs / 1000, labels: [peer, kind]) }
        }
        labelled("chorus_peer_rtt_p99_seconds", "p99 of recent round trips to each peer, by kind of request.", .gauge, ["peer", "kind"]) { n, out in
            for (peer, kind, e, _) in n.latency() { out.add(e.p99Ms / 1000, labels: [peer, kind]) }
        }
        labelled("chorus_peer_deadline_seconds", "Deadline this peer gives requests to each peer, by kind.", .gauge, ["peer", "kind"]) { n, out in
            for (peer, kind, _, deadlineMs) in n.latency() { out.add(Double(deadlineMs) / 1000, labels: [peer, kind]) }
        }
        labelled("chorus_peer_deadline_misses_total", "Requests to each peer that missed their deadline.", .counter, ["peer"]) { n, out in
            let l = n.node.engine.latency.snapshot
            for peer in l.peers.keys.sorted() { out.add(l.peers[peer]?.totalMisses ?? 0, labels: [peer]) }
        }
        labelled("chorus_peer_deprioritized", "1 while a peer is passed over as coordinator for being slow.", .gauge, ["peer"]) { n, out in
            let l = n.node.engine.latency.snapshot
            for peer in l.peers.keys.sorted() { out.add(l.isDeprioritized(peer) ? 1 : 0, labels: [peer]) }
        }
        labelled("chorus_clock_offset_seconds", "Each member's wall-clock offset from the members' median, as measured here.", .gauge, ["member"]) { n, out in
            for m in n.node.engine.clockGuard.memberOffsetsMs { out.add(Double(m.offsetMs) / 1000, labels: [m.node]) }
        }
        gauge("chorus_clock_offset_exceeded", "1 while this peer's clock is off by more than --max-clock-offset (lww writes refused).") {
            $0.node.engine.clockGuard.isRefusing ? 1 : 0
        }
        gauge("chorus_disk_writes_ok", "1 while the store can make writes durable, 0 while it refuses them (disk full, I/O error).") {
            $0.node.engine.diskHealth.error == nil ? 1 : 0
        }
        counter("chorus_disk_write_errors_total", "Store writes that failed on the disk (ENOSPC, EIO).") { $0.stats.writeErrors }
        counter("chorus_disk_write_recoveries_total", "Times the store resumed writing after disk errors.") { $0.stats.errorRecoveries }

        registerRepairAndHandoffMetrics(counter: counter, gauge: gauge, labelled: labelled)
        registerStorageMetrics(labelled: labelled)
        registerTransportMetrics(labelled: labelled)
    }

    private func registerRepairAndHandoffMetrics(
        counter: (String, String, @escaping @Sendable (ScrapeSnapshot) -> UInt64) -> Void,
        gauge: (String, String, @escaping @Sendable (ScrapeSnapshot) -> Double) -> Void,
        labelled: (String, String, MetricKind, [String], @escaping @Sendable (ScrapeSnapshot, inout MetricSamples) -> Void) -> Void
    ) {
        labelled("chorus_antientropy_exchanges_total", "Merkle tree exchanges started, by result.", .counter, ["result"]) { n, out in
            let r = n.node.engine.repairState
            let all = r.exchanges.load(ordering: .relaxed), equal = r.equalExchanges.load(ordering: .relaxed)
            let failed = r.failures.load(ordering: .relaxed)
            out.add(equal, labels: ["equal"])
            out.add(failed, labels: ["failed"])
            out.add(all >= equal + failed ? all - equal - failed : 0, labels: ["repaired_or_running"])
        }
        labelled("chorus_antientropy_keys_total", "Keys anti-entropy sent to or received from other replicas.", .counter, ["direction"]) { n, out in
            out.add(n.node.engine.repairState.keysSent.load(ordering: .relaxed), labels: ["sent"])
            out.add(n.node.engine.repairState.keysReceived.load(ordering: .relaxed), labels: ["received"])
        }
        counter("chorus_antientropy_bytes_total", "Bytes anti-entropy moved (trees, segments and keys).") { $0.node.engine.repairState.bytesMoved.load(ordering: .relaxed) }
        counter("chorus_tombstones_reaped_total", "Tombstones removed after every primary confirmed them.") {
            $0.node.engine.repairState.tombstonesReaped.load(ordering: .relaxed)
        }
        counter("chorus_ranges_dropped_total", "Partition ranges dropped after their ownership moved away.") {
            $0.node.engine.repairState.rangesDropped.load(ordering: .relaxed)
        }
        gauge("chorus_antientropy_trees", "Merkle trees kept in memory.") { Double($0.node.replica.trees.count) }

        labelled("chorus_handoff_transfers", "Partition transfers this peer receives, by state.", .gauge, ["state"]) { n, out in
            var counts: [String: Int] = ["waiting": 0, "running": 0, "stalled": 0, "done": 0]
            let now = EventLoop.nowMs()
            for t in n.transfers { counts[Node.transferState(t, nowMs: now).rawValue, default: 0] += 1 }
            for (state, count) in counts { out.add(count, labels: [state]) }
        }
        labelled("chorus_handoff_progress_ratio", "Fraction of each unfinished transfer's bytes received (0 to 1).", .gauge,
                 ["partition", "namespace", "from"]) { n, out in
            for t in n.transfers where t.state != .done {
                let total = Double(t.bytes) + Double(t.remainingBytes)
                out.add(total > 0 ? Double(t.bytes) / total : 0,
                        labels: [String(t.id.partition), String(decoding: t.id.namespace, as: UTF8.self), t.from])
            }
        }
        counter("chorus_handoff_keys_received_total", "Keys received by ownership handoff.") {
            $0.node.engine.handoffCounters.keysReceived.load(ordering: .relaxed)
        }
        counter("chorus_handoff_received_bytes_total", "Bytes received by ownership handoff.") {
            $0.node.engine.handoffCounters.bytesReceived.load(ordering: .relaxed)
        }
        counter("chorus_handoff_chunks_served_total", "Handoff chunks this peer served to new owners.") {
            $0.node.engine.handoffCounters.chunksServed.load(ordering: .relaxed)
        }
    }

    static func transferState(_ t: TransferStatus, nowMs: Int64) -> TransferStatus.State {
        t.state == .running && nowMs - t.lastProgressMs > 30_000 ? .stalled : t.state
    }

    private func registerStorageMetrics(
        labelled: (String, String, MetricKind, [String], @escaping @Sendable (ScrapeSnapshot, inout MetricSamples) -> Void) -> Void
    ) {
        // One store.stats() per family is cheap (atomics and a short lock); no caching.
        func stat(_ name: String, _ help: String, _ type: MetricKind, _ read: @escaping @Sendable (StorageStats) -> Double) {
            labelled(name, help, type, []) { n, out in out.add(read(n.stats)) }
        }
        stat("chorus_storage_writes_total", "Records written to the store.", .counter) { Double($0.writes) }
        stat("chorus_storage_write_groups_total", "Group commits (one log write, and under sync always one fsync, each).", .counter) { Double($0.writeGroups) }
        stat("chorus_storage_wal_syncs_total", "Write-ahead log fsyncs.", .counter) { Double($0.walSyncs) }
        stat("chorus_storage_wal_written_bytes_total", "Bytes appended to the write-ahead log.", .counter) { Double($0.walBytesWritten) }
        stat("chorus_storage_flushes_total", "Memtables flushed to level-0 tables.", .counter) { Double($0.flushes) }
        stat("chorus_storage_compactions_total", "Compactions that merged tables.", .counter) { Double($0.compactions) }
        stat("chorus_storage_compaction_trivial_moves_total", "Compactions that moved a table down a level without rewriting it.", .counter) {
            Double($0.trivialMoves)
        }
        stat("chorus_storage_compaction_read_bytes_total", "Bytes compactions read.", .counter) { Double($0.compactionBytesRead) }
        stat("chorus_storage_compaction_written_bytes_total", "Bytes compactions wrote.", .counter) { Double($0.compactionBytesWritten) }
        stat("chorus_storage_stalls_total", "Writers that waited for a flush or compaction to catch up.", .counter) { Double($0.stalls) }
        stat("chorus_storage_stall_seconds_total", "Time writers spent stalled.", .counter) { Double($0.stallMicros) / 1e6 }
        stat("chorus_storage_slowdowns_total", "Writers delayed 1 ms because level 0 was filling up.", .counter) { Double($0.slowdowns) }
        stat("chorus_storage_memtable_bytes", "Bytes in the active memtable.", .gauge) { Double($0.memtableBytes) }
        labelled("chorus_storage_block_cache_requests_total", "Block cache lookups, by result.", .counter, ["result"]) { n, out in
            let s = n.stats
            out.add(s.blockCacheHits, labels: ["hit"])
            out.add(s.blockCacheMisses, labels: ["miss"])
        }
        labelled("chorus_storage_files", "Table files per LSM level.", .gauge, ["level"]) { n, out in
            for (level, count) in n.stats.filesPerLevel.enumerated() { out.add(count, labels: [String(level)]) }
        }
        labelled("chorus_storage_level_bytes", "Bytes of table files per LSM level.", .gauge, ["level"]) { n, out in
            for (level, bytes) in n.stats.bytesPerLevel.enumerated() { out.add(bytes, labels: [String(level)]) }
        }
    }

    private func registerTransportMetrics(
        labelled: (String, String, MetricKind, [String], @escaping @Sendable (ScrapeSnapshot, inout MetricSamples) -> Void) -> Void
    ) {
        labelled("chorus_peer_rpc_frames_total", "Peer RPC frames sent and received.", .counter, ["direction"]) { n, out in
            let s = n.rpc
            out.add(s.framesSent, labels: ["sent"])
            out.add(s.framesReceived, labels: ["received"])
        }
        labelled("chorus_peer_rpc_bytes_total", "Peer RPC bytes sent and received.", .counter, ["direction"]) { n, out in
            let s = n.rpc
            out.add(s.bytesSent, labels: ["sent"])
            out.add(s.bytesReceived, labels: ["received"])
        }
        labelled("chorus_peer_rpc_connection_events_total", "Peer RPC connection events.", .counter, ["event"]) { n, out in
            let s = n.rpc
            let events: [(String, Int)] = [
                ("connect", s.connects), ("connect_failure", s.connectFailures), ("reconnect", s.reconnects),
                ("lost", s.connectionsLost), ("refused", s.connectionsRefused), ("auth_failure", s.authFailures),
                ("unauthenticated", s.unauthenticatedConnections), ("decode_error", s.decodeErrors),
                ("late_response_dropped", s.lateResponsesDropped),
            ]
            for (event, count) in events { out.add(count, labels: [event]) }
        }
        labelled("chorus_gossip_packets_total", "Gossip packets sent and received.", .counter, ["direction"]) { n, out in
            guard let c = n.gossip else { return }
            out.add(c.packetsSent, labels: ["sent"])
            out.add(c.packetsReceived, labels: ["received"])
        }
        labelled("chorus_gossip_bytes_total", "Gossip bytes sent and received (UDP).", .counter, ["direction"]) { n, out in
            guard let c = n.gossip else { return }
            out.add(c.bytesSent, labels: ["sent"])
            out.add(c.bytesReceived, labels: ["received"])
        }
        labelled("chorus_gossip_dropped_packets_total", "Gossip packets dropped, by reason.", .counter, ["reason"]) { n, out in
            guard let c = n.gossip else { return }
            for reason in DropReason.allCases { out.add(c.dropped(reason), labels: [String(describing: reason)]) }
        }
        labelled("chorus_gossip_events_total", "SWIM events on this peer.", .counter, ["event"]) { n, out in
            guard let c = n.gossip else { return }
            let events: [(String, UInt64)] = [
                ("probe", c.probes), ("probe_ack", c.probeAcks), ("indirect_probe", c.indirectProbes),
                ("suspicion", c.suspicions), ("suspicion_refuted", c.falseSuspicionsRefuted), ("death_declared", c.deathsDeclared),
                ("push_pull_started", c.pushPullsStarted), ("push_pull_served", c.pushPullsServed), ("push_pull_failed", c.pushPullsFailed),
            ]
            for (event, count) in events { out.add(count, labels: [event]) }
        }
        labelled("chorus_gossip_probe_rtt_seconds", "Mean round trip of answered gossip probes.", .gauge, []) { n, out in
            guard let c = n.gossip, c.probeRttCount > 0 else { return }
            out.add(Double(c.probeRttSumNs) / Double(c.probeRttCount) / 1e9)
        }
    }
}

/// What the collected families of one scrape read: taken once per scrape (`onScrape`).
/// A class, so that each of the ~50 collected families reading it retains one reference
/// instead of copying (and retaining every field of) a struct.
final class ScrapeSnapshot: Sendable {
    let node: Node
    let stats: StorageStats
    let cluster: ClusterSnapshot
    let rpc: RPCCounters.Snapshot
    let gossip: GossipCounters?
    let transfers: [TransferStatus]
    let hintTargets: [String: Int]
    let hintCounters: (stored: UInt64, delivered: UInt64, refused: UInt64)
    /// (peer, kind, estimate, deadline ms) for every peer with estimates; three families read it.
    let latencyRows: [(String, String, PeerLatency.Estimate, Int)]

    init(_ node: Node) {
        self.node = node
        stats = node.store.stats()
        cluster = node.cluster.snapshot()
        rpc = node.rpcClient.counters.snapshot()
        gossip = node.gossip?.counters
        transfers = node.engine.transfers
        hintTargets = node.replica.hints.targets
        hintCounters = node.replica.hints.counters
        latencyRows = Self.latency(node)
    }
}

extension ScrapeSnapshot {
    /// (peer, kind, estimate, deadline ms) for every peer with estimates.
    func latency() -> [(String, String, PeerLatency.Estimate, Int)] { latencyRows }

    private static func latency(_ node: Node) -> [(String, String, PeerLatency.Estimate, Int)] {
        let l = node.engine.latency.snapshot
        var out: [(String, String, PeerLatency.Estimate, Int)] = []
        for peer in l.peers.keys.sorted() {
            guard let p = l.peers[peer] else { continue }
            for kind in PeerLatency.Kind.allCases { out.append((peer, "\(kind)", p.estimate(kind), l.deadlineMs(peer, kind))) }
        }
        return out
    }
}

/// A weak reference to the node, for closures the node itself holds.
final class WeakNode: @unchecked Sendable {
    weak var node: Node?
    init(_ node: Node) { self.node = node }
}
