import Net
import Dispatch
import Gossip
import Ring
import Synchronization

// The node's shell around `MembershipPolicy`: it gathers the facts (gossip's members and
// state values, already copied into the ClusterView by the tick; the engine's handoff
// report, transfers, hints and repair totals), runs the policy under its lock, and
// performs the actions after the lock is released. Runs on the ticker thread (every
// 200 ms), on gossip threads (membership events) and on a client's thread (LEAVE, REMOVE).

extension Node {
    static let handoffKeyPrefix = "handoff:"

    /// One policy step: the claimant's ring, joining -> joined, the handoff report and
    /// lease, the operator log, and stopping after a leave or removal.
    func runPolicy(_ g: GossipNode) {
        let facts = MembershipFacts(
            cluster: cluster.snapshot(), admin: g.me.admin, partitionCount: config.partitions,
            reports: handoffReports(g), ownReport: engine.handoffReport, leasedUpTo: replica.leasedUpTo,
            transfers: engine.transfers, hintTargets: replica.hints.targets,
            repairKeysSent: engine.repairState.keysSent.load(ordering: .relaxed),
            repairKeysReceived: engine.repairState.keysReceived.load(ordering: .relaxed),
            nowMs: EventLoop.nowMs(), wallMs: WallClock.nowMs())
        perform(policy.withLock { $0.onTick(facts) }, g)
    }

    /// Gossip changed the member list: log what changed now rather than at the next tick.
    func logMemberChanges() {
        let snap = cluster.snapshot()
        guard let g = gossip else { return }
        perform(policy.withLock { $0.onMembersChanged(snap) }, g)
    }

    /// Operator commands that act on membership (LEAVE, REMOVE).
    func admin(_ command: AdminCommand) -> Result<String, ClientError> {
        guard let g = gossip else { return .failure(ClientError("ERR node not started")) }
        var members: [String: AdminState] = [:]
        for m in g.members { members[m.id] = m.admin }
        let (reply, actions) = MembershipPolicy.admin(command, localID: nodeID, admin: g.me.admin, members: members)
        perform(actions, g)
        return reply
    }

    /// Every other node's latest handoff report, from gossip.
    private func handoffReports(_ g: GossipNode) -> [String: HandoffReport] {
        var out: [String: HandoffReport] = [:]
        for v in g.stateValues where v.key.hasPrefix(Node.handoffKeyPrefix) {
            if let r = try? HandoffReport(decoding: v.payload) { out[String(v.key.dropFirst(Node.handoffKeyPrefix.count))] = r }
        }
        return out
    }

    private func perform(_ actions: [MembershipAction], _ g: GossipNode) {
        for action in actions {
            switch action {
            case .adoptRing(let ring):
                let bytes = ring.encode()
                guard fitsGossip(key: "ring", payload: bytes) else { continue }
                cluster.adopt(ring: ring)
                persistMeta("ring", bytes)
                g.publishState(key: "ring", version: ring.version, payload: bytes)
            case .publishHandoffReport(let report, let version):
                g.publishState(key: Node.handoffKeyPrefix + nodeID, version: version, payload: report.encode())
            case .publishLease(let lease):
                g.publishState(key: Node.leaseKeyPrefix + replica.nodeID.string, version: lease, payload: Node.encodeLease(lease))
            case .setAdmin(let state):
                g.setAdminState(state)
            case .removeMember(let id):
                g.removeMember(id)
            case .log(let e):
                log.log(e.level, e.msg, fields: e.fields.map { ($0.0, $0.1 as any Sendable) })
            case .shutDown:
                guard !stopping.load(ordering: .relaxed) else { continue }
                let exit = onExit
                DispatchQueue.global().async { [weak self] in
                    self?.shutdown()
                    exit?()
                }
            }
        }
    }
}
