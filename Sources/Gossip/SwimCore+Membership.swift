import Foundation

// Membership news and the SWIM lattice. A record is replaced only by one that supersedes
// it (higher incarnation, or same incarnation and higher status); news about ourselves is
// refuted by raising our incarnation. Suspicion timers (Lifeguard) turn suspect into dead.
// Every accepted change is re-gossiped and reported to the node layer as one event.

extension SwimCore {
    /// Applies one assertion about a member, from gossip or push-pull.
    mutating func applyUpdate(_ m: Member, from: String, now: UInt64, actions: inout [GossipAction]) {
        if m.id == me.id {
            selfNews(m, now: now, actions: &actions)
            return
        }
        guard let current = table[m.id]?.member else {
            // Only an alive record introduces a member; suspicion of a stranger means nothing.
            guard m.status == .alive, table.count < config.maxMembers else { return }
            insert(m, now: now)
            broadcasts.enqueue(subject: m.id, message: .member(m, from: me.id))
            actions.append(.emit(m.admin == .removed ? .memberRemoved(m) : .memberUp(m)))
            return
        }
        if current.admin == .removed, m.admin != .removed {
            holdRemoval(current, against: m, now: now)
            return
        }
        guard m.supersedes(current) else {
            confirmSuspicion(m, current: current, from: from)
            return
        }
        setRecord(m, now: now)
        switch m.status {
        case .alive:
            suspicions[m.id] = nil
            if m.admin == .removed && current.admin != .removed {
                actions.append(.emit(.memberRemoved(m)))
            } else if current.status != .alive {
                actions.append(.emit(.memberRecovered(m)))
            } else if m.admin != current.admin || m.gossip != current.gossip || m.peer != current.peer
                        || m.client != current.client || m.http != current.http {
                actions.append(.emit(.memberUpdated(m)))
            }
        case .suspect:
            startSuspicion(m, from: from, now: now)
            actions.append(.emit(.memberSuspect(m)))
        case .dead:
            suspicions[m.id] = nil
            if current.status != .dead { actions.append(.emit(.memberDown(m))) }
        case .left:
            suspicions[m.id] = nil
            actions.append(.emit(m.admin == .removed ? .memberRemoved(m) : .memberLeft(m)))
        }
        broadcasts.enqueue(subject: m.id, message: .member(m, from: from))
    }

    /// Adds a member never seen before.
    mutating func insert(_ m: Member, now: UInt64) {
        table[m.id] = Record(member: m, changedNs: now)
        memberIds.append(m.id)
        if m.isLive {
            liveTally += 1
            addToProbeOrder(m.id)
        }
    }

    /// Replaces a known member's record, keeping the live tally.
    mutating func setRecord(_ m: Member, now: UInt64) {
        guard let old = table[m.id] else { return }
        if old.member.isLive != m.isLive { liveTally += m.isLive ? 1 : -1 }
        let changed = old.member.status != m.status ? now : old.changedNs
        table[m.id] = Record(member: m, changedNs: changed)
    }

    /// Suspicion bounds for the current cluster size (memberlist's formulas).
    private func suspicionBounds() -> (minNs: UInt64, maxNs: UInt64, k: Int) {
        let n = Double(max(1, liveTally))
        let minNs = UInt64(Double(config.suspicionMult) * max(1, log10(n)) * Double(config.probeIntervalMs * GossipConfig.nsPerMs))
        var k = config.suspicionMult - 2
        if liveTally - 2 < k { k = 0 }
        return (minNs, minNs * UInt64(max(1, config.suspicionMaxTimeoutMult)), k)
    }

    private mutating func startSuspicion(_ m: Member, from: String, now: UInt64) {
        let b = suspicionBounds()
        suspicions[m.id] = Suspicion(incarnation: m.incarnation, from: from, startNs: now, minNs: b.minNs, maxNs: b.maxNs, k: b.k)
    }

    /// Another member independently suspects what we already suspect: shorten the timer,
    /// and re-gossip new confirmations so others shorten theirs.
    private mutating func confirmSuspicion(_ m: Member, current: Member, from: String) {
        guard m.status == .suspect, current.status == .suspect, m.incarnation == current.incarnation,
              var s = suspicions[m.id], s.incarnation == m.incarnation else { return }
        if s.confirm(from: from) {
            suspicions[m.id] = s
            broadcasts.enqueue(subject: m.id, message: .member(m, from: from))
        }
    }

