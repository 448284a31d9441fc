/// The SWIM + Lifeguard membership protocol as a pure state machine.
///
/// Contract:
/// - No I/O, no clock, no threads. Every input is a `mutating func on...(..., now:)` with
///   `now` in nanoseconds on a monotonic clock (the shell passes CLOCK_MONOTONIC, so a
///   wall-clock step never fires or stalls a timer); every output is a `[GossipAction]`
///   the caller performs in order.
/// - The wall clock is a separate input: `setWallClock(ns:at:)` says what it read at a
///   given `now`, and the core assumes it then runs at the rate of `now` (the shell sets it
///   before every input). Packet timestamps and clock samples use it; timers never do.
///   Never set, the wall clock equals `now` (simulations and tests).
/// - Call `start(seeds:now:)` once, then `onTick(now:)` no later than `nextDeadlineNs`
///   (earlier is harmless), plus `onPacket`, `onPushPullRequest`, `onPushPullReply` and
///   `onPushPullFailed` as input arrives. `now` never decreases.
/// - Not thread-safe: a value type; the shell serialises access (one lock).
/// - Randomness comes from a seeded `SwimRandom`, so a simulation replays from its seed.
///
/// Invariants: the table holds this node's own record under `me.id`; a member record only
/// moves up the lattice (`Member.supersedes`); every bound in `GossipConfig` holds.
/// Mechanisms live in facets: +Probe (failure detection), +Membership (the lattice,
/// suspicion, refutation, events), +PushPull (join, anti-entropy, cluster state).
public struct SwimCore: Sendable {
    public let config: GossipConfig
    /// This node's own record, as it announces it.
    public internal(set) var me: Member
    public internal(set) var counters = GossipCounters()

    struct Record: Sendable {
        var member: Member
        /// When the status last changed (dead-member retention, gossip to the dead).
        var changedNs: UInt64
    }

    struct Probe: Sendable {
        var target: String
        var address: Endpoint
        var seq: UInt32
        var startNs: UInt64
        var timeoutNs: UInt64
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
        var acked = false
        var clockSampled = false
    }

    struct Relay: Sendable {
        var requester: Endpoint
        var requesterSeq: UInt32
        var deadlineNs: UInt64
        var wantNack: Bool
    }

    struct Join: Sendable {
        var seeds: [Endpoint]
        var attempt = 0
        var nextAttemptNs: UInt64
        var inFlight = false
    }

    struct PendingPushPull: Sendable {
        var deadlineNs: UInt64
        var isJoin: Bool
    }

    var table: [String: Record] = [:]
    /// Every member id but our own, for O(1) random sampling.
    var memberIds: [String] = []
    /// Shuffled round-robin probe list (SWIM section 4.3).
    var probeOrder: [String] = []
    var probeIndex = 0
    var probe: Probe?
    var relays: [UInt32: Relay] = [:]
    var suspicions: [String: Suspicion] = [:]
    var awareness: Awareness
    var broadcasts: BroadcastQueue
    var state: [String: ClusterStateValue] = [:]
    var codec: PacketCodec
    /// Tags of authenticated packets accepted within the clock window (replays are dropped).
    var replays = ReplayGuard()
    var rng: SwimRandom
    var seq: UInt32 = 0
    var started = false
    var hasLeft = false
    var join: Join?
    var pending: [Endpoint: PendingPushPull] = [:]
    /// Wall clock minus `now`, ns (`setWallClock`).
    var wallMinusNowNs: Int64 = 0
    /// Other members' clock offsets, from probe round trips (ClockOffsets.swift).
    var clocks = ClockOffsetTable()
    var nextProbeNs: UInt64 = 0
    var nextGossipNs: UInt64 = 0
    var nextPushPullNs: UInt64 = 0
    var nextReconnectNs: UInt64 = 0
    /// Live members, this node included, kept incrementally (a scan per packet is O(n)).
    var liveTally = 1

    /// `me` is this node (its id and addresses; `incarnation` should be one higher than any
    /// it used before, if the node layer persisted it). `seed` drives all random choices.
    public init(config: GossipConfig, me: Member, seed: UInt64) {
        precondition(!me.id.isEmpty && me.id.utf8.count <= 255, "node id must be 1...255 bytes")
        self.config = config
        var me = me
        me.status = .alive
        self.me = me
        awareness = Awareness(maxMultiplier: config.awarenessMaxMultiplier)
        broadcasts = BroadcastQueue(capacity: config.maxBroadcasts)
        codec = PacketCodec(secret: config.secret, maxPacketBytes: config.maxPacketBytes, maxClockSkewMs: config.maxClockSkewMs)
        rng = SwimRandom(seed: seed)
        table[me.id] = Record(member: me, changedNs: 0)
    }

