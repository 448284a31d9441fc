import Foundation

// Push-pull: a full state exchange over TCP (members and cluster-state values), with one
// random live member every push-pull interval, with a seed to join, and with a random dead
// member every reconnect interval so that the two sides of a healed partition find each
// other again. Remote "dead" records merge as "suspect" (as memberlist does): a member we
// believe alive gets the chance to refute before we declare it dead on hearsay.
//
// Cluster-state values ride the same paths: small ones piggyback on UDP like member
// updates; one too big for a packet is spread by push-pull to random members on adoption.

extension SwimCore {
    mutating func pushPullTimers(now: UInt64, actions: inout [GossipAction]) {
        for endpoint in pending.keys.sorted() {
            guard let p = pending[endpoint], now >= p.deadlineNs else { continue }
            pending[endpoint] = nil
            counters.pushPullsFailed += 1
            if p.isJoin { joinFailed(now: now) }
        }
        if var j = join, !j.inFlight, now >= j.nextAttemptNs {
            j.inFlight = false
            join = j
            attemptJoin(now: now, actions: &actions)
        }
        if now >= nextPushPullNs {
            nextPushPullNs = now + pushPullIntervalNs
            if let peer = randomMembers(1, where: { $0.member.status == .alive }).first {
                startPushPull(to: peer.member.gossip, isJoin: false, now: now, actions: &actions)
            }
            forgetOldDead(now: now)
        }
        if now >= nextReconnectNs {
            nextReconnectNs = now + config.reconnectIntervalMs * GossipConfig.nsPerMs
            // With probability dead/live (serf's rule), so the cluster as a whole tries each
            // dead member about once per interval, however large it is. Non-live members
            // (dead or left) are counted without a scan; the O(n) scan runs only on a try.
            let notLive = memberIds.count - (liveTally - (me.isLive ? 1 : 0))
            if notLive > 0, rng.unit() * Double(max(1, liveTally)) < Double(notLive) {
                let dead = memberIds.compactMap { id -> Endpoint? in
                    guard let r = table[id], r.member.status == .dead, r.member.admin != .removed else { return nil }
                    return r.member.gossip
                }
                if !dead.isEmpty {
                    startPushPull(to: dead[rng.below(dead.count)], isJoin: false, now: now, actions: &actions)
                }
            }
        }
    }

    /// The push-pull interval, stretched past 32 members as memberlist does
    /// (x(ceil(log2 n - log2 32) + 1)), so full-state traffic per node grows only with log n.
    var pushPullIntervalNs: UInt64 {
        let base = config.pushPullIntervalMs * GossipConfig.nsPerMs
        guard liveTally > 32 else { return base }
        let scale = UInt64((log2(Double(liveTally)) - 5).rounded(.up)) + 1
        return base * scale
    }

    mutating func attemptJoin(now: UInt64, actions: inout [GossipAction]) {
        guard var j = join, !j.seeds.isEmpty else { return }
        let seed = j.seeds[j.attempt % j.seeds.count]
        j.inFlight = true
        join = j
        startPushPull(to: seed, isJoin: true, now: now, actions: &actions)
        if pending[seed] == nil { joinFailed(now: now) }
    }

    /// Backs off (doubling up to the maximum) and moves to the next seed.
    private mutating func joinFailed(now: UInt64) {
        guard var j = join else { return }
        let delayMs = min(config.joinRetryMaxMs, config.joinRetryInitialMs << UInt64(min(j.attempt, 20)))
        j.attempt += 1
        j.inFlight = false
        j.nextAttemptNs = now + delayMs * GossipConfig.nsPerMs
        join = j
    }

    mutating func startPushPull(to: Endpoint, isJoin: Bool, now: UInt64, actions: inout [GossipAction]) {
        guard pending[to] == nil, pending.count < config.maxConcurrentPushPulls else { return }
        pending[to] = PendingPushPull(deadlineNs: now + config.pushPullTimeoutMs * GossipConfig.nsPerMs, isJoin: isJoin)
        counters.pushPullsStarted += 1
        let kind = isJoin ? WireFormat.pushPullJoinRequest : WireFormat.pushPullRequest
        let frame = fullStateFrame(kind: kind, now: now)
        counters.pushPullBytesSent += UInt64(frame.count)
        actions.append(.pushPull(to: to, bytes: frame))
    }

    /// Every member record and state value we hold, as one push-pull frame.
    private func fullStateFrame(kind: UInt8, now: UInt64) -> [UInt8] {
        var body = [UInt8]()
        body.reserveCapacity(table.count * 80)
        GossipMessage.member(me, from: me.id).encode(into: &body)
        for id in memberIds {
            if let r = table[id] { GossipMessage.member(r.member, from: me.id).encode(into: &body) }
        }
        for v in stateValues { GossipMessage.state(v).encode(into: &body) }
        return codec.pushPullFrame(kind: kind, messages: body, timestampMs: wallMs(now))
    }

