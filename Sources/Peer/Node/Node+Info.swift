#if canImport(Glibc)
import Glibc
#endif
import Net
import Foundation
import Storage
import Synchronization

extension Node {
    /// INFO's sections (Redis style): server, clients, cluster, storage, replication, stats.
    func infoSections() -> [(section: String, fields: [(String, String)])] {
        let snap = cluster.snapshot()
        let s = store.stats()
        let c = engine.counters
        let hints = replica.hints.counters
        let owned = snap.ring?.partitions(ownedBy: nodeID).count ?? 0
        let alive = snap.members.values.filter { $0.status == "alive" }.count
        return [
            ("Server", [
                ("chorus_version", Node.version), ("node_id", nodeID), ("dot_actor", replica.nodeID.string), ("process_id", String(getpid())),
                ("tcp_port", String(config.clientPort)), ("gossip_port", String(config.gossipPort)),
                ("peer_port", String(config.peerPort)), ("http_port", String(config.httpPort)),
                ("uptime_in_seconds", String(Int(Date().timeIntervalSince(startTime)))),
                ("sync", config.sync.description),
            ]),
            ("Clients", [("connected_clients", String(clientConnections)),
                         ("queued_commands", String(clientBudget?.queued ?? 0)),
                         ("max_queued_commands", String(clientBudget?.limit ?? config.maxQueuedCommands)),
                         ("queued_commands_paused", String(clientBudget?.pausedTotal.load(ordering: .relaxed) ?? 0))]),
            ("Cluster", [
                ("members", String(snap.members.count)), ("members_alive", String(alive)),
                ("ring_version", String(snap.ring?.version ?? 0)), ("partitions", String(snap.ring?.partitionCount ?? 0)),
                ("partitions_owned", String(owned)), ("namespaces", String(snap.namespaces.namespaces.count)),
            ]),
            ("Storage", [
                ("writes", String(s.writes)), ("write_groups", String(s.writeGroups)), ("wal_syncs", String(s.walSyncs)),
                ("flushes", String(s.flushes)), ("compactions", String(s.compactions)), ("stalls", String(s.stalls)),
                ("files_per_level", s.filesPerLevel.map(String.init).joined(separator: ",")),
                ("bytes_on_disk", String(s.bytesPerLevel.reduce(0, +))),
                ("block_cache_hits", String(s.blockCacheHits)), ("block_cache_misses", String(s.blockCacheMisses)),
            ]),
            ("Replication", [
                ("hints_pending", String(replica.hints.total)), ("hints_stored", String(hints.stored)),
                ("hints_delivered", String(hints.delivered)), ("hints_refused", String(hints.refused)),
                ("hints_bytes", String(replica.hints.bounds.bytes)), ("hints_expired", String(replica.hints.bounds.expired)),
                ("hints_refused_bytes", String(replica.hints.bounds.refusedOverBytes)),
                ("hints_expiry_errors", String(replica.hints.bounds.expiryErrors)),
                ("read_repairs", String(c.readRepairs.load(ordering: .relaxed))),
            ] + replica.hints.targets.sorted { $0.key < $1.key }.map { ("hints_for:\($0.key)", String($0.value)) }),
            ("Stats", [
                ("reads", String(c.reads.load(ordering: .relaxed))), ("writes", String(c.writes.load(ordering: .relaxed))),
                ("forwarded_writes", String(c.forwardedWrites.load(ordering: .relaxed))),
                ("forward_failovers", String(c.forwardFailovers.load(ordering: .relaxed))),
                ("late_forwards_refused", String(c.lateForwardsRefused.load(ordering: .relaxed))),
                ("failed_requests", String(c.failedRequests.load(ordering: .relaxed))),
                ("replica_writes_served", String(c.replicaWritesServed.load(ordering: .relaxed))),
                ("replica_reads_served", String(c.replicaReadsServed.load(ordering: .relaxed))),
                ("peer_requests_queued", String(engine.peerGate.inFlight.requests)),
                ("peer_requests_busy", String(engine.peerGate.refused.load(ordering: .relaxed))),
                ("meta_persist_failures", String(engine.metaPersistFailures.load(ordering: .relaxed))),
            ]),
            ("AntiEntropy", antiEntropyFields()),
            ("Handoff", handoffFields()),
            ("Latency", latencyFields()),
            ("Persistence", engine.diskHealth.infoFields(s)),
            ("Clock", engine.clockGuard.memberOffsetsMs.map { ($0.node, "offset_ms=\($0.offsetMs)") }),
            // What `chorus status` prints under the member table (and /status's "warnings").
            ("Warnings", statusWarnings(snap, nowMs: EventLoop.nowMs()).enumerated().map { ("warning_\($0.offset)", $0.element) }),
        ]
    }