    // MARK: Queries for the node layer

    /// Every known member, this node included, sorted by id.
    public var members: [Member] { table.values.map(\.member).sorted { $0.id < $1.id } }

    public func member(_ id: String) -> Member? { table[id]?.member }

    /// Members counted as in the cluster (alive or suspect), this node included.
    public var liveCount: Int { liveTally }

    public func stateValue(_ key: String) -> ClusterStateValue? { state[key] }

    public var stateValues: [ClusterStateValue] { state.values.sorted { $0.key < $1.key } }

    /// Lifeguard's local health score (0 = healthy).
    public var healthScore: Int { awareness.score }

    /// True once `start` has been called and until a join (if any) has been answered.
    public var isJoining: Bool { join != nil }

    /// Every sampled member's wall-clock offset from this node (positive: it is ahead).
    public var clockOffsets: [String: ClockOffset] { clocks.estimates }

    /// The latest instant by which `onTick` must be called.
    public var nextDeadlineNs: UInt64 {
        guard started, !hasLeft else { return .max }
        var t = min(nextProbeNs, nextPushPullNs, nextReconnectNs)
        if !broadcasts.isEmpty { t = min(t, nextGossipNs) }
        if let p = probe, !p.acked, !p.indirectSent { t = min(t, p.timeoutNs) }
        for s in suspicions.values { t = min(t, s.deadlineNs) }
        for r in relays.values { t = min(t, r.deadlineNs) }
        for p in pending.values { t = min(t, p.deadlineNs) }
        if let j = join, !j.inFlight { t = min(t, j.nextAttemptNs) }
        return t
    }

    // MARK: Inputs

    /// The wall clock read `wallNs` (Unix-epoch ns) at monotonic time `now`.
    public mutating func setWallClock(ns wallNs: UInt64, at now: UInt64) {
        wallMinusNowNs = Int64(truncatingIfNeeded: wallNs &- now)
    }

    /// The wall clock at monotonic time `now`, Unix-epoch microseconds.
    func wallUs(_ now: UInt64) -> UInt64 {
        let ns = Int64(truncatingIfNeeded: now) &+ wallMinusNowNs
        return UInt64(max(0, ns / 1_000))
    }

    func wallMs(_ now: UInt64) -> UInt64 { wallUs(now) / 1_000 }

    /// Starts the protocol; with seeds, joins through them (retrying with backoff).
    public mutating func start(seeds: [Endpoint], now: UInt64) -> [GossipAction] {
        guard !started else { return [] }
        started = true
        table[me.id] = Record(member: me, changedNs: now)
        let interval = config.probeIntervalMs * GossipConfig.nsPerMs
        // A random phase, so nodes started together do not probe in lockstep.
        nextProbeNs = now + UInt64(rng.below(Int(max(1, interval))))
        nextGossipNs = now + config.gossipIntervalMs * GossipConfig.nsPerMs
        nextPushPullNs = now + config.pushPullIntervalMs * GossipConfig.nsPerMs
        nextReconnectNs = now + config.reconnectIntervalMs * GossipConfig.nsPerMs
        broadcastSelf()
        var actions: [GossipAction] = []
        let others = seeds.filter { $0 != me.gossip }
        if !others.isEmpty {
            join = Join(seeds: others, nextAttemptNs: now)
            attemptJoin(now: now, actions: &actions)
        }
        return actions
    }

    /// Runs every timer that is due.
    public mutating func onTick(now: UInt64) -> [GossipAction] {
        guard started, !hasLeft else { return [] }
        var actions: [GossipAction] = []
        probeTimers(now: now, actions: &actions)
        relayTimers(now: now, actions: &actions)
        suspicionTimers(now: now, actions: &actions)
        pushPullTimers(now: now, actions: &actions)
        if now >= nextGossipNs {
            nextGossipNs = now + config.gossipIntervalMs * GossipConfig.nsPerMs
            gossipRound(now: now, actions: &actions)
        }
        return actions
    }