    /// A peer's push-pull request: merge its state, then answer with ours (merged, so a
    /// refutation it provoked is already in the reply). nil means drop the connection.
    public mutating func onPushPullRequest(from: Endpoint, bytes: [UInt8], now: UInt64) -> (reply: [UInt8]?, actions: [GossipAction]) {
        guard started, !hasLeft else { return (nil, []) }
        var actions: [GossipAction] = []
        guard let kind = mergeFrame(bytes, now: now, actions: &actions),
              kind == WireFormat.pushPullRequest || kind == WireFormat.pushPullJoinRequest else {
            return (nil, actions)
        }
        counters.pushPullsServed += 1
        let reply = fullStateFrame(kind: WireFormat.pushPullReply, now: now)
        counters.pushPullBytesSent += UInt64(reply.count)
        return (reply, actions)
    }

    /// The answer to a push-pull we started.
    public mutating func onPushPullReply(from: Endpoint, bytes: [UInt8], now: UInt64) -> [GossipAction] {
        guard started, !hasLeft else { return [] }
        let wasPending = pending.removeValue(forKey: from)
        var actions: [GossipAction] = []
        guard let kind = mergeFrame(bytes, now: now, actions: &actions), kind == WireFormat.pushPullReply else {
            counters.pushPullsFailed += 1
            if wasPending?.isJoin == true { joinFailed(now: now) }
            return actions
        }
        if wasPending?.isJoin == true { join = nil }
        return actions
    }

    /// A push-pull we started could not complete (refused, timed out, cut).
    public mutating func onPushPullFailed(to: Endpoint, now: UInt64) -> [GossipAction] {
        guard let p = pending.removeValue(forKey: to) else { return [] }
        counters.pushPullsFailed += 1
        if p.isJoin { joinFailed(now: now) }
        return []
    }

    /// Decodes and merges a frame; returns its kind, or nil (counted) when it was dropped.
    private mutating func mergeFrame(_ bytes: [UInt8], now: UInt64, actions: inout [GossipAction]) -> UInt8? {
        counters.bytesReceived += UInt64(bytes.count)
        let decoded: (kind: UInt8, messages: [GossipMessage])
        do {
            decoded = try codec.decodePushPull(bytes, nowMs: wallMs(now))
            try checkReplay(bytes, now: now)
        } catch {
            counters.drop(error)
            return nil
        }
        for message in decoded.messages {
            switch message {
            case .member(var m, let from):
                if m.id != me.id && m.status == .dead { m.status = .suspect }
                applyUpdate(m, from: from, now: now, actions: &actions)
            case let .state(v):
                applyState(v, now: now, actions: &actions)
            case .stateDigest:
                break
            default:
                counters.drop(.unexpected)
            }
        }
        return decoded.kind
    }

    /// Drops dead and left members after the retention time.
    private mutating func forgetOldDead(now: UInt64) {
        let retention = config.deadMemberRetentionMs * GossipConfig.nsPerMs
        var forgotten = false
        for id in memberIds {
            guard let r = table[id], !r.member.isLive, now - r.changedNs >= retention else { continue }
            table[id] = nil
            forgotten = true
        }
        if forgotten { memberIds.removeAll { table[$0] == nil } }
    }

    // MARK: Cluster state

    /// Publishes a cluster-state value from this node (e.g. a new ring version). A key or
    /// payload over the bounds (`ClusterStateValue.fits`) is refused and counted, never
    /// gossiped: the caller checks first and refuses the change that made it too large.
    public mutating func publishState(key: String, version: UInt64, payload: [UInt8], now: UInt64) -> [GossipAction] {
        guard ClusterStateValue.fits(key: key, payloadBytes: payload.count) else {
            counters.statesRefused += 1
            return []
        }
        var actions: [GossipAction] = []
        applyState(ClusterStateValue(key: key, version: version, payload: payload), now: now, actions: &actions)
        gossipRound(now: now, actions: &actions)
        return actions
    }

    mutating func applyState(_ v: ClusterStateValue, now: UInt64, actions: inout [GossipAction]) {
        var adopted = v
        if let current = state[v.key] {
            if current == v { return }
            if current.version != v.version {
                guard v.version > current.version else { return }
            } else {
                adopted = (config.stateResolver ?? ClusterStateValue.defaultWinner)(current, v)
                guard adopted != current else { return }
            }
        } else {
            guard state.count < config.maxStateKeys else { return }
        }
        state[v.key] = adopted
        actions.append(.emit(.stateChanged(adopted)))
        let message = GossipMessage.state(adopted)
        if message.encodedSize <= config.maxPacketBytes - codec.packetOverheadBytes - 200 {
            broadcasts.enqueue(subject: "\u{1}state:" + v.key, message: message)
        } else {
            broadcasts.enqueue(subject: "\u{1}state:" + v.key,
                               message: .stateDigest(key: adopted.key, version: adopted.version, checksum: adopted.checksum))
        }
    }

    /// A digest names a value we lack (newer, or same version with other bytes): pull it
    /// from the sender, which gossips a digest only for a value it holds.
    mutating func pullStateIfNewer(key: String, version: UInt64, checksum: UInt64, from: Endpoint, now: UInt64, actions: inout [GossipAction]) {
        if let current = state[key] {
            if current.version > version || (current.version == version && current.checksum == checksum) { return }
        }
        startPushPull(to: from, isJoin: false, now: now, actions: &actions)
    }
}