    mutating func suspicionTimers(now: UInt64, actions: inout [GossipAction]) {
        guard !suspicions.isEmpty else { return }
        for id in suspicions.keys.sorted() {
            guard let s = suspicions[id], now >= s.deadlineNs else { continue }
            suspicions[id] = nil
            guard var m = table[id]?.member, m.status == .suspect, m.incarnation == s.incarnation else { continue }
            m.status = .dead
            counters.deathsDeclared += 1
            setRecord(m, now: now)
            broadcasts.enqueue(subject: id, message: .member(m, from: me.id))
            actions.append(.emit(.memberDown(m)))
        }
    }

    /// An operator's removal is final: a record from (or about) a removed member that says
    /// otherwise is not adopted, whatever its incarnation. Why: a member removed while cut
    /// off may, when the cut heals, first hear an older "dead" rumour about itself, refute it
    /// with a higher incarnation and announce itself alive before it hears of its removal;
    /// by incarnation alone that record beats the removal, and the cluster took the removed
    /// member back (seen in the nemesis suite's membership-partition scenario). Instead the
    /// removal is re-announced above the record's incarnation, so the member hears it and
    /// stops.
    private mutating func holdRemoval(_ current: Member, against m: Member, now: UInt64) {
        guard m.incarnation >= current.incarnation else { return }
        var removal = current
        removal.incarnation = m.incarnation + 1
        setRecord(removal, now: now)
        broadcasts.enqueue(subject: removal.id, message: .member(removal, from: me.id))
    }

    /// News about ourselves: refute anything but our own current record, or accept an
    /// operator's removal (at any incarnation: see holdRemoval).
    private mutating func selfNews(_ m: Member, now: UInt64, actions: inout [GossipAction]) {
        if m.admin == .removed, me.admin != .removed {
            me.admin = .removed
            me.status = .left
            me.incarnation = max(me.incarnation, m.incarnation) + 1
            table[me.id] = Record(member: me, changedNs: now)
            liveTally -= 1
            broadcastSelf()
            actions.append(.emit(.memberRemoved(me)))
            return
        }
        guard m.incarnation >= me.incarnation else {
            // Someone still holds an old suspicion of us (it missed our refutation): say
            // it again; the reply to its buddy ping will carry it.
            if m.status == .suspect || m.status == .dead { broadcastSelf() }
            return
        }
        guard m != me else { return }
        guard me.status == .alive else { return }
        if m.status == .suspect || m.status == .dead {
            counters.falseSuspicionsRefuted += 1
            awareness.apply(delta: 1)
        }
        me.incarnation = m.incarnation + 1
        table[me.id] = Record(member: me, changedNs: table[me.id]?.changedNs ?? now)
        broadcastSelf()
    }

    mutating func broadcastSelf() {
        table[me.id]?.member = me
        broadcasts.enqueue(subject: me.id, message: .member(me, from: me.id))
    }

    // MARK: Owner and operator commands

    /// Changes this node's administrative state (announced with a new incarnation).
    public mutating func setAdminState(_ admin: AdminState, now: UInt64) -> [GossipAction] {
        guard !hasLeft, me.admin != admin else { return [] }
        me.admin = admin
        me.incarnation += 1
        broadcastSelf()
        var actions: [GossipAction] = []
        gossipRound(now: now, actions: &actions)
        return actions
    }

    /// Graceful leave: announces `left` to a few members at once (and stops the core).
    /// The shell should deliver the returned packets before closing its socket.
    public mutating func leave(now: UInt64) -> [GossipAction] {
        guard started, !hasLeft else { return [] }
        me.status = .left
        me.incarnation += 1
        liveTally -= 1
        broadcastSelf()
        var actions: [GossipAction] = []
        let targets = randomMembers(max(config.gossipNodes, config.indirectChecks) + 2) { $0.member.isLive }
        for t in targets {
            send([.member(me, from: me.id)], to: t.member.gossip, now: now, actions: &actions)
        }
        hasLeft = true
        return actions
    }

    /// Operator command: mark another member removed (it stops for good when it hears).
    public mutating func removeMember(_ id: String, now: UInt64) -> [GossipAction] {
        guard id != me.id, var m = table[id]?.member, m.admin != .removed else { return [] }
        if m.status == .left { m.incarnation += 1 }
        m.admin = .removed
        m.status = .left
        var actions: [GossipAction] = []
        applyUpdate(m, from: me.id, now: now, actions: &actions)
        gossipRound(now: now, actions: &actions)
        return actions
    }
}
