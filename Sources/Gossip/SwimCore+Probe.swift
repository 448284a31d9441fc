// Failure detection (SWIM section 4 with Lifeguard): one probe per period to the next
// member of a shuffled round-robin list; no ack by the probe timeout -> ask k others to
// probe it; no ack (direct or relayed) by the end of the period -> suspect it. Periods and
// timeouts are stretched by the local health multiplier. Relays answer probes for others
// and send a nack when the target stays silent, so the asker can tell "target down" from
// "my own network is bad".

extension SwimCore {
    mutating func probeTimers(now: UInt64, actions: inout [GossipAction]) {
        if var p = probe, !p.acked, !p.indirectSent, now >= p.timeoutNs {
            p.indirectSent = true
            let peers = randomMembers(config.indirectChecks, excluding: [p.target]) { $0.member.status == .alive }
            p.expectedNacks = peers.count
            for peer in peers {
                counters.indirectProbes += 1
                send([.pingReq(seq: p.seq, target: p.target, address: p.address, wantNack: true)],
                     to: peer.member.gossip, now: now, actions: &actions)
            }
            probe = p
        }
        guard now >= nextProbeNs else { return }
        finishProbe(now: now, actions: &actions)
        nextProbeNs = now + awareness.scaled(config.probeIntervalMs * GossipConfig.nsPerMs)
        startProbe(now: now, actions: &actions)
    }

    /// Ends the current period: a probe without any ack makes its target suspect.
    private mutating func finishProbe(now: UInt64, actions: inout [GossipAction]) {
        guard let p = probe else { return }
        probe = nil
        guard !p.acked else { return }
        // Lifeguard: relays that did not even nack point at our own network, not the target.
        awareness.apply(delta: p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1)
        guard let r = table[p.target], r.member.isLive else { return }
        // Already suspect: our failed probe is an independent confirmation (Lifeguard),
        // which shortens every suspecter's timer once gossiped.
        if r.member.status == .alive { counters.suspicions += 1 }
        var suspect = r.member
        suspect.status = .suspect
        applyUpdate(suspect, from: me.id, now: now, actions: &actions)
    }

    private mutating func startProbe(now: UInt64, actions: inout [GossipAction]) {
        guard let target = nextProbeTarget() else { return }
        let seq = nextSeq()
        let timeout = awareness.scaled(config.probeTimeoutMs * GossipConfig.nsPerMs)
        probe = Probe(target: target.id, address: target.gossip, seq: seq, startNs: now, timeoutNs: now + timeout)
        counters.probes += 1
        var messages: [GossipMessage] = [.ping(seq: seq, target: target.id, source: me.id)]
        // Lifeguard's buddy system: tell a suspect directly, so it can refute at once.
        if target.status == .suspect { messages.append(.member(target, from: me.id)) }
        send(messages, to: target.gossip, now: now, actions: &actions)
    }

    /// The next live member of the round-robin list, reshuffled after each full pass.
    private mutating func nextProbeTarget() -> Member? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let id = probeOrder[probeIndex]
                probeIndex += 1
                if let r = table[id], r.member.isLive { return r.member }
            }
            probeOrder = memberIds.filter { table[$0]?.member.isLive ?? false }
            probeOrder.shuffle(using: &rng)
            probeIndex = 0
            if probeOrder.isEmpty { return nil }
        }
        return nil
    }

    /// Adds a new member at a random place in the probe list (SWIM: bounded detection time).
    mutating func addToProbeOrder(_ id: String) {
        let lo = min(probeIndex, probeOrder.count)
        let at = lo + rng.below(probeOrder.count - lo + 1)
        probeOrder.insert(id, at: at)
    }

    mutating func relayTimers(now: UInt64, actions: inout [GossipAction]) {
        guard !relays.isEmpty else { return }
        // Sorted: dictionary order is seeded per process and would break replay from a seed.
        for seq in relays.keys.sorted() {
            guard let relay = relays[seq], now >= relay.deadlineNs else { continue }
            relays[seq] = nil
            if relay.wantNack {
                send([.nack(seq: relay.requesterSeq)], to: relay.requester, now: now, actions: &actions)
            }
        }
    }

    mutating func handle(_ message: GossipMessage, from: Endpoint, now: UInt64, actions: inout [GossipAction]) {
        switch message {
        case let .ping(seq, target, source):
            guard target == me.id else { counters.drop(.unexpected); return }
            // Our wall clock rides with the ack (protocol 2), so the prober can estimate
            // our offset; protocol-1 peers skip the message by its length.
            send([.ack(seq: seq), .clock(seq: seq, id: me.id, wallUs: wallUs(now))], to: from, now: now, actions: &actions)
            // A member that knows us while we do not know it: our views diverged (its
            // news ran out of retransmissions before reaching us). Repair now, not at the
            // next push-pull round.
            if table[source] == nil, !source.isEmpty {
                startPushPull(to: from, isJoin: false, now: now, actions: &actions)
            }
        case let .pingReq(seq, target, address, wantNack):
            guard relays.count < config.maxRelays, target != me.id else { counters.drop(.unexpected); return }
            let relaySeq = nextSeq()
            relays[relaySeq] = Relay(requester: from, requesterSeq: seq,
                                     deadlineNs: now + config.probeTimeoutMs * GossipConfig.nsPerMs, wantNack: wantNack)
            send([.ping(seq: relaySeq, target: target, source: me.id)], to: address, now: now, actions: &actions)
        case let .ack(seq):
            if var p = probe, p.seq == seq {
                if !p.acked {
                    p.acked = true
                    probe = p
                    counters.probeAcks += 1
                    let rtt = now - p.startNs
                    counters.lastProbeRttNs = rtt
                    counters.probeRttSumNs += rtt
                    counters.probeRttCount += 1
                    awareness.apply(delta: -1)
                    // Only a direct ack times the path to the target (a relayed one adds a hop).
                    if from == p.address { actions.append(.roundTrip(member: p.target, rttNs: rtt)) }
                }
            } else if let relay = relays.removeValue(forKey: seq) {
                send([.ack(seq: relay.requesterSeq)], to: relay.requester, now: now, actions: &actions)
            }
        case let .nack(seq):
            if var p = probe, p.seq == seq {
                p.nacks += 1
                probe = p
            }
        case let .clock(seq, id, remoteUs):
            // The target's own answer to our current probe, once per probe; any other
            // (a stale probe, a relay's, a forged id) is ignored.
            guard var p = probe, p.seq == seq, p.target == id, !p.clockSampled else { return }
            p.clockSampled = true
            probe = p
            clocks.record(id, remoteWallUs: Int64(clamping: remoteUs), localWallUs: Int64(clamping: wallUs(now)),
                          rttNs: now - p.startNs, now: now)
        case let .member(m, from):
            applyUpdate(m, from: from, now: now, actions: &actions)
        case let .state(v):
            applyState(v, now: now, actions: &actions)
        case let .stateDigest(key, version, checksum):
            pullStateIfNewer(key: key, version: version, checksum: checksum, from: from, now: now, actions: &actions)
        }
    }
}