    /// One line per peer this node has talked to: round-trip estimates (ms) per kind of
    /// request, the deadlines derived from them, and deadline misses (PeerLatency).
    private func latencyFields() -> [(String, String)] {
        let l = engine.latency.snapshot
        return l.peers.keys.sorted().compactMap { peer in
            guard let p = l.peers[peer] else { return nil }
            var parts: [String] = []
            for kind in PeerLatency.Kind.allCases {
                let e = p.estimate(kind)
                let name = "\(kind)"
                parts.append("\(name)_srtt_ms=\(Node.ms(e.srttMs)),\(name)_rttvar_ms=\(Node.ms(e.rttvarMs)),\(name)_p99_ms=\(Node.ms(e.p99Ms)),\(name)_samples=\(e.samples),\(name)_deadline_ms=\(l.deadlineMs(peer, kind))")
            }
            parts.append("misses=\(p.totalMisses),misses_in_a_row=\(p.consecutiveMisses),deprioritized=\(l.isDeprioritized(peer) ? 1 : 0)")
            return (peer, parts.joined(separator: ","))
        }
    }

    static func ms(_ v: Double) -> String { String(format: "%.3f", v) }

    private func antiEntropyFields() -> [(String, String)] {
        let r = engine.repairState
        func v(_ a: borrowing Atomic<UInt64>) -> String { String(a.load(ordering: .relaxed)) }
        return [
            ("exchanges", v(r.exchanges)), ("exchanges_equal", v(r.equalExchanges)), ("keys_sent", v(r.keysSent)),
            ("keys_received", v(r.keysReceived)), ("bytes_moved", v(r.bytesMoved)), ("failures", v(r.failures)),
            ("tombstones_reaped", v(r.tombstonesReaped)), ("ranges_dropped", v(r.rangesDropped)),
            ("answers_cut", v(r.answersCut)), ("trees_kept", String(replica.trees.count)),
        ]
    }

    /// The transfers this node receives: one `transfer_<i>` line each, fields comma-separated.
    private func handoffFields() -> [(String, String)] {
        let report = engine.handoffReport
        let now = EventLoop.nowMs()
        let transfers = engine.transfers
        var fields: [(String, String)] = [
            ("ring_transferring", cluster.snapshot().ring?.isTransferring == true ? "1" : "0"),
            ("transfers", String(transfers.count)), ("transfers_pending", String(report.pending)),
            ("keys_received", String(engine.handoffCounters.keysReceived.load(ordering: .relaxed))),
            ("bytes_received", String(engine.handoffCounters.bytesReceived.load(ordering: .relaxed))),
            ("chunks_served", String(engine.handoffCounters.chunksServed.load(ordering: .relaxed))),
        ]
        for (i, t) in transfers.enumerated() {
            let text = ClientCommands.transferFields(t, nowMs: now).map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            fields.append(("transfer_\(i)", text))
        }
        return fields
    }

    static let version = "0.1.0"

