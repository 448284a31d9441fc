import Synchronization

/// The node's operator log: what it feeds `OperatorEvents` and when. Member changes are
/// observed on every gossip membership event and every tick; the ring, transfers, hint
/// backlogs and repair activity every tick (200 ms). Nothing here runs per request.
extension Node {
    func logMemberChanges() {
        var now: [String: OperatorEvents.MemberState] = [:]
        for m in cluster.snapshot().members.values { now[m.id] = .init(status: m.status, admin: m.admin) }
        emit(operatorEvents.withLock { $0.observe(members: now) })
    }

    func logTickEvents() {
        let snap = cluster.snapshot()
        let nowMs = EventLoop.nowMs()
        let transfers = engine.transfers
        let hints = replica.hints.targets
        let sent = engine.repairState.keysSent.load(ordering: .relaxed)
        let received = engine.repairState.keysReceived.load(ordering: .relaxed)
        var members: [String: OperatorEvents.MemberState] = [:]
        for m in snap.members.values { members[m.id] = .init(status: m.status, admin: m.admin) }
        let events = operatorEvents.withLock { e -> [OperatorEvents.Event] in
            var out = e.observe(members: members)
            if let ring = snap.ring {
                out += e.observe(ringVersion: ring.version, owned: ring.partitions(ownedBy: nodeID).count, transferring: ring.isTransferring)
            }
            out += e.observe(transfers: transfers, nowMs: nowMs)
            out += e.observe(hintTargets: hints)
            out += e.observe(repairKeysSent: sent, received: received, nowMs: nowMs)
            return out
        }
        emit(events)
    }

    private func emit(_ events: [OperatorEvents.Event]) {
        for e in events { log.log(e.level, e.msg, fields: e.fields.map { ($0.0, $0.1 as any Sendable) }) }
    }
}
