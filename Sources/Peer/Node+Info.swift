#if canImport(Glibc)
import Glibc
#endif
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
                ("chorus_version", Node.version), ("node_id", nodeID), ("process_id", String(getpid())),
                ("tcp_port", String(config.clientPort)), ("gossip_port", String(config.gossipPort)),
                ("peer_port", String(config.peerPort)), ("http_port", String(config.httpPort)),
                ("uptime_in_seconds", String(Int(Date().timeIntervalSince(startTime)))),
                ("sync", config.sync.description),
            ]),
            ("Clients", [("connected_clients", String(clientConnections))]),
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
                ("read_repairs", String(c.readRepairs.load(ordering: .relaxed))),
            ] + replica.hints.targets.sorted { $0.key < $1.key }.map { ("hints_for:\($0.key)", String($0.value)) }),
            ("Stats", [
                ("reads", String(c.reads.load(ordering: .relaxed))), ("writes", String(c.writes.load(ordering: .relaxed))),
                ("forwarded_writes", String(c.forwardedWrites.load(ordering: .relaxed))),
                ("failed_requests", String(c.failedRequests.load(ordering: .relaxed))),
                ("replica_writes_served", String(c.replicaWritesServed.load(ordering: .relaxed))),
                ("replica_reads_served", String(c.replicaReadsServed.load(ordering: .relaxed))),
            ]),
            ("AntiEntropy", antiEntropyFields()),
            ("Handoff", handoffFields()),
        ]
    }

    private func antiEntropyFields() -> [(String, String)] {
        let r = engine.repairState
        func v(_ a: borrowing Atomic<UInt64>) -> String { String(a.load(ordering: .relaxed)) }
        return [
            ("exchanges", v(r.exchanges)), ("exchanges_equal", v(r.equalExchanges)), ("keys_sent", v(r.keysSent)),
            ("keys_received", v(r.keysReceived)), ("bytes_moved", v(r.bytesMoved)), ("failures", v(r.failures)),
            ("tombstones_reaped", v(r.tombstonesReaped)), ("ranges_dropped", v(r.rangesDropped)),
            ("trees_kept", String(replica.trees.count)),
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

    /// `GET /status`: the node, its members and the ring, as JSON.
    func statusJSON() -> String {
        let snap = cluster.snapshot()
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let members = snap.members.values.sorted { $0.id < $1.id }.map { m in
            "{\"id\":\(q(m.id)),\"client\":\(q(m.clientAddress)),\"gossip\":\(q(m.gossipAddress)),\"status\":\(q(m.status)),\"admin\":\(q(m.admin)),\"incarnation\":\(m.incarnation),\"partitions\":\(snap.ring?.partitions(ownedBy: m.id).count ?? 0)}"
        }
        return "{\"node\":\(q(nodeID)),\"ring_version\":\(snap.ring?.version ?? 0),\"partitions\":\(snap.ring?.partitionCount ?? 0),\"hints_pending\":\(replica.hints.total),\"members\":[\(members.joined(separator: ","))]}\n"
    }
}