    /// `GET /status`: the node, its members and the ring, as JSON; what the dashboard at
    /// `GET /` polls. Besides the summary fields: `owners` (for each partition, the index in
    /// `ring_nodes` of its owner, and `future_owners` while it moves), `transfers` (this peer's
    /// incoming handoffs with progress), `hints` (pending per target), `commands` (answered
    /// and failed so far) and `latency` (cumulative histogram counts of GET and SET, bounds in
    /// seconds), from which a poller derives rates and p99s, and `warnings`.
    func statusJSON() -> String {
        let snap = cluster.snapshot()
        func q(_ s: String) -> String { LogLine.json(s) }
        let members = snap.members.values.sorted { $0.id < $1.id }.map { m in
            "{\"id\":\(q(m.id)),\"client\":\(q(m.clientAddress)),\"gossip\":\(q(m.gossipAddress)),\"status\":\(q(m.status)),\"admin\":\(q(m.admin)),\"incarnation\":\(m.incarnation),\"partitions\":\(snap.ring?.partitions(ownedBy: m.id).count ?? 0)}"
        }
        var out = "{\"node\":\(q(nodeID)),\"version\":\(q(Node.version)),\"uptime_seconds\":\(Int(Date().timeIntervalSince(startTime))),"
        out += "\"ring_version\":\(snap.ring?.version ?? 0),\"partitions\":\(snap.ring?.partitionCount ?? 0),"
        out += "\"hints_pending\":\(replica.hints.total),\"writes\":\(engine.diskHealth.statusJSON),\"members\":[\(members.joined(separator: ","))]"
        if let ring = snap.ring {
            let nodes = Array(Set((0..<ring.partitionCount).flatMap { [ring.owner(of: $0), ring.futureOwner(of: $0)] })).sorted()
            let index = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1, $0) })
            out += ",\"transferring\":\(ring.isTransferring),\"ring_nodes\":[\(nodes.map(q).joined(separator: ","))]"
            out += ",\"owners\":[\((0..<ring.partitionCount).map { String(index[ring.owner(of: $0)] ?? -1) }.joined(separator: ","))]"
            if ring.isTransferring {
                out += ",\"future_owners\":[\((0..<ring.partitionCount).map { String(index[ring.futureOwner(of: $0)] ?? -1) }.joined(separator: ","))]"
            }
        }
        let now = EventLoop.nowMs()
        let transfers = engine.transfers.map { t -> String in
            let total = Double(t.bytes) + Double(t.remainingBytes)
            let progress = t.state == .done ? 1 : (total > 0 ? Double(t.bytes) / total : 0)
            return "{\"partition\":\(t.id.partition),\"namespace\":\(q(String(decoding: t.id.namespace, as: UTF8.self))),\"from\":\(q(t.from)),"
                + "\"to\":\(q(t.to)),\"keys\":\(t.keys),\"bytes\":\(t.bytes),\"remaining_bytes\":\(t.remainingBytes),"
                + "\"state\":\(q(Node.transferState(t, nowMs: now).rawValue)),\"progress\":\(progress),\"last_error\":\(q(t.lastError))}"
        }
        out += ",\"transfers\":[\(transfers.joined(separator: ","))]"
        out += ",\"hints\":{\(replica.hints.targets.sorted { $0.key < $1.key }.map { "\(q($0.key)):\($0.value)" }.joined(separator: ","))}"
        let commands = commandMetrics.totals
        out += ",\"commands\":{\"answered\":\(commands.answered),\"errors\":\(commands.errors)}"
        out += ",\"latency\":{\"bounds\":[\(MetricHistogram.latencyBuckets.map { MetricsText.number($0) }.joined(separator: ","))]"
        for name in ["GET", "SET"] {
            let counts = commandMetrics.cumulativeLatency(name)
            out += ",\(q(name.lowercased())):[\(counts.map(String.init).joined(separator: ","))]"
        }
        out += "}"
        out += ",\"warnings\":[\(statusWarnings(snap, nowMs: now).map(q).joined(separator: ","))]}\n"
        return out
    }

    /// What an operator should look at now (the dashboard shows these in a banner).
    func statusWarnings(_ snap: ClusterSnapshot, nowMs: Int64) -> [String] {
        var out: [String] = []
        for m in snap.members.values.sorted(by: { $0.id < $1.id }) where m.status != "alive" && m.admin != "removed" {
            out.append("member \(m.id) is \(m.status)")
        }
        let stalled = engine.transfers.filter { Node.transferState($0, nowMs: nowMs) == .stalled }.count
        if stalled > 0 { out.append("\(stalled) handoff transfer(s) stalled") }
        if config.clusterSecret == nil { out.append("no cluster secret: peer traffic is not authenticated") }
        out += diskAndClockWarnings()
        return out
    }

    /// The disk and clock lines of `statusWarnings`: this peer refusing writes, its own clock
    /// beyond `--max-clock-offset`, and members whose clocks it measures beyond it.
    func diskAndClockWarnings() -> [String] {
        var out: [String] = []
        if let e = engine.diskHealth.error { out.append("disk: \(nodeID) refuses writes: \(e)") }
        let guardian = engine.clockGuard
        if guardian.isRefusing, let skew = guardian.skew {
            out.append("clock: \(nodeID) is \(skew.selfOffsetMs) ms (±\(skew.errorMs) ms) off the members' median, beyond max-clock-offset \(guardian.maxOffsetMs) ms; it refuses to coordinate lww writes; check NTP")
        }
        for (node, offset) in guardian.memberOffsetsMs where node != nodeID && guardian.isOutlier(node) {
            out.append("clock: \(node) measures \(offset) ms off the members' median from \(nodeID), beyond max-clock-offset \(guardian.maxOffsetMs) ms")
        }
        return out
    }
}