    /// One UDP datagram from `from`.
    public mutating func onPacket(from: Endpoint, bytes: [UInt8], now: UInt64) -> [GossipAction] {
        counters.packetsReceived += 1
        counters.bytesReceived += UInt64(bytes.count)
        guard started, !hasLeft else { return [] }
        let messages: [GossipMessage]
        do {
            messages = try codec.decodePacket(bytes, nowMs: wallMs(now))
            try checkReplay(bytes, now: now)
        } catch {
            counters.drop(error)
            return []
        }
        var actions: [GossipAction] = []
        // News first, probes second: an ack then carries whatever the news provoked
        // (a refutation of a suspicion the ping brought, in Lifeguard's buddy system).
        for message in messages where message.isUpdate {
            handle(message, from: from, now: now, actions: &actions)
        }
        for message in messages where !message.isUpdate {
            handle(message, from: from, now: now, actions: &actions)
        }
        return actions
    }

    /// Drops an authenticated packet or frame already accepted within the clock window.
    mutating func checkReplay(_ bytes: [UInt8], now: UInt64) throws(DropReason) {
        guard codec.secret != nil, codec.maxClockSkewMs > 0, let tag = ReplayGuard.tag(of: bytes),
              let signed = PacketCodec.signedTimestamp(bytes) else { return }
        guard replays.admit(tag: tag, signedMs: signed, nowMs: wallMs(now), windowMs: codec.maxClockSkewMs) else { throw .replayed }
    }

    /// Loads members without a join (large simulations start from a formed cluster).
    public mutating func preload(_ known: [Member], now: UInt64) {
        for var m in known where m.id != me.id && table[m.id] == nil && table.count < config.maxMembers {
            m.status = .alive
            table[m.id] = Record(member: m, changedNs: now)
            memberIds.append(m.id)
            liveTally += 1
        }
        // One shuffle, not a random insert per member (O(n) each).
        probeOrder = memberIds.filter { table[$0]?.member.isLive ?? false }
        probeOrder.shuffle(using: &rng)
        probeIndex = 0
    }

    // MARK: Shared helpers

    mutating func nextSeq() -> UInt32 {
        seq &+= 1
        return seq
    }

    /// Retransmissions per update: retransmitMult * ceil(log10(n + 1)).
    var retransmitLimit: Int {
        var n = liveTally + 1
        var digits = 0
        while n > 0 { digits += 1; n /= 10 }
        return config.retransmitMult * max(1, digits)
    }


    /// Sends one packet: `primary` first, then as many queued updates as fit.
    mutating func send(_ primary: [GossipMessage], to: Endpoint, now: UInt64, actions: inout [GossipAction]) {
        var body = [UInt8]()
        for m in primary { m.encode(into: &body) }
        let budget = config.maxPacketBytes - codec.packetOverheadBytes - body.count
        body += broadcasts.take(budgetBytes: budget, limit: retransmitLimit)
        guard !body.isEmpty else { return }
        let packet = codec.packet(messages: body, timestampMs: wallMs(now))
        counters.packetsSent += 1
        counters.bytesSent += UInt64(packet.count)
        actions.append(.send(to: to, bytes: packet))
    }

    /// Up to `count` distinct random members passing `eligible`, by bounded sampling
    /// (O(count), not O(n); may return fewer when eligible members are rare).
    mutating func randomMembers(_ count: Int, excluding: Set<String> = [], where eligible: (Record) -> Bool) -> [Record] {
        guard count > 0, !memberIds.isEmpty else { return [] }
        var out: [Record] = []
        var seen = excluding
        if memberIds.count <= count * 4 {
            var ids = memberIds
            ids.shuffle(using: &rng)
            for id in ids where out.count < count && !seen.contains(id) {
                if let r = table[id], eligible(r) { out.append(r); seen.insert(id) }
            }
            return out
        }
        for _ in 0..<(count * 8) where out.count < count {
            let id = memberIds[rng.below(memberIds.count)]
            guard !seen.contains(id) else { continue }
            seen.insert(id)
            if let r = table[id], eligible(r) { out.append(r) }
        }
        return out
    }

    /// Extra gossip: queued updates only, to a few random members (memberlist's gossip).
    mutating func gossipRound(now: UInt64, actions: inout [GossipAction]) {
        guard !broadcasts.isEmpty else { return }
        let deadWindow = config.gossipToTheDeadMs * GossipConfig.nsPerMs
        let targets = randomMembers(config.gossipNodes) { r in
            r.member.isLive || now - r.changedNs < deadWindow
        }
        for t in targets {
            send([], to: t.member.gossip, now: now, actions: &actions)
        }
    }
}
